"""A chart drawn lately from the same arguments is handed back, not drawn again
(``charts.DRAWN``); anything that changes the drawing draws it anew."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import pytest

from opencall.outcomes import charts

GROUPS = ["low", "lower-middle", "upper-middle", "high"]
VALUES = [0.1, 0.25, 0.3, 0.35]
LOWS = [0.0, 0.1, 0.2, 0.3]
HIGHS = [0.3, 0.4, 0.4, 0.4]


@pytest.fixture(autouse=True)
def empty() -> Iterator[None]:
    charts.DRAWN.clear()
    yield
    charts.DRAWN.clear()


def rate(values: Sequence[float | None] = VALUES, title: str = "Award rate") -> str:
    return charts.success_rate_chart(GROUPS, values, LOWS, HIGHS, title=title)


def test_the_same_chart_again_is_not_drawn_again() -> None:
    before = charts.DRAWN.drawn
    first = rate()
    assert charts.DRAWN.drawn == before + 1
    again = rate(list(VALUES))  # an equal list, another object
    assert again == first
    assert charts.DRAWN.drawn == before + 1


def test_what_changes_the_drawing_draws_it_anew() -> None:
    first = rate()
    before = charts.DRAWN.drawn
    other = rate([0.1, 0.25, 0.3, 0.36])
    assert other != first and "36" in other
    titled = rate(title="Award rate by income group")
    assert titled != first and "Award rate by income group" in titled
    with charts.text_as_paths():
        outlined = rate()
    assert outlined != first and "<text" not in outlined and "<text" in first
    # another chart from the same arguments is that chart, not this one
    diff = charts.difference_chart(GROUPS, VALUES, LOWS, HIGHS, title="Award rate")
    assert diff != first
    assert charts.DRAWN.drawn == before + 4
    assert rate() == first  # still kept
    assert charts.DRAWN.drawn == before + 4


class Values(Sequence[float]):
    """A sequence whose repr says nothing of its values."""

    def __init__(self, values: list[float]) -> None:
        self.values = values

    def __getitem__(self, i):  # type: ignore[no-untyped-def, override]
        return self.values[i]

    def __len__(self) -> int:
        return len(self.values)


def test_a_chart_of_other_objects_is_drawn_each_time() -> None:
    values = Values(list(VALUES))
    first = rate(values)
    values.values[3] = 0.36  # the same object, other values
    before = charts.DRAWN.drawn
    second = rate(values)
    assert charts.DRAWN.drawn == before + 1
    assert second != first and second == rate([0.1, 0.25, 0.3, 0.36])


def test_the_kept_charts_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charts.DRAWN, "size", 3)
    for i in range(charts.DRAWN.size + 2):
        rate(title=f"chart {i}")
    assert len(charts.DRAWN._svgs) == charts.DRAWN.size
    before = charts.DRAWN.drawn
    rate(title="chart 0")  # the oldest went first
    rate(title=f"chart {charts.DRAWN.size + 1}")  # the newest is kept
    assert charts.DRAWN.drawn == before + 1
