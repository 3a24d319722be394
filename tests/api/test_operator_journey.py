"""An operator's whole journey through the JSON API only, on a fresh install
(database upgraded, reference data loaded, no demo data).

The only steps outside the API are the ones an operator does outside it too: the
first site administrator (``opencall admin create``: here its service), the people's
accounts (registration on the site) and their personal API tokens (made on
/account/tokens), the e-mailed links (read from the outgoing mail), the job worker
(which runs the queued steps), and the facility (:func:`setup_facility`: the
facilities/resources API is built separately; swap it in there).

Then: a provider with its administrator; a dual-anonymous call with a policy of
at most one award per PI and at least 30 % of the capacity to applicants from low-
and lower-middle-income countries; a panel of six reviewers recruited by invitation;
30 applicants from more than 20 countries (five of them with a second proposal, one
asking for two samples as one all-or-nothing bundle); review, rank, allocate,
schedule, release, publish; and the who-benefits report, whose figures must match
what was awarded.
"""

from __future__ import annotations

import datetime as dt
import email
import re
from collections import Counter, defaultdict
from typing import Any

import pytest
from sqlalchemy import select

from opencall import jobs
from opencall.facilities import services as fac_services
from opencall.facilities.models import Provider
from opencall.outcomes.api import ReportOut
from opencall.people import services as people_services
from opencall.people.models import Country
from tests.journeys import (  # noqa: F401  (the journeys' set-up, imported from here by others)
    PASSWORD,
    Client,
    account,
    ask_for,
    open_call,
    open_facility,
    signed_in,
)
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

# 30 applicants: (country, second proposal?) — 12 from low- and lower-middle-income
# countries, 18 from others; 24 countries in all
APPLICANTS = [
    ("ETH", False),
    ("UGA", False),
    ("RWA", False),
    ("MWI", False),
    ("KEN", False),
    ("GHA", False),
    ("BGD", False),
    ("IND", False),
    ("NPL", False),
    ("SEN", False),
    ("KEN", False),
    ("BOL", False),
    ("DEU", True),
    ("FRA", True),
    ("USA", True),
    ("JPN", True),
    ("GBR", True),
    ("CAN", False),
    ("AUS", False),
    ("CHE", False),
    ("NLD", False),
    ("SWE", False),
    ("BRA", False),
    ("CHN", False),
    ("ZAF", False),
    ("MEX", False),
    ("DEU", False),
    ("FRA", False),
    ("USA", False),
    ("THA", False),
]
MASS_MG = 100.0
REGOLITH_MG = 1500.0  # 15 requests of 100 mg
BRECCIA_MG = 200.0


def applicant_draft(web: Web, slug: str, address: str, iso3: str, title: str) -> tuple[Client, int]:
    """An applicant of ``iso3`` registered as ``address`` (a university of that country)
    and their draft proposal ``title`` to the call ``slug``: the client and the draft's id."""
    ac = account(web, address, f"Team {iso3}", country_iso3=iso3,
                 institution=f"University of {iso3}")  # fmt: skip
    body = {"call": slug, "title": title, "abstract": "Plan.", "science_case": "Case."}
    return ac, int(ac.post("/api/v1/proposals", body)["id"])


def run_jobs(web: Web) -> None:
    jobs.run_pending(web.factory, web.app.state.jobs, limit=10_000)


def run_step(web: Web, client: Client, slug: str, step: str) -> None:
    """Start a cycle step of the call as ``client``, run the queue, and check the
    step's job ended done (its record in the failure message otherwise)."""
    job = client.post(f"/api/v1/calls/{slug}/steps/{step}", {"seed": 1})
    run_jobs(web)
    done = client.get(f"/api/v1/jobs/{job['id']}")
    assert done["status"] == "done", done


def close_and_assign(web: Web, office: Client, slug: str) -> None:
    """Close the call, open its review, and run the conflict, affinity and assignment steps."""
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "closed", "reason": "deadline"})
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "review"})
    for step in ("conflicts", "affinity", "assignment"):
        run_step(web, office, slug, step)


def calibrate_to_schedule(web: Web, office: Client, slug: str) -> None:
    """From the given reviews: calibrate, rank (frozen), allocate and schedule the call."""
    run_step(web, office, slug, "calibration")
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "ranking"})
    office.post(f"/api/v1/calls/{slug}/ranking/freeze")
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "allocation"})
    run_step(web, office, slug, "allocation")
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "scheduling"})
    run_step(web, office, slug, "scheduling")


def text_of(html: str) -> str:
    """The visible text of a page: tags dropped, runs of white space made one space."""
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))


def mail_links(web: Web, pattern: str) -> dict[str, str]:
    """{recipient: first match of ``pattern``} over the outgoing mail."""
    out = {}
    for path in sorted(web.settings.mail_dir.glob("*.eml")):
        msg = email.message_from_bytes(path.read_bytes())
        part = next(p for p in msg.walk() if p.get_content_type() == "text/plain")
        body = part.get_payload(decode=True).decode()
        m = re.search(pattern, body)
        if m:
            out[str(msg["To"])] = m.group(1)
    return out


def setup_facility(web: Web, provider_slug: str, admin: Client) -> dict[str, Any]:
    """The facility and its capacity (one function, so the lead can swap in the
    cryo-EM facility built through the facilities/resources API): a lunar-sample
    collection (preset kind ``samples``) with two sample types offered by mass."""
    with web.factory() as s:
        provider = s.scalar(select(Provider).where(Provider.slug == provider_slug))
        assert provider is not None
        fac = fac_services.create_facility(
            s,
            provider,
            name="Lunar sample curation",
            slug="lunar-samples",
            kind="samples",
            attributes={"missions": ["CE-5"]},
        )
        regolith = fac_services.create_pool(
            s,
            fac,
            name="CE-5 regolith",
            pool_type="sample_mass",
            amount=REGOLITH_MG,
            attributes={"mission": "CE-5", "sample_type": "CE-5 regolith"},
        )
        breccia = fac_services.create_pool(
            s,
            fac,
            name="CE-5 breccia",
            pool_type="sample_mass",
            amount=BRECCIA_MG,
            attributes={"mission": "CE-5", "sample_type": "CE-5 breccia"},
        )
        s.commit()
        return {
            "facility": fac.slug,
            "main": {"pool_id": regolith.id, "sample_type": "CE-5 regolith"},
            "extra": {"pool_id": breccia.id, "sample_type": "CE-5 breccia"},
        }


def request_body(version: int, pool: dict[str, Any], bundle: str | None = None) -> dict[str, Any]:
    return {
        "version": version,
        "kind": "sample",
        "pool_id": pool["pool_id"],
        "details": {"sample_type": pool["sample_type"], "mass_mg": MASS_MG},
        "bundle": bundle,
    }


def test_operator_journey_through_the_api(web: Web, one_loop: None) -> None:
    # ---- a fresh install: reference data, no demo, no one
    with web.factory() as s:
        income = {c.iso3: c.income_group for c in s.scalars(select(Country))}
        assert len(income) > 200
        assert s.scalar(select(Provider.id)) is None
    # ---- the first site administrator (opencall admin create) and their token
    with web.factory() as s:
        root, _link = people_services.create_site_admin(
            s, email="root@opencall.example", name="Site Admin", password=PASSWORD
        )
        _t, raw = people_services.create_api_token(s, root, "setup")
        s.commit()
    admin = Client(web, raw)
    assert admin.get("/api/v1/me")["email"] == "root@opencall.example"

    # ---- a provider and its administrator (the user office)
    prov = admin.post(
        "/api/v1/providers",
        {"name": "Lunar Sample Consortium", "slug": "lunar", "country_iso3": "CHN"},
    )
    assert prov["slug"] == "lunar"
    admin.post(
        "/api/v1/providers",
        {"name": "Again", "slug": "lunar", "country_iso3": "CHN"},
        status=400,
    )
    office = account(web, "office@lunar.example", "Office Head", country_iso3="CHN")
    given = admin.post(
        "/api/v1/providers/lunar/roles", {"email": "office@lunar.example", "role": "provider_admin"}
    )
    assert given["granted"]["role"] == "provider_admin"

    fac = setup_facility(web, "lunar", admin)

    # ---- a dual-anonymous call with the policy
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    call = office.post(
        "/api/v1/calls",
        {
            "provider": "lunar",
            "facility": fac["facility"],
            "slug": "lunar-2028",
            "code": "LS28",
            "title": "Lunar sample loans 2028",
            "cycle": "2028",
            "opens_at": (now - dt.timedelta(days=1)).isoformat(),
            "closes_at": (now + dt.timedelta(days=30)).isoformat(),
            "anonymity": "dual",
            "review_settings": {"reviewers_per_proposal": 3, "max_load": 25},
            "allocation_policy": {
                "award_mode": "whole",
                "pi_cap_awards": 1,
                "group_shares": [{"group": "low_lmic", "min_share": 0.3}],
            },
            "offer_all_pools": True,
        },
    )
    assert call["status"] == "draft" and call["anonymity"] == "dual"
    assert {p["pool_id"] for p in call["pools"]} == {
        fac["main"]["pool_id"],
        fac["extra"]["pool_id"],
    }
    # a bad policy is refused, naming the field, and changes nothing
    r = office.send(
        "PATCH",
        "/api/v1/calls/lunar-2028",
        {"allocation_policy": {"group_shares": [{"group": "low_lmic", "min_share": 1.5}]}},
        status=400,
    )
    assert "allocation" in r["detail"] and "min_share" in r["detail"]
    office.send("PATCH", "/api/v1/calls/lunar-2028", {"description": "Loans of CE-5 samples."})
    assert (
        office.post("/api/v1/calls/lunar-2028/transition", {"target": "open"})["status"] == "open"
    )
    public = Client(web, "").http.get("/api/v1/calls/lunar-2028")
    assert public.status_code == 200 and public.json()["status"] == "open"

    # ---- the chair
    chair = account(web, "chair@lunar.example", "Panel Chair", country_iso3="FRA")
    office.post(
        "/api/v1/providers/lunar/roles",
        {"email": "chair@lunar.example", "role": "chair", "call": "lunar-2028"},
    )

    # ---- six reviewers recruited by invitation
    reviewers = {
        f"rev{i}@panel.example": account(
            web,
            f"rev{i}@panel.example",
            f"Reviewer {i}",
            country_iso3=["ITA", "IND", "BRA", "KEN", "JPN", "CAN"][i],
            institution=f"Panel University {i}",
        )
        for i in range(6)
    }
    for i, rc in enumerate(reviewers.values()):
        rc.send("PUT", "/api/v1/me/expertise", {"keywords": f"regolith, space weathering {i}"})
    made = chair.post(
        "/api/v1/calls/lunar-2028/reviewer-invitations", {"emails": sorted(reviewers)}
    )
    assert len(made) == 6
    run_jobs(web)
    links = mail_links(web, r"/review/invitations/(\S+)")
    assert set(reviewers) <= set(links)
    for addr, rc in reviewers.items():
        ans = rc.post(
            "/api/v1/review-invitations/answer",
            {"token": links[addr], "accept": True, "max_load": 25},
        )
        assert ans["status"] == "accepted"
    pool = chair.get("/api/v1/calls/lunar-2028/reviewer-pool")["items"]
    assert {m["email"] for m in pool} == set(reviewers)

    # ---- 30 applicants from 24 countries
    assert len({c for c, _ in APPLICANTS}) >= 20
    applicants: dict[int, Client] = {}
    pi_of: dict[str, int] = {}  # proposal code -> applicant
    country_of: dict[str, str] = {}  # proposal code -> PI's country
    team_secrets: dict[str, list[str]] = {}  # proposal code -> names, institution, e-mail
    bundled = ""
    for i, (iso3, twice) in enumerate(APPLICANTS):
        name = f"Applicant{i:02d} Surname{i:02d}"
        inst = f"Institute Number {i:02d} of {iso3}"
        addr = f"pi{i:02d}@applicants.example"
        ac = account(web, addr, name, country_iso3=iso3, institution=inst)
        applicants[i] = ac
        for k in range(2 if twice else 1):
            p = ac.post(
                "/api/v1/proposals",
                {
                    "call": "lunar-2028",
                    "title": f"Space weathering of regolith grains, study {i}-{k}",
                    "abstract": "We measure nanophase iron in returned grains.",
                    "science_case": "Returned samples calibrate remote sensing of the Moon.",
                },
            )
            assert p["status"] == "draft" and p["members"][0]["email"] == addr
            v = p["version"]
            if i == 5 and k == 0:  # one asks for two samples, all or nothing
                p = ac.post(
                    f"/api/v1/proposals/{p['id']}/requests",
                    request_body(v, fac["main"], bundle="pair"),
                )
                p = ac.post(
                    f"/api/v1/proposals/{p['id']}/requests",
                    request_body(p["version"], fac["extra"], bundle="pair"),
                )
                assert [r["bundle"] for r in p["requests"]] == ["pair", "pair"]
                bundled = p["code"]
            else:
                p = ac.post(f"/api/v1/proposals/{p['id']}/requests", request_body(v, fac["main"]))
            p = ac.post(f"/api/v1/proposals/{p['id']}/submit")
            assert p["status"] == "submitted" and p["problems"] == []
            pi_of[p["code"]] = i
            country_of[p["code"]] = iso3
            team_secrets[p["code"]] = [name, f"Surname{i:02d}", inst, addr]
    assert len(pi_of) == 35 and len({country_of[c] for c in pi_of}) >= 20

    # ---- close, conflicts, affinity, assignment (jobs)
    office.post("/api/v1/calls/lunar-2028/transition", {"target": "closed"}, status=400)
    closed = office.post(
        "/api/v1/calls/lunar-2028/transition",
        {"target": "closed", "reason": "all expected proposals are in"},
    )
    assert closed["status"] == "closed"
    office.post("/api/v1/calls/lunar-2028/transition", {"target": "review"})
    for step in ("conflicts", "affinity", "assignment"):
        run_step(web, chair, "lunar-2028", step)

    # ---- review: nothing of the team reaches a reviewer
    grade_of: dict[str, float] = {}
    for c in pi_of:
        low = income[country_of[c]] in ("low", "lower-middle")
        grade_of[c] = (3.0 if low else 4.4) + (pi_of[c] % 5) * 0.1
    n_reviews = 0
    for rc in reviewers.values():
        mine = rc.get("/api/v1/assignments", limit=200)["items"]
        for a in mine:
            r = rc.http.get(f"/api/v1/assignments/{a['id']}", headers=rc.headers)
            assert r.status_code == 200
            for secret in team_secrets[a["proposal_code"]]:
                assert secret not in r.text, f"a reviewer sees {secret!r}"
            assert r.json()["content"]["team"] == []
            rc.post(f"/api/v1/assignments/{a['id']}/respond", {"accept": True})
            rc.post(
                f"/api/v1/assignments/{a['id']}/review",
                {
                    "grade": grade_of[a["proposal_code"]],
                    "confidence": 4,
                    "comments_to_applicants": "Clear plan; the sample mass is justified.",
                },
            )
            n_reviews += 1
    assert n_reviews == 35 * 3
    # the chair does not see the teams before the ranking is frozen
    listed = chair.http.get("/api/v1/calls/lunar-2028/proposals?limit=200", headers=chair.headers)
    assert listed.json()["identities_shown"] is False
    assert not any(s in listed.text for secrets in team_secrets.values() for s in secrets)

    # ---- rank, freeze, allocate
    run_step(web, chair, "lunar-2028", "calibration")
    office.post("/api/v1/calls/lunar-2028/transition", {"target": "ranking"})
    ranking = chair.get("/api/v1/calls/lunar-2028/ranking", limit=200)["items"]
    assert len(ranking) == 35
    assert chair.post("/api/v1/calls/lunar-2028/ranking/freeze")["ranking_frozen_at"]
    office.post("/api/v1/calls/lunar-2028/transition", {"target": "allocation"})
    run_step(web, chair, "lunar-2028", "allocation")
    decisions = chair.get("/api/v1/calls/lunar-2028/decisions", limit=200)["items"]
    assert len(decisions) == 35

    # ---- schedule, release, publish
    office.post("/api/v1/calls/lunar-2028/transition", {"target": "scheduling"})
    run_step(web, chair, "lunar-2028", "scheduling")
    office.post("/api/v1/calls/lunar-2028/publish", status=404)  # not released yet
    assert chair.post("/api/v1/calls/lunar-2028/release")["decisions_released_at"]
    assert office.post("/api/v1/calls/lunar-2028/publish")["status"] == "published"

    # ---- what was awarded (public once published)
    anyone = web.client()
    awards = anyone.get("/api/v1/calls/lunar-2028/awards?limit=200").json()["items"]
    assert awards
    amount_of: dict[str, float] = defaultdict(float)
    for a in awards:
        amount_of[a["proposal_code"]] += a["amount"]
        assert a["unit"] == "mg"
    total = sum(amount_of.values())
    assert total <= REGOLITH_MG + BRECCIA_MG + 1e-6
    # at most one award per PI
    per_pi = Counter(pi_of[c] for c in amount_of)
    assert max(per_pi.values()) == 1
    # at least 30 % to low- and lower-middle-income applicants
    low = sum(v for c, v in amount_of.items() if income[country_of[c]] in ("low", "lower-middle"))
    assert low / total >= 0.3 - 1e-9
    # the bundle: both of its requests or neither
    bundle_awards = [a for a in awards if a["proposal_code"] == bundled]
    assert len(bundle_awards) in (0, 2)
    # the applicants see their own outcome
    for ac in applicants.values():
        mine = ac.get("/api/v1/proposals")["items"]
        for p in mine:
            out = ac.get(f"/api/v1/proposals/{p['id']}/outcome")
            awarded = sum(a["amount"] for a in out["awards"])
            assert awarded == pytest.approx(amount_of.get(p["code"], 0.0))
            assert out["outcome"].startswith("awarded") == (p["code"] in amount_of)

    # ---- the who-benefits report matches what was awarded
    report = office.get("/api/v1/calls/lunar-2028/report")
    ReportOut.model_validate(report)  # the typed schema of the OpenAPI document fits it
    assert report["n_applications"] == 35
    rows = report["funnels"]["income_group"]
    awarded_rows = {r["group"]: r for r in rows if r["stage"] == "awarded"}
    expected_n: Counter[str] = Counter()
    expected_mg: dict[str, float] = defaultdict(float)
    for c, v in amount_of.items():
        expected_n[income[country_of[c]]] += 1
        expected_mg[income[country_of[c]]] += v
    for group, n in expected_n.items():
        assert awarded_rows[group]["count"] == n, (group, awarded_rows[group])
        assert awarded_rows[group]["amount_awarded"] == pytest.approx(expected_mg[group])
    reported_total = sum(r["amount_awarded"] for g, r in awarded_rows.items() if g in expected_n)
    assert reported_total == pytest.approx(total)
    applied = Counter(income[country_of[c]] for c in pi_of)
    for group, n in applied.items():
        assert awarded_rows[group]["applied"] == n
    assert awarded_rows["all"]["count"] == len(amount_of)
    assert awarded_rows["all"]["amount_awarded"] == pytest.approx(total)
    # the share the policy asked for, as the report states it
    low_share = (
        sum(awarded_rows[g]["amount_awarded"] for g in ("low", "lower-middle") if g in awarded_rows)
        / awarded_rows["all"]["amount_awarded"]
    )
    assert low_share >= 0.3 - 1e-9
