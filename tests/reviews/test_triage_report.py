"""Triage at the report stage (trialrev16): a proposal set aside at triage is said to be
set aside in the call's outcomes report, counted in its lead applicant's income group, UN
region and LDC group. Before, the report's funnel went from "Applied" straight to
"Eligible": the set-aside proposal was only missing from "Eligible", the report never said
why, and no stage "Not set aside at triage" existed (``report["stages"]`` had no "triage").
A call without a set-aside proposal keeps its stages as they were."""

from __future__ import annotations

import html

from sqlalchemy.orm import Session

from opencall.outcomes import queries as oq
from opencall.people import services as people_services
from opencall.reviews import services as rv
from tests import factories as F
from tests.web.conftest import Web


def _set_aside(data: dict, by: str) -> dict[str, int]:  # type: ignore[type-arg]
    """{group: applied but set aside}, from the report's "triage" rows."""
    return {
        r["group"]: r["applied"] - r["count"] for r in data["funnels"][by] if r["stage"] == "triage"
    }


def test_the_report_says_set_aside_by_income_group_region_and_ldc(db: Session) -> None:
    s = db
    call, props, _reviewers = F.call_in_review(s, 3, 3)
    assert "triage" not in [st["key"] for st in oq.report(s, call)["stages"]]
    rv.set_aside(s, call, props[0], "out_of_scope", "Outside the call's scope.", actor_id=None)
    data = oq.report(s, call)
    keys = [st["key"] for st in data["stages"]]
    assert keys[:3] == ["applied", "triage", "eligible"]
    # Brazil's PIs: upper-middle income, the Americas, not a least developed country
    assert _set_aside(data, "income_group") == {"upper-middle": 1, "all": 1}
    assert _set_aside(data, "un_region") == {"Americas": 1, "all": 1}
    assert _set_aside(data, "ldc") == {"non-LDC": 1, "all": 1}


def test_the_report_page_names_the_stage_in_the_readers_language(web: Web) -> None:
    with web.factory() as s:
        call, props, _reviewers = F.call_in_review(s, 3, 3)
        office = F.user(s, email="office-triage16@staff.example")
        people_services.grant_role(s, office.id, "call_manager", call_id=call.id)
        rv.set_aside(s, call, props[0], "incomplete", "No target list.", actor_id=None)
        slug = call.slug
        s.commit()
    c = web.login("office-triage16@staff.example", "fr")
    page = c.get(f"/manage/calls/{slug}/report")
    assert page.status_code == 200
    assert "Non écartées au tri" in html.unescape(page.text)
    csv = web.login("office-triage16@staff.example").get(f"/manage/calls/{slug}/report.csv")
    assert csv.status_code == 200 and "triage" in csv.text
