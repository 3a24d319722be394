"""trialop20: a closure that leaves fewer slots than the resource's amount was refused,
and the operator had to find the figure, lower the amount by hand, then add the closure
again. Now the refusal says how many slots remain and how to lower the amount with the
closure; asked to (``lower_amount``, a box on the page), the closure and the lowered
amount are saved together and audited (``pool.amount_lowered``). Never below what calls
already offer: that is refused, and nothing changes (no booking is silently dropped)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from opencall.auditlog import AuditEvent
from opencall.facilities.models import CapacityPool
from tests.facilities.test_web import Cryo, _counts, cryo, tokens
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")
__all__ = ["cryo"]  # the fixture

WEEKENDS = {"rule": "FREQ=WEEKLY;BYDAY=SA,SU", "start_time": "00:00", "hours": 24}
# Krios G4: 80 sessions of 24 h from 1 July to 28 September 2027 (90 days); a call offers 40
DAYS = [dt.date(2027, 7, 1) + dt.timedelta(days=i) for i in range(90)]
LEFT = len([d for d in DAYS if d.weekday() < 5])  # 64 weekdays


def _amount(web: Web, pool_id: int) -> float:
    with web.factory() as s:
        return s.get_one(CapacityPool, pool_id).amount


def test_api_refusal_says_what_remains_and_lowers_the_amount_when_asked(
    web: Web, cryo: Cryo
) -> None:
    h = {"Authorization": f"Bearer {tokens(web, cryo)['manager']}"}
    c = web.client()
    url = f"/api/v1/resources/{cryo.krios_id}/unavailable/rule"
    before = _counts(web)
    r = c.post(url, headers=h, json=WEEKENDS)
    assert r.status_code == 400, r.text
    detail = r.json()["detail"]
    assert f"at most {LEFT} fit" in detail and "lower_amount" in detail, detail
    assert _counts(web) == before and _amount(web, cryo.krios_id) == 80
    r = c.post(url, headers=h, json={**WEEKENDS, "lower_amount": True, "reason": "weekend"})
    assert r.status_code == 201, r.text
    assert r.json()["slot_capacity"] == LEFT and r.json()["amount_lowered_from"] == 80
    assert _amount(web, cryo.krios_id) == LEFT
    with web.factory() as s:
        ev = s.scalars(select(AuditEvent).where(AuditEvent.action == "pool.amount_lowered")).one()
        assert (ev.entity_id, ev.data["from"], ev.data["to"]) == (str(cryo.krios_id), 80, LEFT)
    # below what the call offers (40): refused whole, even when asked to lower
    before = _counts(web)
    r = c.post(
        url, headers=h,
        json={"rule": "FREQ=WEEKLY;BYDAY=MO,TU,WE", "start_time": "00:00", "hours": 24,
              "lower_amount": True},
    )  # fmt: skip
    assert r.status_code == 400 and "Calls already offer 40" in r.json()["detail"], r.text
    assert _counts(web) == before and _amount(web, cryo.krios_id) == LEFT


def test_a_closure_that_fits_does_not_lower_the_amount(web: Web, cryo: Cryo) -> None:
    h = {"Authorization": f"Bearer {tokens(web, cryo)['manager']}"}
    r = web.client().post(
        f"/api/v1/resources/{cryo.krios_id}/unavailable", headers=h,
        json={"starts_at": "2027-08-02T00:00:00Z", "ends_at": "2027-08-05T00:00:00Z",
              "lower_amount": True},
    )  # fmt: skip
    assert r.status_code == 201, r.text
    assert r.json()["amount_lowered_from"] is None and _amount(web, cryo.krios_id) == 80
    with web.factory() as s:
        assert not s.scalars(
            select(AuditEvent).where(AuditEvent.action == "pool.amount_lowered")
        ).all()


def test_page_offers_to_lower_the_amount_with_the_closure(web: Web, cryo: Cryo) -> None:
    from tests.authz.test_workspace_matrix import session_client

    client, tok = session_client(web, cryo.emails["manager"])
    url = f"/manage/resources/{cryo.krios_id}/unavailable/rule"
    form = {"csrf_token": tok, "rule": WEEKENDS["rule"], "start_time": "00:00", "hours": "24"}
    before = _counts(web)
    r = client.post(url, data=form)
    assert r.status_code == 400 and f"at most {LEFT} fit" in r.text, r.text[:3000]
    assert 'name="lower_amount"' in r.text  # the way through is on the page
    assert _counts(web) == before
    r = client.post(url, data={**form, "lower_amount": "on"})
    assert r.status_code == 303, r.text[:3000]
    assert _amount(web, cryo.krios_id) == LEFT
    # the one-off period's form offers it too
    page = client.get(f"/manage/resources/{cryo.krios_id}")
    assert page.text.count('name="lower_amount"') == 2
