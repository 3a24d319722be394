"""The access-ratio trend of the office's report (JSON ``trend``) shares each unit out
alone: a vessel's berths and dives are not added together."""

from __future__ import annotations

from opencall.outcomes import domain as od
from opencall.outcomes import queries as oq
from tests.results.conftest import Awarded, get_call
from tests.web.conftest import Web


def record(pid: str, iso3: str, income: str, amounts: dict[str, float]) -> od.ApplicantRecord:
    return od.ApplicantRecord(
        pid, iso3, income, "Europe" if income == "high" else "Africa", income == "low", False,
        eligible=True, feasible=True, reviewed=True, awarded=True,
        amount_requested=sum(amounts.values()), amount_awarded=sum(amounts.values()),
        amounts={u: (a, a, a) for u, a in amounts.items()},
    )  # fmt: skip


def test_the_trend_gives_each_unit_its_own_shares(web: Web, aw: Awarded) -> None:
    # Germany has 10 berths and no dive, Ethiopia 2 dives and no berth: added up, high
    # income held 10 of 12 "units" (83 %) and low income 2 (17 %); each of its own unit,
    # each holds all of it
    records = [
        record("1", "DEU", "high", {"berth": 10.0, "dive": 0.0}),
        record("2", "ETH", "low", {"berth": 0.0, "dive": 2.0}),
    ]
    with web.factory() as s:
        call = get_call(s, aw)
        out = [t for t in oq.trend(s, call, records=records) if t["cycle"] == call.cycle]
    got = [
        (
            t.get("unit"),
            {r["key"]: r["awarded_share"] for r in t["ratios"] if r["key"] in ("high", "low")},
        )
        for t in out
    ]
    assert got == [("berth", {"high": 1.0, "low": 0.0}), ("dive", {"high": 0.0, "low": 1.0})]
