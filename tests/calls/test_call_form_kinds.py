"""trialop18b: the call form shows only the fields of the facility's kind.

The new-call and edit-call pages showed the telescope's receivers and observing modes to
every operator: a clean room, a seed bank, a training course or a data-access programme
was asked which receivers its call offers. The fields a kind has are read from the kind's
attributes (``facilities.schemas.FACILITY_ATTRS``), and a value for a field the kind does
not have is refused with a clear error, nothing made or changed."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select

from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.facilities import services as fac_services
from opencall.facilities.models import Facility
from opencall.people import services as people_services
from tests import factories as F
from tests.web.conftest import Web, session_cookie

OTHER_KINDS: dict[str, dict[str, Any]] = {
    "vessel": {"vessel": "Tansuo", "submersible": "Shenhai", "max_dive_depth_m": 4500},
    "samples": {"missions": ["Chang'e 5"]},
    "programme": {"technologies": ["hybrid rice"]},
    "custom": {"site": "Clean room B"},
}
TELESCOPE_INPUTS = ('name="receivers"', 'name="modes"')


def _operator(web: Web, kind: str) -> tuple[Any, int]:
    """A client signed in as the operator of one facility of ``kind``; its id."""
    email = f"op-{kind}@kinds.example"
    with web.factory() as s:
        if kind == "telescope":
            fac = F.fast_facility(s, provider=f"prov-{kind}")
        else:
            prov = fac_services.create_provider(
                s, name=f"Provider {kind}", slug=f"prov-{kind}", country_iso3="KEN"
            )
            fac = fac_services.create_facility(
                s, prov, name=f"A {kind}", slug=kind, kind=kind, attributes=OTHER_KINDS[kind]
            )
        office = F.user(s, email=email)
        people_services.grant_role(s, office.id, "provider_admin", provider_id=fac.provider_id)
        s.commit()
        facility_id = fac.id
    c = web.client("en")
    c.cookies.set("oc_session", session_cookie(web, email, "kinds-csrf"))
    return c, facility_id


def _form(facility_id: int, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": "kinds-csrf",
        "facility_id": str(facility_id),
        "slug": "kinded",
        "code": "KD",
        "title": "A call",
        "cycle": "2027",
        "opens_at": "2027-01-01 00:00",
        "closes_at": "2027-06-30 17:00",
        "anonymity": "single",
        "review_mode": "panel",
        "award_mode": "whole",
        **extra,
    }


@pytest.mark.parametrize("kind", list(OTHER_KINDS))
def test_new_call_page_hides_the_telescope_fields(web: Web, kind: str) -> None:
    c, _ = _operator(web, kind)
    r = c.get("/manage/calls/new")
    assert r.status_code == 200, r.text[:300]
    for name in TELESCOPE_INPUTS:
        assert name not in r.text, f"{kind}: {name} shown"
    assert "Telescope" not in r.text


def test_new_call_page_of_a_telescope_keeps_them(web: Web) -> None:
    c, _ = _operator(web, "telescope")
    r = c.get("/manage/calls/new")
    assert r.status_code == 200
    for name in TELESCOPE_INPUTS:
        assert name in r.text


@pytest.mark.parametrize("kind", list(OTHER_KINDS))
def test_a_telescope_field_of_another_kind_is_refused(web: Web, kind: str) -> None:
    c, facility_id = _operator(web, kind)
    r = c.post("/manage/calls/new", data=_form(facility_id, receivers="19-beam", modes=""))
    assert r.status_code == 400, r.text[:300]
    assert "does not offer receivers" in r.text
    with web.factory() as s:
        assert s.scalar(select(func.count(Call.id))) == 0
    # empty inputs (an old bookmark of the form) are no problem
    r = c.post("/manage/calls/new", data=_form(facility_id, receivers="", modes=" "))
    assert r.status_code == 303, r.text[:500]
    with web.factory() as s:
        call = s.scalars(select(Call)).one()
        assert "receivers" not in call.form or call.form["receivers"] == []


@pytest.mark.parametrize("kind", ["custom", "programme"])
def test_edit_page_hides_and_refuses_them(web: Web, kind: str) -> None:
    c, facility_id = _operator(web, kind)
    r = c.post("/manage/calls/new", data=_form(facility_id))
    assert r.status_code == 303, r.text[:500]
    r = c.get("/manage/calls/kinded/edit")
    assert r.status_code == 200
    for name in TELESCOPE_INPUTS:
        assert name not in r.text
    with web.factory() as s:
        before = dict(s.scalars(select(Call)).one().form)
    edit = _form(facility_id, modes="Tracking")
    del edit["slug"], edit["code"]
    r = c.post("/manage/calls/kinded/edit", data=edit)
    assert r.status_code == 400, r.text[:300]
    assert "does not offer observing modes" in r.text
    with web.factory() as s:
        assert s.scalars(select(Call)).one().form == before


def test_the_offer_fields_come_from_the_kind() -> None:
    assert call_services.offer_fields("telescope") == ("receivers", "modes")
    for kind in OTHER_KINDS:
        assert call_services.offer_fields(kind) == ()


def test_the_apply_form_of_another_kind_has_no_telescope_inputs(web: Web) -> None:
    """The applicant's form offers the request forms of the call's facility kind only
    (``proposals.services.KIND_FOR_FACILITY``): a samples call asks for no receiver,
    observing mode or targets. (Checked: it was already so.)"""
    from opencall.proposals import services as prop_services
    from tests.web.conftest import make_open

    with web.factory() as s:
        call, _pool = F.samples_call(s)
        make_open(call)
        pi = F.user(s, email="pi@kinds.example")
        p = prop_services.create_proposal(s, call, pi, title="Regolith grains")
        s.commit()
        pid = p.id
    c = web.client("en")
    c.cookies.set("oc_session", session_cookie(web, "pi@kinds.example", "kinds-csrf"))
    page = c.get(f"/proposals/{pid}").text
    assert 'name="sample_type"' in page
    for name in ('name="receiver"', 'name="mode"', 'name="targets-0-name"', "Receiver"):
        assert name not in page, name


def test_the_service_refuses_them_too(web: Web) -> None:
    """The API and every other caller of ``create_call``: the same error, nothing made."""
    import datetime as dt

    from opencall.errors import DomainError

    _operator(web, "samples")
    with web.factory() as s:
        fac = s.scalars(select(Facility).where(Facility.kind == "samples")).one()
        doc = {
            "slug": "by-api",
            "code": "BA",
            "title": "By the API",
            "cycle": "2027",
            "opens_at": dt.datetime(2027, 1, 1, tzinfo=dt.UTC),
            "closes_at": dt.datetime(2027, 6, 1, tzinfo=dt.UTC),
            "form": {"modes": ["Tracking"]},
        }
        with pytest.raises(DomainError, match="does not offer observing modes"):
            call_services.create_call(s, fac, doc)
        s.rollback()
        assert s.scalar(select(func.count(Call.id))) == 0
