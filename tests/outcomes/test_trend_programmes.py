"""The office report's trend over the facility's cycles beside each cycle's awards counts
the programmes that began in that cycle (outcomes20): a programme renewed every cycle is
one award a cycle (the capacity is given per cycle) and one programme, counted in its
first cycle. The page, the CSV, the PDF's table and the API say so; where no award of the
cycles continues another the page and the CSV are as they were."""

from __future__ import annotations

import csv
import io
from typing import Any

from sqlalchemy.orm import Session

from opencall.outcomes import queries as oq
from opencall.outcomes.report import trend_table
from opencall.people import services as people_services
from opencall.results import services as res
from tests import factories as F
from tests.results.awards_world import telescope_cycles
from tests.web.conftest import Web


def _per_cycle(trend: list[dict[str, Any]]) -> dict[str, tuple[int, int]]:
    """{cycle: (awards, programmes begun)} summed over the groups."""
    out: dict[str, tuple[int, int]] = {}
    for r in trend:
        aw, pr = out.get(r["cycle"], (0, 0))
        out[r["cycle"]] = (aw + r["awarded"], pr + r["programmes"])
    return out


def _three_cycles(s: Session, renew: bool) -> list[Any]:
    amina, jonas, nima = (F.user(s, country=c) for c in ("KEN", "DEU", "NPL"))
    built = telescope_cycles(
        s,
        [[(amina, True), (jonas, True)], [(amina, True), (nima, True)],
         [(amina, True), (jonas, True)]],
        first_year=2025,
    )  # fmt: skip
    (_c0, (a0, _j0)), (_c1, (a1, _n1)), (_c2, (a2, _j2)) = built
    if renew:
        res.set_continuation(s, a1, a0.id, actor=amina, office=True)
        res.set_continuation(s, a2, a1.id, actor=amina, office=True)
    return built


def test_the_trend_counts_a_renewed_programme_in_its_first_cycle(db: Session) -> None:
    built = _three_cycles(db, renew=True)
    (c0, _), (c1, _), (c2, _) = built
    trend = oq.report(db, c2)["after_award"]["trend"]
    got = _per_cycle(trend)
    name = {c.id: f"{c.code} ({c.cycle})" for c, _p in built}
    # Amina's programme began in cycle one and was renewed twice; Nima's began in cycle
    # two; Jonas's award of cycle three continues none: a programme of its own
    assert got == {name[c0.id]: (2, 2), name[c1.id]: (2, 1), name[c2.id]: (2, 1)}, got
    kenya = [r for r in trend if r["cycle"] == name[c2.id] and r["group"] == "lower-middle"]
    assert [(r["awarded"], r["programmes"]) for r in kenya] == [(1, 0)]
    # the PDF's table: the column beside the awards, and its note
    table = trend_table(lambda m, **k: m % k if k else m, {"after_award": {"trend": trend}})
    at = table["columns"].index("Programmes begun (first cycle)")
    assert table["columns"][at - 1] == "Awarded"
    assert [r[at] for r in table["rows"] if r[1] == "Lower-middle income"][-1] == "0", table
    assert "no new programme" in table["note"]


def _office(s: Session, call: Any, email: str) -> str:
    office = F.user(s, email=email)
    people_services.grant_role(s, office.id, "call_manager", call_id=call.id)
    return str(people_services.create_api_token(s, office, "t")[1])


def _csv_trend(web: Web, email: str, slug: str) -> dict[str, str]:
    text = web.login(email).get(f"/manage/calls/{slug}/report.csv").text
    rows = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    return {
        f"{r['group']}|{r['stage']}": r["count"] for r in rows if r["stage"].startswith("trend:")
    }


def test_the_page_the_csv_and_the_api_show_the_programmes(web: Web) -> None:
    with web.factory() as s:
        built = _three_cycles(s, renew=True)
        c2 = built[2][0]
        token = _office(s, c2, "office-trend20@staff.example")
        s.commit()
        slug, cycle = c2.slug, f"{c2.code} ({c2.cycle})"
    page = web.login("office-trend20@staff.example").get(f"/manage/calls/{slug}/report").text
    assert "Programmes begun (first cycle)" in page, page[-3000:]
    fr = web.login("office-trend20@staff.example", "fr").get(f"/manage/calls/{slug}/report").text
    assert "Programmes commencés (premier cycle)" in fr
    assert "non un nouveau programme" in fr
    rows = _csv_trend(web, "office-trend20@staff.example", slug)
    assert rows[f"lower-middle|trend:{cycle}:programmes"] == "0", sorted(rows)
    assert rows[f"lower-middle|trend:{cycle}:awarded"] == "1", sorted(rows)
    api = web.client().get(
        f"/api/v1/calls/{slug}/report", headers={"Authorization": f"Bearer {token}"}
    )
    assert api.status_code == 200, api.text
    assert _per_cycle(api.json()["after_award"]["trend"])[cycle] == (2, 1)


def test_without_a_renewal_the_page_and_csv_are_as_before(web: Web) -> None:
    with web.factory() as s:
        built = _three_cycles(s, renew=False)
        c2 = built[2][0]
        _office(s, c2, "office-trend20b@staff.example")
        s.commit()
        slug = c2.slug
    page = web.login("office-trend20b@staff.example").get(f"/manage/calls/{slug}/report").text
    assert "Cycle over cycle" in page
    assert "Programmes begun (first cycle)" not in page
    rows = _csv_trend(web, "office-trend20b@staff.example", slug)
    assert rows and not any(m.endswith(":programmes") for m in rows), sorted(rows)
