"""A supercomputer centre in Asia/Shanghai, set up by its operator through the JSON API
and the pages, with applicants in UTC-5 and UTC+1.

Two partitions (CPU and GPU) counted in node-hours, a unit the operator names in
en/zh/fr/es; a minimum request per partition (the call refuses less, and a partial
award never gives less); storage in TB on the request form; partial awards. The
operator gives the call's dates in Shanghai time (+08:00): every page, API answer,
receipt and refusal then says the same instant, in UTC and labelled so, and the
deadline is judged to the second whatever the offset the instant is written in.
"""

from __future__ import annotations

import datetime as dt
import email
import email.policy
import re
from collections import defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from opencall.calls.domain import require_open
from opencall.errors import DomainError
from opencall.inputs import local_number
from opencall.people import services as people_services
from opencall.people.models import Country
from tests.api.test_genebank_journey import review_and_publish
from tests.api.test_operator_journey import PASSWORD, Client, account, run_jobs
from tests.web.conftest import Web, csrf, said_to

pytestmark = pytest.mark.filterwarnings("ignore")

SHANGHAI = dt.timezone(dt.timedelta(hours=8), "Asia/Shanghai")
BOGOTA = dt.timezone(dt.timedelta(hours=-5))  # UTC-5 all year (no summer time)
LAGOS = dt.timezone(dt.timedelta(hours=1))  # UTC+1 all year
NODE_HOURS = {
    "en": {"one": "node-hour", "other": "node-hours"},
    "zh": {"one": "节点时", "other": "节点时"},
    "fr": {"one": "heure-nœud", "other": "heures-nœud"},
    "es": {"one": "hora-nodo", "other": "horas-nodo"},
}
STORAGE = {"key": "storage_tb", "type": "number", "unit": "TB", "min": 0, "max": 500,
           "required": True, "labels": {"en": "Storage", "zh": "存储", "fr": "Stockage",
                                        "es": "Almacenamiento"}}  # fmt: skip
CODE = {"key": "code", "type": "text", "labels": {"en": "Application code"}, "max_length": 200}
# applicants: UTC-5 (Colombia, Peru, Ecuador, Panama, Jamaica) and UTC+1 (Nigeria,
# Cameroon, Algeria, Tunisia, Angola, Congo)
WEST = ["COL", "PER", "ECU", "PAN", "JAM"]
EAST = ["NGA", "CMR", "DZA", "TUN", "AGO", "COD"]
MIN_CPU, MIN_GPU = 50_000, 5_000


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def ask(ac: Client, pid: int, pool: int, amount: float, status: int | None = None,
        **details: Any) -> Any:  # fmt: skip
    version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
    body = {"version": version, "kind": "custom", "pool_id": pool,
            "details": {"amount": amount, **details}}  # fmt: skip
    return ac.post(f"/api/v1/proposals/{pid}/requests", body, status=status)


def utc_text(d: dt.datetime, lang: str = "en") -> str:
    """A moment as a reader without an account reads it (trialapp16: in UTC, named, in
    their language's format), as ``text_of`` gives a page."""
    return said_to(None, None, d, lang)


def test_a_supercomputer_in_shanghai_with_applicants_abroad(web: Web, one_loop: None) -> None:
    with web.factory() as s:
        ldc = {c.iso3 for c in s.scalars(select(Country)) if c.ldc}
        root, _link = people_services.create_site_admin(
            s, email="root@hpc.example", name="Site Admin", password=PASSWORD
        )
        _t, raw = people_services.create_api_token(s, root, "setup")
        s.commit()
    admin = Client(web, raw)
    admin.post(
        "/api/v1/providers", {"name": "Shanghai HPC Centre", "slug": "shpc", "country_iso3": "CHN"}
    )
    office = account(web, "office@shpc.example", "Office Head", country_iso3="CHN", language="zh")
    admin.post(
        "/api/v1/providers/shpc/roles", {"email": "office@shpc.example", "role": "provider_admin"}
    )
    fac = office.post(
        "/api/v1/providers/shpc/facilities",
        {"name": "Sunrise supercomputer", "slug": "sunrise", "kind": "custom"},
    )
    res = f"/api/v1/facilities/{fac['id']}/resources"
    period = {"period_start": "2028-04-01", "period_end": "2028-09-30"}
    cpu = office.post(res, {"name": "CPU partition", "unit": "node-hour", "amount": 2_000_000,
                            "unit_labels": NODE_HOURS, "request_fields": [STORAGE, CODE],
                            **period})  # fmt: skip
    gpu = office.post(res, {"name": "GPU partition", "unit": "node-hour", "amount": 200_000,
                            "unit_labels": NODE_HOURS, "request_fields": [STORAGE, CODE],
                            **period})  # fmt: skip
    assert cpu["calendar"]["slot_capacity"] is None and cpu["unit_label_other"] == "node-hours"

    # ---- the call's dates, written by the operator in Shanghai time
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    opens = (now - dt.timedelta(days=1)).replace(minute=0, second=0).astimezone(SHANGHAI)
    closes = (now + dt.timedelta(days=20)).replace(hour=9, minute=0, second=0)
    closes = closes.astimezone(SHANGHAI)  # 17:00 in Shanghai, 09:00 UTC, 04:00 in Bogotá
    assert closes.hour == 17
    call = office.post("/api/v1/calls", {
        "provider": "shpc", "facility": "sunrise", "slug": "sunrise-2028", "code": "SR28",
        "cycle": "2028A", "title": "Sunrise allocations, April-September 2028",
        "opens_at": opens.isoformat(), "closes_at": closes.isoformat(), "anonymity": "single",
        "review_settings": {"reviewers_per_proposal": 2, "max_load": 80},
        "allocation_policy": {"award_mode": "partial", "min_fraction": 0.01}})  # fmt: skip
    # the API answers the same instant, in UTC
    assert dt.datetime.fromisoformat(call["closes_at"]) == closes
    assert dt.datetime.fromisoformat(call["closes_at"]).utcoffset() == dt.timedelta(0)
    # a minimum per request: positive, at most the offer and the limit; then kept
    r = office.post("/api/v1/calls/sunrise-2028/pools",
                    {"pool_id": cpu["id"], "amount": 800_000, "min_per_request": 900_000},
                    status=400)  # fmt: skip
    assert "minimum per request" in r["detail"] and "900,000" in r["detail"]
    r = office.post("/api/v1/calls/sunrise-2028/pools", {
        "pool_id": cpu["id"], "amount": 800_000, "min_per_request": 60_000,
        "max_per_request": 50_000}, status=400)  # fmt: skip
    assert "limit per request" in r["detail"]
    office.post("/api/v1/calls/sunrise-2028/pools",
                {"pool_id": cpu["id"], "amount": 800_000, "min_per_request": MIN_CPU})  # fmt: skip
    out = office.post("/api/v1/calls/sunrise-2028/pools",
                      {"pool_id": gpu["id"], "amount": 36_000, "min_per_request": MIN_GPU})  # fmt: skip
    assert [p["min_per_request"] for p in out["pools"]] == [MIN_CPU, MIN_GPU]
    office.post("/api/v1/calls/sunrise-2028/transition", {"target": "open"})

    # ---- the call's page, for a visitor in any language: the deadline in UTC, labelled
    anyone = web.client()
    for lang in ("en", "fr", "es", "zh"):
        page = anyone.get("/calls/sunrise-2028", headers={"Accept-Language": lang}).text
        seen = text_of(page)
        assert utc_text(closes, lang) in seen and utc_text(opens, lang) in seen, lang
        assert f'datetime="{closes.astimezone(dt.UTC).isoformat()}"' in page
        assert closes.strftime("%Y-%m-%d 17:00") not in page  # never Shanghai's wall clock
        # the minimums shown, as the reader's language writes numbers
        # ("50,000", "50 000", "50.000"; the page's text with its spaces made plain)
        big, small = (" ".join(local_number(n, lang).split()) for n in (50_000, 5_000))
        assert big in text_of(page) and small in text_of(page), lang
    listing = anyone.get("/calls").text
    assert utc_text(closes) in text_of(listing)

    reviewers = []
    for i, iso3 in enumerate(["CHN", "SGP", "DEU", "BRA"]):
        reviewers.append(account(web, f"rev{i}@panel.example", f"Reviewer {i}",
                                 country_iso3=iso3, institution=f"Panel University {i}"))  # fmt: skip
        office.post("/api/v1/providers/shpc/roles",
                    {"email": f"rev{i}@panel.example", "role": "reviewer"})  # fmt: skip

    # ---- applicants in UTC-5 and UTC+1: a CPU request, and GPU for every other one
    country_of: dict[str, str] = {}
    asked: dict[str, dict[str, float]] = defaultdict(dict)
    pis: dict[str, tuple[int, Client, str]] = {}
    for i, iso3 in enumerate(WEST + EAST):
        lang = "es" if iso3 in WEST and iso3 != "JAM" else ("fr" if iso3 in ("CMR", "DZA", "TUN",
                                                                               "COD") else "en")  # fmt: skip
        address = f"hpc{i:02d}@applicants.example"
        ac = account(web, address, f"Applicant {i}", country_iso3=iso3, language=lang,
                     institution=f"University {i} of {iso3}")  # fmt: skip
        p = ac.post("/api/v1/proposals", {
            "call": "sunrise-2028", "title": f"Climate model ensemble {i}",
            "abstract": "Ensembles.", "science_case": "Regional downscaling."})  # fmt: skip
        pid = p["id"]
        if i == 0:  # below the minimum, no storage, storage past its limit: refused, unchanged
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            r = ask(ac, pid, cpu["id"], MIN_CPU - 1, status=400, storage_tb=10)
            assert "minimum per request" in r["detail"] and "50,000" in r["detail"], r
            assert "node-hours" in r["detail"]
            r = ask(ac, pid, cpu["id"], MIN_CPU, status=400)
            assert "Storage" in r["detail"]
            r = ask(ac, pid, cpu["id"], MIN_CPU, status=400, storage_tb=501)
            assert "Storage" in r["detail"] and "500" in r["detail"]
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
        cpu_amount = 150_000 + 10_000 * i
        p = ask(ac, pid, cpu["id"], cpu_amount, storage_tb=20 + i, code="WRF")
        asked[p["code"]]["CPU partition"] = cpu_amount
        if i % 2 == 0:
            gpu_amount = 12_000 + 1_000 * i
            p = ask(ac, pid, gpu["id"], gpu_amount, storage_tb=5, code="GraphCast")
            asked[p["code"]]["GPU partition"] = gpu_amount
        p = ac.post(f"/api/v1/proposals/{pid}/submit")
        assert p["status"] == "submitted", p
        country_of[p["code"]] = iso3
        pis[p["code"]] = (pid, ac, address)

    # the receipt says when, to the second, its zone named (UTC, or the reader's with
    # its offset: trialapp16)
    run_jobs(web)
    mails = [email.message_from_bytes(m.read_bytes(), policy=email.policy.default)
             for m in sorted(web.settings.mail_dir.glob("*.eml"))]  # fmt: skip
    receipts = [m.get_body(("plain",)).get_content() for m in mails  # type: ignore[union-attr]
                if m["To"] == "hpc00@applicants.example"]  # fmt: skip
    assert receipts and re.search(
        r"\d?\d:\d\d:\d\d (\(UTC\)|\([^)]*, UTC[+-]\d\d:\d\d\))", receipts[-1]
    ), receipts[-1]

    # the deadline to the second, whatever offset the instant is written in: one second
    # before it in Bogotá is open, the instant itself in Lagos is closed (said in UTC)
    require_open("open", opens, closes, (closes - dt.timedelta(seconds=1)).astimezone(BOGOTA))
    with pytest.raises(DomainError) as err:
        require_open("open", opens, closes, closes.astimezone(LAGOS))
    assert closes.astimezone(dt.UTC).strftime("%Y-%m-%d 09:00:00 UTC") in err.value.message

    # ---- the cycle
    slug = "sunrise-2028"
    review_and_publish(web, office, slug, reviewers)

    # ---- awards: within the offers, never below the minimum, partial ones included
    awards = anyone.get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    by_pool: dict[str, float] = defaultdict(float)
    for a in awards:
        by_pool[a["pool"]] += a["amount"]
        least = MIN_CPU if a["pool"] == "CPU partition" else MIN_GPU
        assert least - 1e-6 <= a["amount"] <= asked[a["proposal_code"]][a["pool"]] + 1e-6, a
    assert 0 < by_pool["CPU partition"] <= 800_000 and 0 < by_pool["GPU partition"] <= 36_000
    assert any(a["amount"] < asked[a["proposal_code"]][a["pool"]] - 1 for a in awards), (
        "demand exceeds the offer, so some award should be partial"
    )

    # ---- what applicants abroad read: their outcome and the decisions, in their words
    code = next(c for c in sorted(pis) if any(a["proposal_code"] == c for a in awards))
    pid, ac, address = pis[code]
    c = web.client("es")
    r = c.post("/login", data={"csrf_token": csrf(c), "email": address, "password": PASSWORD})
    assert r.status_code == 303
    page = text_of(c.get(f"/proposals/{pid}/outcome").text)
    assert "horas-nodo" in page and "node-hours" not in page
    dash = c.get("/dashboard").text
    assert said_to(web.factory, address, closes, "es") in text_of(dash)
    zh = web.client("zh")
    r = zh.post(
        "/login",
        data={"csrf_token": csrf(zh), "email": "office@shpc.example", "password": PASSWORD},
    )
    assert r.status_code == 303
    page = text_of(zh.get(f"/manage/calls/{slug}").text)
    assert said_to(web.factory, "office@shpc.example", closes, "zh") in page
    page = text_of(zh.get(f"/manage/calls/{slug}/decisions").text)
    assert "节点时" in page and "node-hour" not in page

    # ---- after the award: node-hours used and storage, reported by group
    for code in sorted({a["proposal_code"] for a in awards}):
        pid, ac, _e = pis[code]
        assert ac.get(f"/api/v1/awards/{pid}")["kinds"] == ["other"]
        ac.post(f"/api/v1/awards/{pid}/records", {
            "kind": "other", "data": {"description": "node-hours used", "used_amount": 40_000,
                                      "started_on": "2028-04-02", "completed": True}})  # fmt: skip
    stage_page = office.get(f"/api/v1/calls/{slug}/postaward", limit=200)  # one page holds them all
    assert stage_page["page"]["next_cursor"] is None
    stages = stage_page["items"]
    assert stages and all(x["used"] and x["completed"] for x in stages)
    report = office.get(f"/api/v1/calls/{slug}/report")
    assert report["call"]["units"] == ["node-hour"]
    awarded = {r["group"]: r for r in report["funnels"]["ldc"] if r["stage"] == "awarded"}
    assert awarded["all"]["amounts"]["node-hour"] == pytest.approx(sum(by_pool.values()))
    assert {"income_group", "un_region", "ldc"} <= set(report["funnels"])
    assert "COD" in ldc and "AGO" in ldc  # two of the applicants are from LDCs
