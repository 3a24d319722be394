"""Every resource the operator's pages make, the JSON API makes too, through the same
service with the same refusals: the preset pools of a vessel (berths and dives of a
leg), a programme (a course's seats, packages), a telescope (LST hours) and a
samples facility (a sample's mass); and a unit of one's own counted in whole
numbers (SQLite and PostgreSQL)."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest
from sqlalchemy import select

from opencall.facilities import services as fs
from opencall.facilities.models import CapacityPool, Facility
from opencall.facilities.schemas import FAST_SITE_ATTRIBUTES
from opencall.people import services as people_services
from tests import factories as F
from tests.authz.test_workspace_matrix import session_client
from tests.facilities.builders import cryo_call
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")
_seq = itertools.count(1)
LEG = {
    "leg": "2",
    "start_date": "2027-05-01",
    "end_date": "2027-05-20",
    "from_port": "Sanya",
    "to_port": "Manila",
    "route": [[18.2, 109.5], [14.6, 121.0]],
}
# per kind: its attributes and the pools the provider page makes, with their attributes
PRESETS: dict[str, tuple[dict[str, Any], list[tuple[str, float, dict[str, Any]]]]] = {
    "vessel": (
        {"vessel": "R/V", "submersible": "ROV", "max_dive_depth_m": 4500},
        [("berths", 12, LEG), ("dives", 18, LEG)],
    ),
    "programme": (
        {"technologies": ["hybrid rice"]},
        [
            ("seats", 30, {"technology": "hybrid rice", "start_date": "2027-06-01",
                           "end_date": "2027-06-20", "place": "Changsha"}),
            ("packages", 5, {"technology": "hybrid rice", "season": "2027"}),
        ],
    ),
    "samples": (
        {"missions": ["CE-5"]},
        [("sample_mass", 1500.5, {"mission": "CE-5", "sample_type": "CE-5 regolith"})],
    ),
    "telescope": (
        {**FAST_SITE_ATTRIBUTES, "receivers": ["19-beam"], "modes": ["Tracking"]},
        [("lst_hours", 75.5, {"lst_start_h": 0, "lst_end_h": 1})],
    ),
}  # fmt: skip


def _json(v: Any) -> str:
    return json.dumps(v)


def _setup(web: Web, kind: str) -> tuple[str, int, str, dict[str, str]]:
    """A provider with a facility of ``kind`` and its administrator: (provider slug,
    facility id, the administrator's e-mail, API headers)."""
    n = next(_seq)
    with web.factory() as s:
        prov = fs.create_provider(s, name=f"Provider {n}", slug=f"parity-{n}", country_iso3="CHN")
        fac = fs.create_facility(
            s, prov, name=kind, slug=kind, kind=kind, attributes=PRESETS[kind][0]
        )
        admin = F.user(s, email=f"office{n}@parity.example")
        people_services.grant_role(s, admin.id, "provider_admin", provider_id=prov.id)
        raw = people_services.create_api_token(s, admin, "parity")[1]
        s.flush()
        out = (prov.slug, fac.id, admin.email, {"Authorization": f"Bearer {raw}"})
        s.commit()
    return out


def _pools(web: Web, facility_id: int) -> list[tuple[str, str, str, float, dict[str, Any]]]:
    with web.factory() as s:
        rows = s.scalars(
            select(CapacityPool)
            .where(CapacityPool.facility_id == facility_id)
            .order_by(CapacityPool.id)
        )
        return [(p.name, p.pool_type, p.unit, p.amount, p.attributes) for p in rows]


@pytest.mark.parametrize("kind", list(PRESETS))
def test_the_api_makes_the_preset_pools_the_page_makes(web: Web, kind: str) -> None:
    slug, fac_id, email, h = _setup(web, kind)
    page_client, tok = session_client(web, email)
    api = web.client()
    for pool_type, amount, attrs in PRESETS[kind][1]:
        r = page_client.post(
            f"/manage/providers/{slug}/pools",
            data={"csrf_token": tok, "facility_id": str(fac_id), "name": f"page {pool_type}",
                  "pool_type": pool_type, "amount": str(amount), "attributes": _json(attrs)},
        )  # fmt: skip
        assert r.status_code == 303, r.text[:2000]
        r = api.post(
            f"/api/v1/facilities/{fac_id}/pools",
            headers=h,
            json={"name": f"api {pool_type}", "pool_type": pool_type, "amount": amount,
                  "attributes": attrs},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        out = r.json()
        assert (out["pool_type"], out["amount"], out["attributes"]["leg"] if "leg" in attrs
                else None) == (pool_type, amount, attrs.get("leg"))  # fmt: skip
        assert out["whole_units"] is (pool_type in ("berths", "dives", "seats", "packages"))
        assert api.get(f"/api/v1/resources/{out['id']}", headers=h).json() == out
    made = _pools(web, fac_id)
    by_page = [row[1:] for row in made if row[0].startswith("page ")]
    by_api = [row[1:] for row in made if row[0].startswith("api ")]
    assert by_page == by_api and len(by_api) == len(PRESETS[kind][1])
    listed = api.get(f"/api/v1/facilities/{fac_id}", headers=h).json()["resources"]
    assert [r["name"] for r in listed] == [row[0] for row in made]


REFUSALS: list[tuple[Any, ...]] = [
    ({"pool_type": "seats"}, "A vessel offers pools of type berths, dives, not 'seats'."),
    ({"attributes": {**LEG, "route": [[0, 0]]}}, "Invalid capacity pool attributes"),
    ({"amount": 2.5}, "counted in berths offers whole units; 2.5 is not a whole number"),
    ({"amount": 0}, "A capacity pool needs a positive amount."),
    # the page's form says so beside the field before asking the service
    ({"name": "   "}, "A resource needs a name", "This field is required."),
    ({"name": "Leg 2 berths"}, "already has a resource named 'Leg 2 berths'"),
]


def test_the_api_and_the_page_refuse_alike_and_change_nothing(web: Web) -> None:
    slug, fac_id, email, h = _setup(web, "vessel")
    page_client, tok = session_client(web, email)
    api = web.client()
    good = {"name": "Leg 2 berths", "pool_type": "berths", "amount": 12, "attributes": LEG}
    assert api.post(f"/api/v1/facilities/{fac_id}/pools", headers=h, json=good).status_code == 201
    with web.factory() as s:
        before = F.table_counts(s)
    for change, message, *on_page in REFUSALS:
        body = {**good, **change}
        r = api.post(f"/api/v1/facilities/{fac_id}/pools", headers=h, json=body)
        assert r.status_code == 400 and message in r.json()["detail"], (change, r.text)
        form = {**body, "amount": str(body["amount"]), "attributes": _json(body["attributes"])}
        r = page_client.post(
            f"/manage/providers/{slug}/pools",
            data={"csrf_token": tok, "facility_id": str(fac_id), **form},
        )
        assert r.status_code == 400, (change, r.status_code)
        assert (on_page or [message])[0].replace("'", "&#39;") in r.text, change
        with web.factory() as s:
            assert F.table_counts(s) == before, change
    # in the client's language, the unit's label in it
    r = api.post(
        f"/api/v1/facilities/{fac_id}/pools",
        headers={**h, "Accept-Language": "fr"},
        json={**good, "amount": 2.5},
    )
    assert r.status_code == 400 and "couchettes" in r.json()["detail"]
    # resources described by data belong to a custom facility, and preset pools to a
    # preset one: each route refuses the other kind, as the pages do
    r = api.post(
        f"/api/v1/facilities/{fac_id}/resources",
        headers=h,
        json={"name": "Berths", "unit": "berth", "amount": 3},
    )
    assert r.status_code == 400 and "kind custom" in r.json()["detail"]
    with web.factory() as s:
        fac = s.get(Facility, fac_id)
        assert fac is not None
        fac.kind = "custom"
        s.commit()
    r = api.post(f"/api/v1/facilities/{fac_id}/pools", headers=h, json=good)
    assert r.status_code == 400 and "create_resource" in r.json()["detail"]
    # not one's provider: not found
    _slug2, _fac2, _email2, other = _setup(web, "programme")
    r = api.post(f"/api/v1/facilities/{fac_id}/pools", headers=other, json=good)
    assert r.status_code == 404


SHOT = {
    "en": {"one": "shot", "other": "shots"},
    "zh": {"one": "炮", "other": "炮"},
    "fr": {"one": "tir", "other": "tirs"},
    "es": {"one": "disparo", "other": "disparos"},
}


def test_a_unit_declared_whole_through_the_api_and_the_page(web: Web) -> None:
    n = next(_seq)
    with web.factory() as s:
        prov = fs.create_provider(s, name=f"Lab {n}", slug=f"lab-{n}", country_iso3="FRA")
        fac = fs.create_facility(s, prov, name="Tokamak", slug="tok", kind="custom", attributes={})
        admin = F.user(s, email=f"lab{n}@parity.example")
        people_services.grant_role(s, admin.id, "provider_admin", provider_id=prov.id)
        h = {"Authorization": f"Bearer {people_services.create_api_token(s, admin, 't')[1]}"}
        s.flush()
        fac_id, email = fac.id, admin.email
        s.commit()
    api = web.client()
    body = {"name": "Shots", "unit": "shot", "unit_labels": SHOT, "amount": 2.5}
    r = api.post(
        f"/api/v1/facilities/{fac_id}/resources",
        headers={**h, "Accept-Language": "es"},
        json={**body, "whole_units": True},
    )
    assert r.status_code == 400 and "disparos" in r.json()["detail"]
    assert r.json()["params"]["unit"] == "shots"
    r = api.post(
        f"/api/v1/facilities/{fac_id}/resources",
        headers=h,
        json={**body, "whole_units": True, "amount": 20},
    )
    assert r.status_code == 201 and r.json()["whole_units"] is True
    pool_id = r.json()["id"]
    r = api.patch(f"/api/v1/resources/{pool_id}", headers=h, json={"amount": 19.5})
    assert r.status_code == 400 and "whole number" in r.json()["detail"]
    r = api.patch(f"/api/v1/resources/{pool_id}", headers=h, json={"whole_units": None})
    assert r.status_code == 422
    r = api.patch(f"/api/v1/resources/{pool_id}", headers=h, json={"name": "Shots II"})
    assert r.status_code == 200 and r.json()["whole_units"] is True
    r = api.patch(f"/api/v1/resources/{pool_id}", headers=h, json={"whole_units": False})
    assert r.status_code == 200 and r.json()["whole_units"] is False
    # the page: the same field, the same refusal, in the visitor's language
    client, tok = session_client(web, email)
    client.cookies.set("oc_lang", "zh")
    form = {"csrf_token": tok, "name": "Samples", "unit": "own", "unit_key": "shot",
            "amount": "1.5", "whole_units": "on"}  # fmt: skip
    for lg, forms in SHOT.items():
        form[f"label_{lg}_one"], form[f"label_{lg}_other"] = forms["one"], forms["other"]
    r = client.post(f"/manage/facilities/{fac_id}/resources", data=form)
    assert r.status_code == 400 and "1.5" in r.text and "炮" in r.text
    r = client.post(f"/manage/facilities/{fac_id}/resources", data={**form, "amount": "4"})
    assert r.status_code == 303, r.text[:2000]
    with web.factory() as s:
        made = s.scalar(select(CapacityPool).where(CapacityPool.name == "Samples",
                                                   CapacityPool.facility_id == fac_id))  # fmt: skip
        assert made is not None and made.whole_units
        edit = client.get(f"/manage/resources/{made.id}/edit").text
    assert 'name="whole_units" checked' in edit


def test_declaring_whole_units_later_is_refused_while_a_call_offers_a_fraction(web: Web) -> None:
    n = next(_seq)
    with web.factory() as s:
        prov = fs.create_provider(s, name=f"Lab {n}", slug=f"lab-{n}", country_iso3="FRA")
        fac = fs.create_facility(s, prov, name="Tokamak", slug="tok", kind="custom", attributes={})
        gas = fs.create_resource(s, fac, name="Gas", unit="shot", unit_labels=SHOT, amount=20)
        call = cryo_call(s, fac, [gas], 2.5)
        admin = F.user(s, email=f"lab{n}@parity.example")
        people_services.grant_role(s, admin.id, "provider_admin", provider_id=prov.id)
        h = {"Authorization": f"Bearer {people_services.create_api_token(s, admin, 't')[1]}"}
        s.flush()
        pool_id, code, email = gas.id, call.code, admin.email
        s.commit()
    api = web.client()
    r = api.patch(
        f"/api/v1/resources/{pool_id}",
        headers={**h, "Accept-Language": "fr"},
        json={"whole_units": True, "name": "Gaz"},
    )
    assert r.status_code == 400, r.text
    assert r.json()["detail"] == (
        "'Gas' ne peut pas être compté en unités entières tant que des quantités offertes "
        f"ou demandées ne sont pas des nombres entiers (1, dans les appels {code}) ; "
        "rendez-les d'abord entières."
    )
    # the page: the same refusal, shown under the box, in the visitor's language
    client, tok = session_client(web, email)
    client.cookies.set("oc_lang", "es")
    form = {"csrf_token": tok, "name": "Gas", "unit": "own", "unit_key": "shot",
            "amount": "20", "whole_units": "on"}  # fmt: skip
    for lg, forms in SHOT.items():
        form[f"label_{lg}_one"], form[f"label_{lg}_other"] = forms["one"], forms["other"]
    r = client.post(f"/manage/resources/{pool_id}", data=form)
    assert r.status_code == 400 and f"(1, en las convocatorias {code})" in r.text
    with web.factory() as s:
        kept = s.get(CapacityPool, pool_id)
        assert kept is not None and kept.name == "Gas" and not kept.whole_units
