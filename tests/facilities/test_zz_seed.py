from __future__ import annotations
import datetime as dt
import pytest
from opencall.people import services as people_services
from tests.api.test_operator_journey import PASSWORD, Client, account
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def test_seed(web: Web) -> None:
    with web.factory() as s:
        root, _ = people_services.create_site_admin(
            s, email="root@x.example", name="Root", password=PASSWORD
        )
        _t, raw = people_services.create_api_token(s, root, "setup")
        s.commit()
    admin = Client(web, raw)
    admin.post("/api/v1/providers", {"name": "Gene bank", "slug": "gb", "country_iso3": "ETH"})
    office = account(web, "office@gb.example", "Office", country_iso3="ETH")
    admin.post(
        "/api/v1/providers/gb/roles", {"email": "office@gb.example", "role": "provider_admin"}
    )
    fac = office.post(
        "/api/v1/providers/gb/facilities", {"name": "Seeds", "slug": "seeds", "kind": "custom"}
    )
    fields = [
        {
            "key": "dest",
            "type": "choice",
            "labels": {"en": "Destination country", "zh": "目的国"},
            "options": ["KEN", "UGA", "NPL"],
            "required": True,
        },
        {
            "key": "export",
            "type": "text",
            "labels": {"en": "Export restriction"},
            "max_length": 300,
        },
    ]
    r = office.http.post(
        f"/api/v1/facilities/{fac['id']}/resources",
        headers=office.headers,
        json={
            "name": "Teff accession ET-123",
            "unit": "g",
            "amount": 500,
            "request_fields": fields,
        },
    )
    print("RES", r.status_code, r.text[:300])
    pool = r.json()
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    office.post(
        "/api/v1/calls",
        {
            "provider": "gb",
            "facility": "seeds",
            "slug": "gb-28",
            "code": "GB",
            "title": "Seeds",
            "cycle": "2028",
            "opens_at": (now - dt.timedelta(days=1)).isoformat(),
            "closes_at": (now + dt.timedelta(days=3)).isoformat(),
            "anonymity": "open",
        },
    )
    for amt in (500.0001, 0, -1, 500):
        r = office.http.post(
            "/api/v1/calls/gb-28/pools",
            headers=office.headers,
            json={"pool_id": pool["id"], "amount": amt},
        )
        print("OFFER", amt, r.status_code, r.text[:250])
    office.post("/api/v1/calls/gb-28/transition", {"target": "open"})
    ap = account(web, "pi@np.example", "Sita", country_iso3="NPL", institution="TU")
    p = ap.post(
        "/api/v1/proposals",
        {"call": "gb-28", "title": "Teff", "abstract": "a", "science_case": "b"},
    )
    for d in (
        {"amount": 500.5, "dest": "NPL"},
        {"amount": 10, "dest": ""},
        {"amount": 10, "dest": "npl"},
        {"amount": 10, "dest": "NPL", "export": "x" * 301},
        {"amount": 0.001, "dest": "NPL", "export": "SMTA; no re-export"},
        {"amount": "1e400", "dest": "NPL"},
        {"amount": True, "dest": "NPL"},
    ):
        v = ap.get(f"/api/v1/proposals/{p['id']}/full")["version"]
        r = ap.http.post(
            f"/api/v1/proposals/{p['id']}/requests",
            headers=ap.headers,
            json={"version": v, "kind": "custom", "pool_id": pool["id"], "details": d},
        )
        print("REQ", {k: str(v)[:20] for k, v in d.items()}, r.status_code, r.text[:200])
    r = ap.http.get(f"/proposals/{p['id']}")
    print("ZH", office.http.get(f"/calls/gb-28", headers={"Accept-Language": "zh"}).status_code)
