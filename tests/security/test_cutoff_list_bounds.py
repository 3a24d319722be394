"""The new-call page's list of review cut-offs, with more dates than a call may have (at
most 366: one a day for a year). Before the fix the page answered, in French, with the
validator's English "cutoffs: List should have at most 366 items after validation, not
400", after reading every date of the list; it now says so in the reader's language beside
the field, having read no date beyond the 367th, and makes nothing. A list too long for a
form field (100,000 dates) is refused before it is read (413) and makes nothing either."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from opencall.calls.models import Call
from opencall.calls.schemas import MAX_CUTOFFS
from opencall.people import services as people_services
from tests import factories as F
from tests.web.conftest import Web, session_cookie

pytestmark = pytest.mark.filterwarnings("ignore")

TOO_MANY = {
    "en": "A call has at most 366 review cut-offs; this list has 400.",
    "fr": "Un appel a au plus 366 dates de coupure d’évaluation ; cette liste en a 400.",
}


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_too_many_cutoffs_are_refused_in_the_readers_language(web: Web, lang: str) -> None:
    assert MAX_CUTOFFS == 366
    with web.factory() as s:
        fac = F.fast_facility(s)
        office = F.user(s, email=f"office-{lang}@cutoffs.example")
        people_services.grant_role(s, office.id, "provider_admin", provider_id=fac.provider_id)
        facility_id = fac.id
        s.commit()
    c = web.client(lang)
    token = "cutoffs-csrf"
    c.cookies.set("oc_session", session_cookie(web, f"office-{lang}@cutoffs.example", token))
    form = {
        "csrf_token": token,
        "facility_id": str(facility_id),
        "slug": f"rolling-{lang}",
        "code": "RL",
        "title": "Rolling access",
        "cycle": "2027",
        "opens_at": "2027-01-01 00:00",
        "closes_at": "2028-01-01 00:00",
        "time_zone": "Europe/Berlin",
        "mode": "continuous",
        "decision_days": "21",
        "anonymity": "single",
        "review_mode": "panel",
        "award_mode": "whole",
    }
    # 400 dates; then 400 lines whose 367th onwards are not even dates: refused for the
    # count (not a date past the limit, which is not read)
    dates = ["2027-06-01 00:00"] * 366 + ["not a date"] * 34
    for lines in (["2027-06-01 00:00"] * 400, dates):
        r = c.post("/manage/calls/new", data={**form, "cutoffs": "\n".join(lines)})
        assert r.status_code == 400, r.text[:500]
        assert TOO_MANY[lang] in r.text, r.text
        assert "List should have" not in r.text
    r = c.post("/manage/calls/new", data={**form, "cutoffs": "\n".join(dates * 250)})
    assert r.status_code == 413
    with web.factory() as s:
        assert s.scalar(select(func.count(Call.id))) == 0
