"""Property tests draw the same examples on every run (flake21).

tests/fixtures.py loaded hypothesis' fixed-seed profile only where the environment
set ``CI``; ``.ci/run`` sets none, so a landing's run could draw examples no earlier run
had tried (and hypothesis' 200 ms deadline applied to the tests without their own
``deadline``). ``pytest --hypothesis-seed=N`` still draws another fixed set, on
purpose."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st


def _draws() -> list[int]:
    drawn: list[int] = []

    @given(st.integers(0, 10**9))
    def draw(n: int) -> None:
        drawn.append(n)

    draw()
    return drawn


def test_the_loaded_profile_is_fixed_whatever_the_environment() -> None:
    now = settings()
    assert (now.derandomize, now.database, now.deadline) == (True, None, None), (
        settings._current_profile
    )


def test_two_runs_of_a_property_test_draw_the_same_examples() -> None:
    first, second = _draws(), _draws()
    assert len(first) > 10 and first == second
