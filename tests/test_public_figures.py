from opencall.outcomes.domain import TOTAL, suppress_small_cells
from opencall.outcomes.figures import MIN_CELL, FiguresTable


def test_applied_is_hidden_where_not_awarded_is_small() -> None:
    """Awarded counts are public (the awarded list shows PI countries), so a group's
    applied total must not reveal a small not-awarded count."""
    not_awarded = {"low": 2, "high": 9, "upper-middle": 7}
    awarded = {"low": 6, "high": 12, "upper-middle": 3}
    t = FiguresTable(
        suppress_small_cells({g: {"not_awarded": n} for g, n in not_awarded.items()}, MIN_CELL),
        awarded,
    )
    assert t.display("low", "not_awarded") == "<5"
    assert t.display("low", TOTAL) == "x"  # 6 awarded + 2 would give the 2 away
    assert t.display("low", "awarded") == "6"
    assert t.display("upper-middle", "awarded") == "<5"
    # the column total cannot give the small cell away either
    shown = [t.display(g, "not_awarded") for g in not_awarded] + [t.display(TOTAL, "not_awarded")]
    assert sum(1 for x in shown if not x.isdigit()) >= 2
    for g in not_awarded:
        for col in ("awarded", "not_awarded", TOTAL):
            v = t.display(g, col)
            assert not (v.isdigit() and 0 < int(v) < MIN_CELL)
