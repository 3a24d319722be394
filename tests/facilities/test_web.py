"""The operator's pages and the JSON API of the resource model: who may use them
(every route x persona), the setup through the forms, and bad input refused with
a clear message that changes nothing."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

import pytest
import time_machine
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.facilities import services as fs
from opencall.facilities.models import CapacityPool, Facility
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.proposals import services as ps
from opencall.proposals.models import Proposal
from tests import factories as F
from tests.authz.test_workspace_matrix import session_client
from tests.facilities.authz_cases import CASES, RESOURCE
from tests.facilities.builders import FIELDS, cryo_call, cryo_centre
from tests.web.conftest import Web, make_open, version_of

pytestmark = pytest.mark.filterwarnings("ignore")
PERSONAS = ("anonymous", "applicant", "manager", "other_manager")


@dataclass
class Cryo:
    provider_slug: str
    facility_id: int
    krios_id: int
    glacios_id: int
    unavailable_id: int
    emails: dict[str, str]
    proposal_id: int = 0
    call_id: int = 0


def build_cryo(s: Session) -> Cryo:
    fac, krios, glacios = cryo_centre(s)
    manager = F.user(s, email="office@cryo.example")
    people_services.grant_role(s, manager.id, "provider_admin", provider_id=fac.provider_id)
    other_fac, _k, _g = cryo_centre(s)
    om = F.user(s, email="office@other.example")
    people_services.grant_role(s, om.id, "provider_admin", provider_id=other_fac.provider_id)
    applicant = F.user(s, email="applicant@example.org")
    call = cryo_call(s, fac, [krios, glacios], 40)
    make_open(call)  # around the real clock: the pages use it
    cycle.transition_call(s, call, "open")
    p = ps.create_proposal(s, call, applicant, title="Ribosome", abstract="a", science_case="b")
    s.flush()
    return Cryo(
        fac.provider.slug,
        fac.id,
        krios.id,
        glacios.id,
        glacios.unavailable[0].id,
        {"manager": manager.email, "other_manager": om.email, "applicant": applicant.email},
        p.id,
        call.id,
    )


@pytest.fixture
def cryo(factory: sessionmaker[Session], small_worlds: Any) -> Cryo:
    """:func:`build_cryo` (built once per session and backend, see tests/conftest.py)."""
    return small_worlds.get("facilities-cryo", factory, build_cryo)  # type: ignore[no-any-return]


def outcome(r: Any) -> str:
    if r.status_code == 404:
        return "404"
    if r.status_code == 401 or (
        r.status_code == 303 and r.headers.get("location", "").startswith("/login")
    ):
        return "login"
    assert r.status_code < 500, r.text[:2000]
    return "ok"


def _reset_krios(web: Web, w: Cryo) -> None:
    """Before each case: Krios with its request form and one unavailable period."""
    with web.factory() as s:
        krios = s.get(CapacityPool, w.krios_id)
        assert krios is not None
        fs.update_resource(
            s,
            krios,
            name="Krios G4",
            amount=80,
            request_fields=FIELDS,
            unavailable=[
                {
                    "starts_at": dt.datetime(2027, 9, 20, tzinfo=dt.UTC),
                    "ends_at": dt.datetime(2027, 9, 21, tzinfo=dt.UTC),
                    "reason": "service",
                }
            ],
        )
        s.commit()
        w.unavailable_id = krios.unavailable[0].id


def tokens(web: Web, w: Cryo) -> dict[str, str]:
    out = {}
    with web.factory() as s:
        for k, email in w.emails.items():
            u = user_by_email(s, email)
            assert u is not None
            out[k] = people_services.create_api_token(s, u, "t")[1]
        s.commit()
    return out


def test_every_route_by_persona(web: Web, cryo: Cryo, one_loop: None) -> None:
    toks = tokens(web, cryo)
    failures = []
    for case in CASES:
        for persona in PERSONAS:
            _reset_krios(web, cryo)
            path = case.path.format(**case.params(cryo))
            if case.api:
                headers = {"Authorization": f"Bearer {toks[persona]}"} if persona in toks else {}
                r = web.client().request(case.method, path, headers=headers, json=case.json)
            else:
                client, tok = session_client(web, cryo.emails.get(persona))
                if case.method == "GET":
                    r = client.get(path)
                else:
                    r = client.post(path, data={"csrf_token": tok, **case.data})
            got = outcome(r)
            want = (
                "ok"
                if persona in case.allowed
                else (case.anonymous if persona == "anonymous" else "404")
            )
            if got != want:
                failures.append(f"{case.method} {case.path} as {persona}: {got} (want {want})")
    assert not failures, "\n".join(failures)


def _counts(web: Web) -> dict[str, int]:
    with web.factory() as s:
        return F.table_counts(s)


def test_setup_through_the_pages(web: Web, cryo: Cryo) -> None:
    client, tok = session_client(web, cryo.emails["manager"])
    r = client.post(
        f"/manage/facilities/{cryo.facility_id}/resources", data={"csrf_token": tok, **RESOURCE}
    )
    assert r.status_code == 303, r.text[:2000]
    page = client.get(r.headers["location"])
    assert "5 sessions" in page.text and "seat" not in page.text.lower()
    pool_url = r.headers["location"].split("?")[0]
    r = client.post(
        pool_url + "/unavailable",
        data={"csrf_token": tok, "first_day": "2027-08-02", "last_day": "2027-08-08",
              "reason": "maintenance"},
    )  # fmt: skip
    assert r.status_code == 303, r.text[-3000:]
    r = client.post(
        pool_url + "/fields",
        data={"csrf_token": tok, "key": "grids", "type": "number", "flabel_en": "Grids",
              "min": "1", "max": "12", "integer": "on", "required": "on"},
    )  # fmt: skip
    assert r.status_code == 303, r.text[:3000]
    page = client.get(pool_url)
    assert "maintenance" in page.text and "Grids" in page.text
    # a unit of one's own, in the visitor's language
    own = {**RESOURCE, "name": "Vitrobot", "unit": "own", "unit_key": "blot", "slot_hours": ""}
    for lg, (one, other) in {"en": ("blot", "blots"), "zh": ("次", "次"),
                             "fr": ("buvardage", "buvardages"),
                             "es": ("secado", "secados")}.items():  # fmt: skip
        own[f"label_{lg}_one"], own[f"label_{lg}_other"] = one, other
    r = client.post(
        f"/manage/facilities/{cryo.facility_id}/resources", data={"csrf_token": tok, **own}
    )
    assert r.status_code == 303, r.text[:3000]
    client.cookies.set("oc_lang", "fr")
    assert "5 buvardages" in client.get(r.headers["location"]).text


def test_the_hour_the_days_begin_at_is_set_on_the_pages(web: Web, cryo: Cryo) -> None:
    """A beamline whose shifts run from 08:00 in Bangkok: its days begin at 01:00 UTC; the
    unavailable days entered on the page are the resource's days."""
    client, tok = session_client(web, cryo.emails["manager"])
    shifts = {**RESOURCE, "name": "Beamline", "unit": "shift", "slot_hours": "8",
              "amount": "30", "day_start_hour": "1"}  # fmt: skip
    r = client.post(
        f"/manage/facilities/{cryo.facility_id}/resources", data={"csrf_token": tok, **shifts}
    )
    assert r.status_code == 303, r.text[:2000]
    pool_url = r.headers["location"].split("?")[0]
    assert "01:00 UTC" in client.get(pool_url).text
    r = client.post(pool_url + "/unavailable", data={
        "csrf_token": tok, "first_day": RESOURCE["period_start"],
        "last_day": RESOURCE["period_start"], "reason": "beam tuning"})  # fmt: skip
    assert r.status_code == 303, r.text[-3000:]
    with web.factory() as s:
        pool = s.get(CapacityPool, int(pool_url.rsplit("/", 1)[1]))
        assert pool is not None and pool.day_start_hour == 1
        (u,) = pool.unavailable
        assert (u.starts_at.hour, u.ends_at - u.starts_at) == (1, dt.timedelta(days=1))
    r = client.post(f"/manage/facilities/{cryo.facility_id}/resources",
                    data={"csrf_token": tok, **shifts, "name": "B2", "day_start_hour": "24"})  # fmt: skip
    assert r.status_code == 400 and "24" in r.text


def test_a_compulsory_bundle_is_set_on_the_resource_page(web: Web, cryo: Cryo) -> None:
    """The operator ticks, on the Glacios's edit page, the Krios it must be bundled with:
    the resource page says so (in the reader's language) and the API shows it; ticking
    nothing takes the rule away."""
    client, tok = session_client(web, cryo.emails["manager"])
    url = f"/manage/resources/{cryo.glacios_id}"
    form = client.get(url + "/edit").text
    assert f'name="bundle_with_{cryo.krios_id}"' in form
    assert f'name="bundle_with_{cryo.glacios_id}"' not in form  # never itself
    data = {**RESOURCE, "name": "Glacios", "amount": "60", "csrf_token": tok}
    r = client.post(url, data={**data, f"bundle_with_{cryo.krios_id}": "on"})
    assert r.status_code == 303, r.text[:3000]
    with web.factory() as s:
        glacios = s.get(CapacityPool, cryo.glacios_id)
        assert glacios is not None and glacios.bundle_with == [cryo.krios_id]
    client.cookies.set("oc_lang", "fr")
    assert "Seulement dans un lot avec : Krios G4" in client.get(url).text
    assert 'checked> <label for="f-bundle-' in client.get(url + "/edit").text
    r = client.post(url, data=data)
    assert r.status_code == 303, r.text[:3000]
    with web.factory() as s:
        glacios = s.get(CapacityPool, cryo.glacios_id)
        assert glacios is not None and glacios.bundle_with == []
    assert "Seulement dans un lot" not in client.get(url).text


def test_the_records_kept_after_the_award_are_set_on_the_resource(web: Web, cryo: Cryo) -> None:
    """The operator ticks the post-award record kinds of a resource on its edit page (the
    resource page lists them in the reader's language); the API reads and changes them
    and refuses an unknown kind; ticking nothing goes back to what the unit implies."""
    client, tok = session_client(web, cryo.emails["manager"])
    url = f"/manage/resources/{cryo.glacios_id}"
    assert 'name="record_kind_loan"' in client.get(url + "/edit").text
    data = {**RESOURCE, "name": "Glacios", "amount": "60", "csrf_token": tok}
    r = client.post(url, data={**data, "record_kind_shipment": "on", "record_kind_loan": "on"})
    assert r.status_code == 303, r.text[:3000]
    with web.factory() as s:
        glacios = s.get(CapacityPool, cryo.glacios_id)
        assert glacios is not None and glacios.record_kinds == ["loan", "shipment"]
    client.cookies.set("oc_lang", "fr")
    assert "Prêt d’échantillons" in client.get(url).text
    assert 'checked> <label for="f-record-loan"' in client.get(url + "/edit").text
    h = {"Authorization": f"Bearer {tokens(web, cryo)['manager']}"}
    api = web.client()
    got = api.get(f"/api/v1/resources/{cryo.glacios_id}", headers=h).json()
    assert got["record_kinds"] == ["loan", "shipment"]
    r = api.patch(f"/api/v1/resources/{cryo.glacios_id}", headers=h,
                  json={"record_kinds": ["session", "harvest"]})  # fmt: skip
    assert r.status_code == 400 and "Unknown record kind 'harvest'" in r.json()["detail"]
    r = api.patch(f"/api/v1/resources/{cryo.glacios_id}", headers=h,
                  json={"record_kinds": ["other", "session"]})  # fmt: skip
    assert r.status_code == 200 and r.json()["record_kinds"] == ["other", "session"]
    r = client.post(url, data=data)
    assert r.status_code == 303, r.text[:3000]
    with web.factory() as s:
        glacios = s.get(CapacityPool, cryo.glacios_id)
        assert glacios is not None and glacios.record_kinds == []


@pytest.mark.parametrize(
    ("path", "data", "message"),
    [
        ("/manage/facilities/{facility_id}/resources", {**RESOURCE, "unit": "widget"},
         "Unknown unit"),
        ("/manage/facilities/{facility_id}/resources", {**RESOURCE, "amount": "91"},
         "at most 90 fit"),
        ("/manage/facilities/{facility_id}/resources", {**RESOURCE, "amount": "x"},
         "Enter a number"),
        ("/manage/facilities/{facility_id}/resources", {**RESOURCE, "unit": "own",
         "unit_key": "blot", "label_en_one": "blot"}, "en, zh, fr and es"),
        ("/manage/facilities/{facility_id}/resources", {**RESOURCE, "period_end": "2027-06-01"},
         "end on or after"),
        ("/manage/resources/{glacios_id}/unavailable",
         {"first_day": "2027-08-05", "last_day": "2027-08-10", "reason": "x"}, "overlap"),
        ("/manage/resources/{glacios_id}/unavailable",
         {"first_day": "2027-10-05", "last_day": "2027-10-10", "reason": "x"}, "inside"),
        ("/manage/resources/{glacios_id}/unavailable",
         {"first_day": "2027-08-20", "last_day": "2027-08-10", "reason": "x"}, "end after"),
        ("/manage/resources/{glacios_id}/fields",
         {"key": "grids", "type": "number", "flabel_en": "G", "min": "5", "max": "1"},
         "maximum must not be below"),
        ("/manage/resources/{glacios_id}/fields",
         {"key": "specimen", "type": "text", "flabel_en": "Again"}, "two fields"),
        ("/manage/resources/{glacios_id}/fields",
         {"key": "amount", "type": "text", "flabel_en": "Amount"}, "reserved"),
        ("/manage/resources/{glacios_id}", {**RESOURCE, "amount": "84"}, "at most 83 fit"),
    ],
)  # fmt: skip
def test_bad_input_on_the_pages(web: Web, cryo: Cryo, path: str, data: dict, message: str) -> None:
    client, tok = session_client(web, cryo.emails["manager"])
    before = _counts(web)
    r = client.post(
        path.format(facility_id=cryo.facility_id, glacios_id=cryo.glacios_id),
        data={"csrf_token": tok, **data},
    )
    assert r.status_code == 400
    assert message in r.text
    assert 'role="alert"' in r.text
    assert _counts(web) == before


def test_api_setup_and_refusals(web: Web, cryo: Cryo) -> None:
    tok = tokens(web, cryo)["manager"]
    c = web.client()
    h = {"Authorization": f"Bearer {tok}"}
    r = c.post(
        f"/api/v1/providers/{cryo.provider_slug}/facilities",
        headers=h,
        json={"name": "Cryo-EM 2", "slug": "cryo-2", "kind": "custom"},
    )
    assert r.status_code == 201, r.text
    fid = r.json()["id"]
    doc = {
        "name": "Krios",
        "unit": "session",
        "amount": 83,
        "period_start": "2027-07-01",
        "period_end": "2027-09-28",
        "slot_hours": 24,
        "unavailable": [
            {"starts_at": "2027-08-02T00:00:00Z", "ends_at": "2027-08-09T00:00:00Z",
             "reason": "maintenance"}
        ],
        "request_fields": FIELDS,
    }  # fmt: skip
    r = c.post(f"/api/v1/facilities/{fid}/resources", headers=h, json=doc)
    assert r.status_code == 201, r.text
    res = r.json()
    assert res["unit_label_other"] == "sessions" and res["calendar"]["slot_capacity"] == 83
    rid = res["id"]
    before = _counts(web)
    for method, path, body, status, message in [
        ("POST", f"/api/v1/facilities/{fid}/resources", {**doc, "unit": "widget"}, 400,
         "Unknown unit"),
        ("POST", f"/api/v1/facilities/{fid}/resources", {**doc, "name": "K2", "amount": 84}, 400,
         "at most 83 fit"),
        ("POST", f"/api/v1/resources/{rid}/unavailable",
         {"starts_at": "2027-08-05T00:00:00Z", "ends_at": "2027-08-12T00:00:00Z"}, 400, "overlap"),
        ("POST", f"/api/v1/resources/{rid}/unavailable",
         {"starts_at": "2027-09-05T00:00:00Z", "ends_at": "2027-09-06T00:00:00Z"}, 400,
         "at most 82 fit"),
        ("PATCH", f"/api/v1/resources/{rid}", {"amount": 84}, 400, "at most 83 fit"),
        ("PUT", f"/api/v1/resources/{rid}/request-fields",
         {"fields": [{"key": "g", "type": "number", "labels": {"en": "G"}, "min": 3, "max": 1}]},
         422, "maximum"),
        ("POST", f"/api/v1/providers/{cryo.provider_slug}/facilities",
         {"name": "X", "slug": "cryo-2", "kind": "custom"}, 400, "short name"),
        ("POST", f"/api/v1/providers/{cryo.provider_slug}/facilities",
         {"name": "X", "slug": "x", "kind": "spaceship"}, 400, "kind"),
    ]:  # fmt: skip
        r = c.request(method, path, headers=h, json=body)
        assert r.status_code == status, (path, r.text)
        assert message in r.text, r.text
    assert _counts(web) == before
    r = c.patch(f"/api/v1/resources/{rid}", headers=h, json={"amount": 60})
    assert r.status_code == 200 and r.json()["amount"] == 60
    r = c.get(f"/api/v1/resources/{rid}/calendar", headers=h)
    assert r.json()["unavailable"][0]["reason"] == "maintenance"


def test_api_over_commit_names_the_resource(web: Web, cryo: Cryo) -> None:
    tok = tokens(web, cryo)["manager"]  # the fixture's call offers 40 of Krios's 80
    before = _counts(web)
    r = web.client().patch(
        f"/api/v1/resources/{cryo.krios_id}",
        headers={"Authorization": f"Bearer {tok}"},
        json={"amount": 30},
    )
    assert r.status_code == 400
    assert "Calls already offer 40 of 'Krios G4'" in r.json()["detail"]
    assert _counts(web) == before


def test_the_applicants_form_is_the_declared_one(web: Web, cryo: Cryo) -> None:
    client, tok = session_client(web, cryo.emails["applicant"])
    url = f"/proposals/{cryo.proposal_id}"
    page = client.get(url)
    assert page.status_code == 200
    text = page.text
    assert "Krios G4" in text and "Glacios" in text
    assert "Amount (sessions)" in text and 'name="x_specimen"' in text
    assert "screening" in text and "Dates you cannot use" in text
    assert "seat" not in text.lower()
    good = {"kind": "custom", "amount": "2", "x_specimen": "apoferritin", "x_grids": "4",
            "x_mode": "screening", "impossible_dates": "2027-07-10 2027-07-12"}  # fmt: skip
    before = _counts(web)
    for bad, name, message in [
        ({"x_grids": "40"}, "x_grids", "Grids: must be at most 12"),
        ({"x_mode": "tomography"}, "x_mode", "Mode: choose one of"),
        ({"x_specimen": ""}, "x_specimen", "Specimen: this field is required"),
        ({"amount": "41"}, "amount", "exceeds what the call offers"),
        ({"amount": "1.5"}, "amount", "1.5 is not a whole number of sessions"),
        ({"impossible_dates": "2027-07-10 2027-07-11 2027-07-12"}, "impossible_dates", "Line 1"),
        ({"impossible_dates": "2028-01-01 2028-01-02"}, "impossible_dates", "outside"),
    ]:  # fmt: skip
        r = client.post(
            url + "/requests",
            data={"csrf_token": tok, "version": version_of(client, cryo.proposal_id),
                  "pool_id": str(cryo.krios_id), **good, **bad},
        )  # fmt: skip
        assert r.status_code == 400, (bad, r.status_code)
        assert message in r.text, bad
        assert f'name="{name}"' in r.text
        assert 'aria-invalid="true"' in r.text
    assert _counts(web) == before
    ids = []
    for pool_id, mode in ((cryo.krios_id, "screening"), (cryo.glacios_id, "data collection")):
        r = client.post(
            url + "/requests",
            data={"csrf_token": tok, "version": version_of(client, cryo.proposal_id),
                  "pool_id": str(pool_id), **good, "x_mode": mode},
        )  # fmt: skip
        assert r.status_code == 303, r.text[-3000:]
    with web.factory() as s:
        p = s.get(Proposal, cryo.proposal_id)
        assert p is not None
        ids = [r.id for r in p.requests]
        assert p.requests[0].details["impossible_dates"] == [["2027-07-10", "2027-07-12"]]
    page = client.get(url).text
    assert "2 sessions" in page and "These requests are all-or-nothing" in page
    # a bundle of one is refused; two make a bundle
    r = client.post(
        url + "/bundle",
        data={"csrf_token": tok, "version": version_of(client, cryo.proposal_id),
              "bundle": "pair", f"req-{ids[0]}": "on"},
    )  # fmt: skip
    assert r.status_code == 400 and "at least two requests" in r.text
    r = client.post(
        url + "/bundle",
        data={"csrf_token": tok, "version": version_of(client, cryo.proposal_id),
              "bundle": "pair", f"req-{ids[0]}": "on", f"req-{ids[1]}": "on"},
    )  # fmt: skip
    assert r.status_code == 303
    with web.factory() as s:
        p = s.get(Proposal, cryo.proposal_id)
        assert p is not None
        assert [r.bundle for r in p.requests] == ["pair", "pair"]
    assert "all-or-nothing bundle: pair" in client.get(url).text


def test_over_commit_on_the_call_page_is_refused(web: Web, cryo: Cryo) -> None:
    with web.factory() as s:
        u = user_by_email(s, cryo.emails["manager"])
        assert u is not None
        fac = s.get(Facility, cryo.facility_id)
        assert fac is not None
        people_services.grant_role(s, u.id, "call_manager", provider_id=fac.provider_id)
        second = cryo_call(s, fac, [], None)
        s.commit()
        slug = second.slug
    client, tok = session_client(web, cryo.emails["manager"])
    before = _counts(web)
    r = client.post(
        f"/manage/calls/{slug}/pools",
        data={"csrf_token": tok, "pool_id": str(cryo.krios_id), "amount": "41"},
    )
    assert r.status_code == 400
    assert "other calls already offer 40, so this call can offer at most 40 (asked: 41)" in r.text
    assert _counts(web) == before
    r = client.post(
        f"/manage/calls/{slug}/pools",
        data={"csrf_token": tok, "pool_id": str(cryo.krios_id), "amount": "40"},
    )
    assert r.status_code == 303


def test_field_errors_speak_the_applicants_language(web: Web, cryo: Cryo) -> None:
    client, tok = session_client(web, cryo.emails["applicant"])
    client.cookies.set("oc_lang", "fr")
    r = client.post(
        f"/proposals/{cryo.proposal_id}/requests",
        data={"csrf_token": tok, "version": version_of(client, cryo.proposal_id),
              "kind": "custom", "pool_id": str(cryo.krios_id), "amount": "1",
              "x_mode": "screening"},
    )  # fmt: skip
    assert r.status_code == 400
    assert "Spécimen : ce champ est obligatoire." in r.text


def test_a_missing_file_is_named_by_the_resources_label_in_each_language(web: Web) -> None:
    """The "no file named …" problem carries the resource's own label for the field in
    the page's language (the English one where the operator gave none), on the editor
    in en/fr/zh/es and in the API's refusal (stable id, parameters and English detail
    for clients that send no Accept-Language)."""
    labels = {"en": "Safety sheet", "fr": "Fiche de sécurité", "zh": "安全数据表"}
    with web.factory() as s:
        fac, krios, _g = cryo_centre(s)
        fields = [*FIELDS, {"key": "safety", "type": "file", "labels": labels}]
        fs.update_resource(s, krios, request_fields=fields)
        applicant = F.user(s, email="safety-sheet@example.org")
        call = cryo_call(s, fac, [krios], 40)
        make_open(call)
        cycle.transition_call(s, call, "open")
        p = ps.create_proposal(s, call, applicant, title="Ribosome", abstract="a", science_case="b")
        details = {"amount": 1, "specimen": "s", "mode": "screening", "safety": "msds.pdf"}
        ps.add_request(s, p, "custom", details, pool_id=krios.id)
        raw = people_services.create_api_token(s, applicant, "t")[1]
        s.commit()
        pid = p.id
    client, _tok = session_client(web, applicant.email)
    expected = {
        "en": "Safety sheet: no file named &#39;msds.pdf&#39; is attached to this proposal.",
        "fr": "Fiche de sécurité : aucun fichier nommé &#39;msds.pdf&#39; n&#39;est joint",
        "zh": "安全数据表：本提案未附有名为 &#39;msds.pdf&#39; 的文件。",
        "es": "Safety sheet: no hay ningún archivo llamado &#39;msds.pdf&#39; adjunto",
    }
    for lang, said in expected.items():
        client.cookies.set("oc_lang", lang)
        page = client.get(f"/proposals/{pid}")
        assert page.status_code == 200
        assert said in page.text, lang
    h = {"Authorization": f"Bearer {raw}"}
    url = f"/api/v1/proposals/{pid}/submit"
    english = "requests: Safety sheet: no file named 'msds.pdf' is attached to this proposal."
    r = web.client().post(url, headers=h)
    assert r.status_code == 400 and r.json()["detail"] == english
    assert r.json()["message_id"] == (
        "%(label)s: no file named %(name)s is attached to this proposal."
    )
    assert r.json()["params"] == {"label": "Safety sheet", "name": "'msds.pdf'"}
    r = web.client().post(url, headers={**h, "Accept-Language": "fr"})
    assert r.status_code == 400
    assert r.json()["detail"] == (
        "requests: Fiche de sécurité : aucun fichier nommé 'msds.pdf' n'est joint à cette "
        "proposition."
    )
    with web.factory() as s:
        assert s.get(Proposal, pid).status == "draft"  # type: ignore[union-attr]


def test_a_new_call_offering_every_resource_leaves_out_those_with_no_slot_left(
    web: Web, cryo: Cryo
) -> None:
    # eight days before the microscopes' period ends, the call of the world holds 40
    # sessions of each, more than is left ahead: a new call offering "every resource"
    # is made, and offers neither (it was refused: 'can offer at most 0')
    with time_machine.travel(dt.datetime(2027, 9, 21, 9, tzinfo=dt.UTC)):
        client, tok = session_client(web, cryo.emails["manager"])
        r = client.post("/manage/calls/new", data={
            "csrf_token": tok, "facility_id": str(cryo.facility_id), "slug": "cryo-late",
            "code": "LATE", "title": "Late sessions", "cycle": "2027-late",
            "opens_at": "2027-09-22 00:00", "closes_at": "2027-09-24 00:00",
            "anonymity": "single", "offer_all": "on"})  # fmt: skip
    assert r.status_code == 303, r.text[:3000]
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == "cryo-late")).one()
        assert call.pools == []


def test_the_api_offering_every_resource_also_leaves_out_those_with_no_slot_left(
    web: Web, cryo: Cryo
) -> None:
    # as the page does (above): the call is made, offering neither microscope, rather
    # than refused whole ('can offer at most 0')
    with web.factory() as s:
        fac = s.get(Facility, cryo.facility_id)
        assert fac is not None
        facility = fac.slug
    with time_machine.travel(dt.datetime(2027, 9, 21, 9, tzinfo=dt.UTC)):
        h = {"Authorization": f"Bearer {tokens(web, cryo)['manager']}"}  # valid then
        r = web.client().post("/api/v1/calls", headers=h, json={
            "provider": cryo.provider_slug, "facility": facility,
            "slug": "cryo-late-api", "code": "LATA", "title": "Late sessions by API",
            "cycle": "2027-late", "opens_at": "2027-09-22T00:00:00+00:00",
            "closes_at": "2027-09-24T00:00:00+00:00", "anonymity": "single",
            "offer_all_pools": True})  # fmt: skip
    assert r.status_code == 201, r.text[:3000]
    assert r.json()["status"] == "draft"
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == "cryo-late-api")).one()
        assert call.pools == []


def test_the_rules_by_country_are_set_on_the_edit_page(web: Web, cryo: Cryo) -> None:
    """An operator without the API sets a resource's rules by country on its edit page
    (the countries it cannot go to, the lead times by country, * for the others): the
    resource page shows them and the API reads them; an unknown code or a bad lead time
    is refused with the API's message (400) and nothing changes; emptied, the rules go."""
    client, tok = session_client(web, cryo.emails["manager"])
    url = f"/manage/resources/{cryo.glacios_id}"
    form = client.get(url + "/edit").text
    assert 'name="country_barred"' in form and 'name="country_lead_days"' in form
    data = {**RESOURCE, "name": "Glacios", "amount": "60", "csrf_token": tok}
    r = client.post(url, data={**data, "country_barred": "chn, USA",
                               "country_lead_days": "NPL 70\n* 7"})  # fmt: skip
    assert r.status_code == 303, r.text[:3000]
    rules = {"barred": ["CHN", "USA"], "lead_days": {"*": 7, "NPL": 70}}
    with web.factory() as s:
        glacios = s.get(CapacityPool, cryo.glacios_id)
        assert glacios is not None and glacios.country_rules == rules
    page = client.get(url).text
    assert "CHN, USA" in page and "NPL 70" in page
    edit = client.get(url + "/edit").text
    assert 'value="CHN, USA"' in edit and "NPL 70" in edit
    h = {"Authorization": f"Bearer {tokens(web, cryo)['manager']}"}
    assert (
        web.client().get(f"/api/v1/resources/{cryo.glacios_id}", headers=h).json()["country_rules"]
        == rules
    )
    # refused as the API refuses them, nothing changed; the message in the reader's language
    for barred, leads, said in (
        ("CHN, UNITED STATES", "", "Unknown country code &#39;UNITED&#39;"),
        ("CHN", "NPL seventy", "(NPL: seventy)"),
        ("CHN", "NPL", "a country code and a number of days"),
    ):
        r = client.post(url, data={**data, "country_barred": barred, "country_lead_days": leads})
        assert r.status_code == 400 and said in r.text, (barred, leads, r.text[-3000:])
        with web.factory() as s:
            glacios = s.get(CapacityPool, cryo.glacios_id)
            assert glacios is not None and glacios.country_rules == rules
    r = client.post(url, data={**data, "country_barred": "CHN", "country_lead_days": "CHN 10"})
    assert r.status_code == 400 and "both barred" in r.text
    client.cookies.set("oc_lang", "fr")
    r = client.post(url, data={**data, "country_barred": "XYZ", "country_lead_days": ""})
    assert r.status_code == 400 and "Code de pays inconnu" in r.text, r.text[-3000:]
    assert "Pays vers lesquels elle ne peut pas aller" in client.get(url + "/edit").text
    client.cookies.delete("oc_lang")
    r = client.post(url, data=data)
    assert r.status_code == 303, r.text[:3000]
    with web.factory() as s:
        glacios = s.get(CapacityPool, cryo.glacios_id)
        assert glacios is not None and glacios.country_rules == {}
    assert 'id="country-rules"' not in client.get(url).text


def test_the_rules_may_read_a_requests_destination_on_the_edit_page(web: Web, cryo: Cryo) -> None:
    """The rules by country may read the country a request names (``country_field``, a
    seed sample's destination) rather than the PI's: the edit page shows and keeps it
    (trialfac16: the page had no such field, so saving the page dropped it and the rules
    went back to the PI's country), and a field the form does not have, or one that is not
    a required choice, is refused, nothing changed."""
    dest = {"key": "destination", "type": "choice", "required": True,
            "options": ["KEN", "NPL"], "labels": {"en": "Destination"}}  # fmt: skip
    with web.factory() as s:
        glacios = s.get(CapacityPool, cryo.glacios_id)
        assert glacios is not None
        fs.update_resource(s, glacios, request_fields=[*FIELDS, dest])
        s.commit()
    client, tok = session_client(web, cryo.emails["manager"])
    url = f"/manage/resources/{cryo.glacios_id}"
    data = {**RESOURCE, "name": "Glacios", "amount": "60", "csrf_token": tok,
            "country_lead_days": "NPL 90\n* 14"}  # fmt: skip
    r = client.post(url, data={**data, "country_field": "destination"})
    assert r.status_code == 303, r.text[:3000]
    rules = {"country_field": "destination", "lead_days": {"*": 14, "NPL": 90}}
    with web.factory() as s:
        glacios = s.get(CapacityPool, cryo.glacios_id)
        assert glacios is not None and glacios.country_rules == rules
    assert 'value="destination"' in client.get(url + "/edit").text
    assert "field destination" in client.get(url).text
    for bad in ("specimen", "country"):  # a text field; no such field
        r = client.post(url, data={**data, "country_field": bad})
        assert r.status_code == 400 and f"&#39;{bad}&#39;" in r.text, r.text[-3000:]
        with web.factory() as s:
            glacios = s.get(CapacityPool, cryo.glacios_id)
            assert glacios is not None and glacios.country_rules == rules


def test_a_shared_instrument_is_set_on_the_resource_page(web: Web, cryo: Cryo) -> None:
    """The operator names, on the Glacios's edit page, the instrument it shares with the
    Krios (trialfac21b): the page lists the other resource never in use at once with it,
    in the reader's language; a name on a resource without slots is refused under it."""
    with web.factory() as s:
        krios = s.get(CapacityPool, cryo.krios_id)
        assert krios is not None
        fs.update_resource(s, krios, exclusive_group="Cold stage")
        s.commit()
    client, tok = session_client(web, cryo.emails["manager"])
    url = f"/manage/resources/{cryo.glacios_id}"
    assert 'name="exclusive_group"' in client.get(url + "/edit").text
    data = {**RESOURCE, "name": "Glacios", "amount": "60", "csrf_token": tok}
    r = client.post(url, data={**data, "exclusive_group": "Cold stage"})
    assert r.status_code == 303, r.text[:3000]
    with web.factory() as s:
        glacios = s.get(CapacityPool, cryo.glacios_id)
        assert glacios is not None and glacios.exclusive_group == "Cold stage"
    client.cookies.set("oc_lang", "fr")
    assert "Cold stage, jamais utilisé en même temps que : Krios G4" in client.get(url).text
    hours = {**data, "slot_hours": "", "unit": "h", "exclusive_group": "Cold stage"}
    r = client.post(url, data=hours)
    assert r.status_code == 400 and "créneaux" in r.text, r.text[-2000:]


def test_storage_is_declared_occupied_on_the_resource_form(web: Web, cryo: Cryo) -> None:
    """The operator ticks "Occupied, not consumed" for project storage (usage23): the
    resource keeps it, its page says the peak counts (in the reader's language), its edit
    form shows it ticked and unticking it goes back to the sum."""
    client, tok = session_client(web, cryo.emails["manager"])
    storage = {"name": "Storage", "unit": "g", "amount": "70", "csrf_token": tok}
    r = client.post(f"/manage/facilities/{cryo.facility_id}/resources",
                    data={**storage, "usage_occupied": "on"})  # fmt: skip
    assert r.status_code == 303, r.text[:3000]
    url = r.headers["location"].split("?")[0]
    with web.factory() as s:
        pool = s.get(CapacityPool, int(url.rsplit("/", 1)[1]))
        assert pool is not None and pool.usage_kind == "occupied"
    client.cookies.set("oc_lang", "fr")
    assert "le niveau le plus haut relevé" in client.get(url).text
    assert 'name="usage_occupied" checked>' in client.get(url + "/edit").text
    assert client.post(url, data=storage).status_code == 303
    with web.factory() as s:
        pool = s.get(CapacityPool, int(url.rsplit("/", 1)[1]))
        assert pool is not None and pool.usage_kind == "consumed"
    assert "la somme des relevés" in client.get(url).text
