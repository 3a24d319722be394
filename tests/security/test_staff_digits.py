"""Numbers typed by hand on staff-only forms (trialcrowd20b). The chair's scheduling step
read its window (``days``) and the resource form its bundle (``bundle_with_<id>``) with
``str.isdecimal`` and ``int``: 5,000 digits passed the one and ``int`` refused them (a
ValueError, a 500), and 20 digits passed both and overflowed a 32-bit key on PostgreSQL.
Now each is read with ``inputs.whole_number``: the form's refusal, 400, nothing kept."""

from __future__ import annotations

from sqlalchemy import func, select

from opencall.calls.models import Call
from opencall.facilities import services as fs
from opencall.facilities.models import CapacityPool
from opencall.jobs import Job
from opencall.people import services as people_services
from tests import factories as F
from tests.allocation.test_tac import _web_world
from tests.api.test_resource_parity import SHOT
from tests.authz.test_workspace_matrix import session_client
from tests.web.conftest import Web, csrf

HOSTILE = ("9" * 5000, "²", "9" * 20, "0", "401")


def test_a_scheduling_window_typed_by_hand_is_refused_not_a_500(web: Web) -> None:
    slug, chair, _ids, _ = _web_world(web)
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        call.status = "scheduling"
        s.commit()
        before = s.scalar(select(func.count()).select_from(Job))
    c = web.login(chair)
    t = csrf(c, f"/manage/calls/{slug}/tac")
    for bad in HOSTILE:
        r = c.post(f"/manage/calls/{slug}/steps/scheduling", data={"csrf_token": t, "days": bad})
        assert r.status_code == 400, (bad[:5], r.status_code)
        assert "between 1 and 400 days" in r.text, bad[:5]
    with web.factory() as s:
        assert s.scalar(select(func.count()).select_from(Job)) == before  # nothing queued
    r = c.post(f"/manage/calls/{slug}/steps/scheduling", data={"csrf_token": t, "days": "90"})
    assert r.status_code == 303 and r.headers["location"].startswith("/manage/jobs/")
    with web.factory() as s:
        job = s.get(Job, int(r.headers["location"].rsplit("/", 1)[1]))
        assert job is not None and job.payload["days"] == 90


def test_a_bundle_named_by_hand_is_refused_not_a_500(web: Web) -> None:
    with web.factory() as s:
        prov = fs.create_provider(s, name="Lab b20", slug="lab-b20", country_iso3="FRA")
        fac = fs.create_facility(s, prov, name="Tokamak", slug="tok", kind="custom", attributes={})
        gas = fs.create_resource(s, fac, name="Gas", unit="shot", unit_labels=SHOT, amount=20)
        fs.create_resource(s, fac, name="Coil", unit="shot", unit_labels=SHOT, amount=5)
        admin = F.user(s, email="lab-b20@example.org")
        people_services.grant_role(s, admin.id, "provider_admin", provider_id=prov.id)
        s.commit()
        pool_id = gas.id
    client, tok = session_client(web, "lab-b20@example.org")
    form = {"csrf_token": tok, "name": "Gas 2", "unit": "own", "unit_key": "shot", "amount": "20"}
    for lg, forms in SHOT.items():
        form[f"label_{lg}_one"], form[f"label_{lg}_other"] = forms["one"], forms["other"]
    for bad in ("9" * 5000, "9" * 20, "²"):
        r = client.post(f"/manage/resources/{pool_id}", data={**form, f"bundle_with_{bad}": "on"})
        assert r.status_code == 400, (bad[:5], r.status_code)
        assert "is not a resource of this facility" in r.text, bad[:5]
    with web.factory() as s:
        kept = s.get(CapacityPool, pool_id)
        assert kept is not None and kept.name == "Gas" and kept.bundle_with == []
