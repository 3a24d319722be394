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


def test_a_tiny_call_s_applied_total_stays_hidden() -> None:
    """/figures of a tiny call shows the "Applied" total as "x" (trialout10 checked whether
    it could be shown). It cannot: the awarded are public, so the applied total is the
    not-awarded total, and in a call of one group that is the group's hidden cell. Nor
    may it read "<5": four awarded and "<5" applied would say nobody else applied."""
    one_group = FiguresTable(
        suppress_small_cells({"low": {"not_awarded": 2}}, MIN_CELL), {"low": 1}
    )
    assert one_group.display("low", "not_awarded") == "<5"
    assert one_group.display(TOTAL, "not_awarded") == "<5"
    assert one_group.display(TOTAL, TOTAL) == "x"  # 3 would give low's 2 (= 3 - 1) away
    assert one_group.display(TOTAL, "awarded") == "<5"  # public anyway: the awarded list
    nobody_else = FiguresTable(
        suppress_small_cells({"low": {"not_awarded": 0}, "high": {"not_awarded": 0}}, MIN_CELL),
        {"low": 2, "high": 2},
    )
    assert nobody_else.display(TOTAL, TOTAL) == "x"  # "<5" would pin both groups' 0
    # where the not-awarded total is published, the applied total is: nothing more is told
    many = FiguresTable(
        suppress_small_cells({"low": {"not_awarded": 6}, "high": {"not_awarded": 9}}, MIN_CELL),
        {"low": 1, "high": 2},
    )
    assert many.display(TOTAL, TOTAL) == "18"
