"""Random facilities through a whole cycle: a property-based trial of the JSON API.

A seeded generator (:func:`facility_spec`) draws a facility nobody wrote by hand: its
resources (built-in units and units of the operator's own, with their words in four
languages, whole or not), their capacities, calendars (slots of 1 to 24 hours from any
hour, in a time zone with a half- or quarter-hour offset or a daylight saving change,
unavailable periods, a changeover) or dated periods or neither; a call's policy (whole or
partial awards, caps per PI, shares and caps by group, limits per resource, its
anonymity); reviewers; applicants from many countries, each asking for a mix of the
resources, some in all-or-nothing bundles, some for more than there is. The operator sets
it up from nothing through the API as the journeys do and drives it through the whole
cycle (open, apply, submit, assign, review, calibrate, allocate, schedule, release,
publish, report). What must hold for ANY facility:

- no answer of the API or of a page is a 5xx, and every refusal is a 4xx that says why;
- what is awarded stays within what each resource offered (and what it has), and within
  what each request asked;
- every booked slot lies inside its resource's period, outside its unavailable time, and
  no two bookings of one resource overlap;
- the report's funnels by income group, UN region and LDC status add up to the
  applications and to the awards, proposal by proposal and unit by unit;
- in a dual-anonymous call, no reviewer and no public page or answer shows a team.

``make test`` runs :data:`N_DEFAULT` seeds (each on SQLite and PostgreSQL);
``OPENCALL_RANDOM_FACILITIES=40`` runs 40, and ``OPENCALL_RANDOM_FACILITIES_FROM=1000``
starts them at seed 1000 (a failure names its seed: rerun it alone with
``-k 'seed_1000'``).
"""

from __future__ import annotations

import datetime as dt
import os
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import pytest
from sqlalchemy import select

from opencall import jobs
from opencall.calls.models import Call
from opencall.outcomes.api import ReportOut
from opencall.people import services as people_services
from opencall.people.models import Country
from opencall.scheduling.models import ScheduleEntry
from tests.api.test_operator_journey import PASSWORD, signed_in
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

N_DEFAULT = 3
N = int(os.environ.get("OPENCALL_RANDOM_FACILITIES", N_DEFAULT))
FROM = int(os.environ.get("OPENCALL_RANDOM_FACILITIES_FROM", 0))
SEEDS = list(range(FROM, FROM + N))

ZONES = [
    "",
    "UTC",
    "Europe/Berlin",
    "America/Santiago",
    "Australia/Sydney",
    "Asia/Kolkata",  # +05:30
    "Asia/Kathmandu",  # +05:45
    "Pacific/Chatham",  # +12:45 / +13:45, daylight saving
    "America/St_Johns",  # -03:30 / -02:30, daylight saving
    "Pacific/Kiritimati",  # +14:00
    "Pacific/Pago_Pago",  # -11:00
]
CUSTOM_UNITS = {
    "flask": ({"one": "flask", "other": "flasks"}, {"one": "烧瓶", "other": "烧瓶"},
              {"one": "flacon", "other": "flacons"}, {"one": "matraz", "other": "matraces"}),
    "core-m": ({"one": "metre of core", "other": "metres of core"}, {"one": "米岩芯", "other": "米岩芯"},
               {"one": "mètre de carotte", "other": "mètres de carotte"},
               {"one": "metro de testigo", "other": "metros de testigo"}),
    "node_h": ({"one": "node-hour", "other": "node-hours"}, {"one": "节点时", "other": "节点时"},
               {"one": "heure-nœud", "other": "heures-nœud"},
               {"one": "hora-nodo", "other": "horas-nodo"}),
}  # fmt: skip
BUILTIN = ["h", "shift", "day", "berth", "dive", "g", "mg", "seat", "package", "session"]
WHOLE = {"shift", "berth", "dive", "seat", "package", "session"}
GROUPS = ["international", "host", "low_lmic", "low", "lower-middle", "ldc"]
NAMES = ["Zhang Wei", "Amara Okafor", "José García-Pérez", "Nguyễn Thị Lan", "Fatima Zahra",
         "Олена Коваленко", "Aroha Ngata", "Søren Kierkegaard", "Priya Raman", "Kwame Mensah"]  # fmt: skip


# ----------------------------------------------------------------------------- the generator


@dataclass
class ResourceSpec:
    name: str
    unit: str
    unit_labels: dict[str, Any] | None
    whole: bool
    amount: float
    slot_hours: float | None = None
    day_start_hour: float = 0.0
    time_zone: str = ""
    period: tuple[str, str] | None = None
    unavailable: list[dict[str, str]] = field(default_factory=list)
    changeover: int = 0


@dataclass
class FacilitySpec:
    seed: int
    country: str
    resources: list[ResourceSpec]
    anonymity: str
    policy: dict[str, Any]
    limits: dict[int, dict[str, float]]  # resource index -> a limit
    pi_caps: dict[int, float]  # resource index -> at most so much per PI
    offer_all: bool
    offer_fraction: list[float]
    reviewers: list[str]  # countries
    per_proposal: int
    applicants: list[tuple[str, int]]  # (country, proposals)
    rng: random.Random


def facility_spec(seed: int, countries: list[str]) -> FacilitySpec:
    """A facility, its call and its people, drawn from ``seed``."""
    rng = random.Random(seed)
    resources: list[ResourceSpec] = []
    for k in range(rng.randint(1, 3)):
        if rng.random() < 0.3:
            unit = rng.choice(sorted(CUSTOM_UNITS))
            labels: dict[str, Any] | None = dict(
                zip(("en", "zh", "fr", "es"), CUSTOM_UNITS[unit], strict=True)
            )
            whole = rng.random() < 0.5
        else:
            unit, labels = rng.choice(BUILTIN), None
            whole = unit in WHOLE
        r = ResourceSpec(name=f"Resource {k} ({unit})", unit=unit, unit_labels=labels,
                         whole=whole, amount=0)  # fmt: skip
        shape = rng.random()
        start = dt.date(2027, 1, 1) + dt.timedelta(days=rng.randint(0, 300))
        end = start + dt.timedelta(days=rng.randint(0, 40))
        if shape < 0.45:  # a slot calendar
            r.slot_hours = rng.choice([1, 2, 3, 4, 6, 8, 12, 24, 1.5])
            r.day_start_hour = rng.choice([0, 0, 6, 8, 17.5, 23])
            r.time_zone = rng.choice(ZONES)
            r.period = (start.isoformat(), end.isoformat())
            r.changeover = rng.choice([0, 0, 1])
            for _ in range(rng.randint(0, 2)):
                day = start + dt.timedelta(days=rng.randint(0, (end - start).days))
                at = dt.datetime.combine(day, dt.time(rng.randint(0, 23)))
                r.unavailable.append({
                    "starts_at": at.isoformat(),
                    "ends_at": (at + dt.timedelta(hours=rng.randint(1, 40))).isoformat(),
                    "reason": "maintenance"})  # fmt: skip
            r.amount = rng.randint(2, 60)
        elif shape < 0.7:  # a dated period (a leg, a launch, a course)
            r.period = (start.isoformat(), end.isoformat())
            r.amount = rng.randint(2, 40) if whole else round(rng.uniform(1, 500), 1)
        else:  # a stock (mass, hours, places) without dates
            r.amount = rng.randint(2, 40) if whole else round(rng.uniform(1, 500), 2)
        resources.append(r)
    policy: dict[str, Any] = {"award_mode": rng.choice(["whole", "partial"])}
    if policy["award_mode"] == "partial":
        policy["min_fraction"] = rng.choice([0.25, 0.5, 1.0])
    if rng.random() < 0.4:
        policy["pi_cap_awards"] = rng.randint(1, 2)
    if rng.random() < 0.5:
        groups = rng.sample(GROUPS, rng.randint(1, 2))
        policy["group_shares"] = [
            {"group": g, "min_share": rng.choice([0.1, 0.2, 0.3, 0.45])} for g in groups
        ]
    if rng.random() < 0.3:
        policy["group_caps"] = [{"per": rng.choice(["country", "income_group", "un_region"]),
                                 "max_awards": rng.randint(1, 3)}]  # fmt: skip
    if rng.random() < 0.2:
        policy["quality_threshold"] = rng.choice([2.0, 3.0])
    limits: dict[int, dict[str, float]] = {}
    for i, r in enumerate(resources):
        if rng.random() < 0.25:
            limits[i] = {"max_per_proposal": max(1, round(r.amount / rng.choice([2, 3, 5])))}
        if rng.random() < 0.15:
            limits.setdefault(i, {})["max_total"] = max(1, round(r.amount * 0.7))
            if limits[i].get("max_per_proposal", 0) > limits[i]["max_total"]:
                limits[i]["max_per_proposal"] = limits[i]["max_total"]
    pi_caps = {i: max(1, round(r.amount / 2)) for i, r in enumerate(resources)
               if rng.random() < 0.15}  # fmt: skip
    n_rev = rng.randint(2, 5)
    return FacilitySpec(
        seed=seed,
        country=rng.choice(countries),
        resources=resources,
        anonymity=rng.choice(["open", "single", "dual"]),
        policy=policy,
        limits=limits,
        pi_caps=pi_caps,
        offer_all=rng.random() < 0.5,
        offer_fraction=[rng.choice([0.3, 0.6, 1.0]) for _ in resources],
        reviewers=rng.sample(countries, n_rev),
        per_proposal=rng.randint(1, min(3, n_rev)),
        applicants=[
            (rng.choice(countries), rng.choice([1, 1, 1, 2])) for _ in range(rng.randint(3, 9))
        ],  # fmt: skip
        rng=rng,
    )


# ----------------------------------------------------------------------------- the client


class Api:
    """One person's JSON API client that checks what any answer must be: never a 5xx,
    and a refusal (4xx) says why in ``detail``; ``ok`` answers are returned."""

    def __init__(self, web: Web, token: str, who: str) -> None:
        self.http = web.client()
        self.headers = {"Authorization": f"Bearer {token}"} if token else {}
        self.who = who
        self.n = 0

    def call(self, method: str, path: str, body: Any = None, **params: Any) -> tuple[int, Any]:
        self.n += 1
        headers = {**self.headers, "Idempotency-Key": f"{self.who}-{self.n}"}
        if method == "GET":
            r = self.http.get(path, headers=self.headers, params=params)
        else:
            r = self.http.request(method, path, headers=headers, json=body)
        assert r.status_code < 500, f"{self.who}: {method} {path} {body}: {r.status_code} {r.text}"
        data = r.json() if r.content and "json" in r.headers.get("content-type", "") else r.text
        if r.status_code >= 400:
            assert isinstance(data, dict), (method, path, r.status_code, data)
            detail = data.get("detail")
            assert isinstance(detail, str) and len(detail.strip()) >= 8, (
                f"{self.who}: {method} {path} {body}: a refusal without a clear message: {data}"
            )
        return r.status_code, data

    def ok(self, method: str, path: str, body: Any = None, **params: Any) -> Any:
        status, data = self.call(method, path, body, **params)
        assert status < 300, f"{self.who}: {method} {path} {body}: {status} {data}"
        return data

    def get(self, path: str, **params: Any) -> Any:
        return self.ok("GET", path, **params)

    def post(self, path: str, body: Any = None) -> Any:
        return self.ok("POST", path, {} if body is None else body)


def person(web: Web, email: str, name: str, **kw: Any) -> Api:
    with web.factory() as s:
        u = people_services.register_user(
            s, email=email, name=name, password=PASSWORD, verified=True, **kw
        )
        _tok, raw = people_services.create_api_token(s, u, "trial")
        s.commit()
    return Api(web, raw, email)


def step(web: Web, office: Api, slug: str, name: str) -> None:
    job = office.post(f"/api/v1/calls/{slug}/steps/{name}", {"seed": 1})
    jobs.run_pending(web.factory, web.app.state.jobs, limit=10_000)
    done = office.get(f"/api/v1/jobs/{job['id']}")
    assert done["status"] == "done", done


# ----------------------------------------------------------------------------- the trial


@dataclass
class World:
    slug: str
    office: Api
    pools: dict[int, dict[str, Any]]  # pool id -> the resource as the API states it
    offered: dict[int, float]
    asked: dict[str, dict[int, float]]  # proposal code -> pool id -> amount asked
    country_of: dict[str, str]
    secrets: dict[str, list[str]]  # proposal code -> names, institution, e-mail
    reviewers: list[Api]
    apps: list[tuple[Api, str, int]] = field(default_factory=list)  # client, e-mail, id


def set_up(web: Web, spec: FacilitySpec) -> World:
    """The facility, its call and its applications, as its operator and applicants make
    them through the API; a refusal on the way is checked and the request made smaller
    or left out, as a person would."""
    rng = spec.rng
    with web.factory() as s:
        root, _link = people_services.create_site_admin(
            s, email="root@trial.example", name="Site Admin", password=PASSWORD
        )
        _t, raw = people_services.create_api_token(s, root, "setup")
        s.commit()
    admin = Api(web, raw, "root")
    admin.post("/api/v1/providers", {"name": f"Facility of seed {spec.seed}", "slug": "trial",
                                     "country_iso3": spec.country})  # fmt: skip
    office = person(web, "office@trial.example", "User Office", country_iso3=spec.country)
    admin.post("/api/v1/providers/trial/roles",
               {"email": "office@trial.example", "role": "provider_admin"})  # fmt: skip
    fac = office.post("/api/v1/providers/trial/facilities",
                      {"name": "A facility nobody imagined", "slug": "fac", "kind": "custom"})  # fmt: skip
    pools: dict[int, dict[str, Any]] = {}
    for r in spec.resources:
        body: dict[str, Any] = {"name": r.name, "unit": r.unit, "amount": r.amount}
        if r.unit_labels:
            body["unit_labels"] = r.unit_labels
        if r.whole and r.unit not in WHOLE:
            body["whole_units"] = True
        if r.period:
            body["period_start"], body["period_end"] = r.period
        if r.slot_hours:
            body.update(slot_hours=r.slot_hours, day_start_hour=r.day_start_hour,
                        time_zone=r.time_zone, unavailable=r.unavailable,
                        changeover_slots=r.changeover)  # fmt: skip
        path = f"/api/v1/facilities/{fac['id']}/resources"
        status, got = office.call("POST", path, body)
        for _ in range(4):  # a refusal says why; the operator adapts as a person would
            if status < 300:
                break
            detail = got["detail"]
            if "in hours" in detail and "slot_hours" not in body:  # a shift needs its length
                body.update(slot_hours=rng.choice([4, 8, 12]), period_start="2027-03-01",
                            period_end="2027-03-10")  # fmt: skip
            elif "at most" in detail and "slot_hours" in body:
                cap = int(detail.split("at most")[1].split()[0].strip(".,:;").replace(",", ""))
                if cap < 1:
                    body.pop("unavailable", None)
                else:
                    body["amount"] = max(1, min(cap, rng.randint(1, cap)))
            else:
                for key in ("slot_hours", "day_start_hour", "time_zone", "unavailable",
                            "changeover_slots"):  # fmt: skip
                    body.pop(key, None)
            status, got = office.call("POST", path, body)
        if status < 300:
            pools[got["id"]] = got
    assert pools, "no resource could be made"

    slug = "trial-call"
    policy = dict(spec.policy)
    ids = list(pools)
    # (a slot calendar may have made a resource smaller than drawn: the limits follow)
    limits = {
        str(ids[i]): {k: min(v, pools[ids[i]]["amount"]) for k, v in lim.items()}
        for i, lim in spec.limits.items()
        if i < len(ids)
    }
    if limits:
        policy["resource_limits"] = limits
    caps = {
        str(ids[i]): min(cap, pools[ids[i]]["amount"])
        for i, cap in spec.pi_caps.items()
        if i < len(ids)
    }
    if caps:
        policy["pi_cap_amount"] = caps
    call_body = {
        "provider": "trial", "facility": "fac", "slug": slug, "code": "TR",
        "cycle": "2027", "title": f"Trial call of seed {spec.seed}",
        "anonymity": spec.anonymity, "allocation_policy": policy,
        "opens_at": "2026-11-01T00:00:00Z", "closes_at": "2026-12-20T00:00:00Z",
        "review_settings": {"reviewers_per_proposal": spec.per_proposal, "max_load": 40},
        "offer_all_pools": spec.offer_all,
    }  # fmt: skip
    status, got = office.call("POST", "/api/v1/calls", call_body)
    if status >= 300:  # a policy the call refuses (a cap of the wrong kind...): a plain one
        call_body["allocation_policy"] = {"award_mode": "whole"}
        office.post("/api/v1/calls", call_body)
    offered: dict[int, float] = {}
    if not spec.offer_all:
        for (pid, pool), frac in zip(pools.items(), spec.offer_fraction, strict=False):
            amount = pool["amount"] * frac
            amount = max(1, int(amount)) if pool["whole_units"] else round(amount, 2)
            path = f"/api/v1/calls/{slug}/pools"
            status, _ = office.call("POST", path, {"pool_id": pid, "amount": amount})
            if status >= 300:  # less than the policy allows of it: what it has left
                office.post(path, {"pool_id": pid})
    for p in office.get(f"/api/v1/calls/{slug}")["pools"]:
        offered[p["pool_id"]] = p["amount"]
    assert offered, "the call offers nothing"
    status, _ = office.call("POST", f"/api/v1/calls/{slug}/transition", {"target": "open"})
    assert status < 300, _

    reviewers = []
    for i, iso3 in enumerate(spec.reviewers):
        email = f"rev{i}@panel.example"
        reviewers.append(person(web, email, f"Reviewer Number{i}", country_iso3=iso3,
                                institution=f"Panel Institute {i}"))  # fmt: skip
        office.post("/api/v1/providers/trial/roles", {"email": email, "role": "reviewer"})

    asked: dict[str, dict[int, float]] = {}
    country_of: dict[str, str] = {}
    secrets: dict[str, list[str]] = {}
    offered_ids = list(offered)
    apps: list[tuple[Api, str, int]] = []
    for i, (iso3, n) in enumerate(spec.applicants):
        name = f"{NAMES[i % len(NAMES)]} Applicant{i:02d}"
        inst = f"Institute Number {i:02d} of {iso3}"
        email = f"pi{i:02d}@applicants.example"
        ac = person(web, email, name, country_iso3=iso3, institution=inst)
        for k in range(n):
            pid = ac.post("/api/v1/proposals", {
                "call": slug, "title": f"Study {i}-{k} with the facility",
                "abstract": "An abstract.", "science_case": "A case."})["id"]  # fmt: skip
            mine: dict[int, float] = {}
            chosen = rng.sample(offered_ids, rng.randint(1, len(offered_ids)))
            bundle = "all" if len(chosen) > 1 and rng.random() < 0.4 else None
            for pool_id in chosen:
                pool = pools[pool_id]
                top = offered[pool_id] * rng.choice([0.1, 0.3, 0.6, 1.0, 1.5])
                amount = max(1, round(top)) if pool["whole_units"] else round(max(0.5, top), 2)
                version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
                req = {"version": version, "kind": "custom", "pool_id": pool_id,
                       "bundle": bundle, "details": {"amount": amount}}  # fmt: skip
                status, got = ac.call("POST", f"/api/v1/proposals/{pid}/requests", req)
                if status >= 300:  # too much, or not a whole number: a smaller one
                    req["details"]["amount"] = 1
                    status, got = ac.call("POST", f"/api/v1/proposals/{pid}/requests", req)
                if status < 300:
                    mine[pool_id] = mine.get(pool_id, 0) + req["details"]["amount"]
            status, p = ac.call("POST", f"/api/v1/proposals/{pid}/submit")
            if status >= 300:  # a compulsory bundle or another rule: said, then left out
                continue
            assert p["status"] == "submitted", p
            asked[p["code"]] = mine
            apps.append((ac, email, pid))
            country_of[p["code"]] = iso3
            secrets[p["code"]] = [name, inst, email]
    return World(slug, office, pools, offered, asked, country_of, secrets, reviewers, apps)


def run_cycle(web: Web, w: World, rng: random.Random, dual: bool) -> None:
    office, slug = w.office, w.slug
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "closed", "reason": "deadline"})
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "review"})
    for name in ("conflicts", "affinity", "assignment"):
        step(web, office, slug, name)
    for rc in w.reviewers:
        for a in rc.get("/api/v1/assignments", limit=200)["items"]:
            seen = rc.get(f"/api/v1/assignments/{a['id']}")
            if dual:
                text = str(seen)
                for secret in w.secrets[a["proposal_code"]]:
                    assert secret not in text, f"a reviewer sees {secret!r}"
            rc.post(f"/api/v1/assignments/{a['id']}/respond", {"accept": True})
            rc.post(f"/api/v1/assignments/{a['id']}/review", {
                "grade": rng.choice([1.0, 2.5, 3.0, 4.0, 4.5, 5.0]), "confidence": 4,
                "comments_to_applicants": "A clear plan."})  # fmt: skip
    step(web, office, slug, "calibration")
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "ranking"})
    office.post(f"/api/v1/calls/{slug}/ranking/freeze")
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "allocation"})
    step(web, office, slug, "allocation")
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "scheduling"})
    if office.get(f"/api/v1/calls/{slug}/awards", limit=1)["items"]:
        step(web, office, slug, "scheduling")
    else:  # nothing awarded (all under the threshold...): the step says so, and no more
        job = office.post(f"/api/v1/calls/{slug}/steps/scheduling", {"seed": 1})
        jobs.run_pending(web.factory, web.app.state.jobs, limit=10_000)
        done = office.get(f"/api/v1/jobs/{job['id']}")
        assert "awarded nothing" in str(done), done
    office.post(f"/api/v1/calls/{slug}/release")
    assert office.post(f"/api/v1/calls/{slug}/publish")["status"] == "published"


def check_awards(w: World, anyone: Api) -> dict[str, dict[int, float]]:
    """Awards within every offer and every request; {code: {pool id: amount}}."""
    by_name = {p["name"]: pid for pid, p in w.pools.items()}
    awards = anyone.get(f"/api/v1/calls/{w.slug}/awards", limit=200)["items"]
    got: dict[str, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    load: dict[int, float] = defaultdict(float)
    for a in awards:
        pid = by_name[a["pool"]]
        assert a["amount"] > 0, a
        if w.pools[pid]["whole_units"]:
            assert a["amount"] == int(a["amount"]), a
        got[a["proposal_code"]][pid] += a["amount"]
        load[pid] += a["amount"]
    for pid, used in load.items():
        assert used <= w.offered[pid] + 1e-6, (w.pools[pid]["name"], used, w.offered[pid])
        assert used <= w.pools[pid]["amount"] + 1e-6
    for code, pools in got.items():
        for pid, amount in pools.items():
            assert amount <= w.asked[code].get(pid, 0) + 1e-6, (code, pid, amount, w.asked)
    return got


def check_schedule(web: Web, w: World) -> None:
    """Booked slots inside their resource's period, outside its unavailable time, and no
    two of one resource overlapping."""
    with web.factory() as s:
        call_id = s.scalar(select(Call.id).where(Call.slug == w.slug))
        entries = list(s.scalars(select(ScheduleEntry).where(
            ScheduleEntry.call_id == call_id, ScheduleEntry.start.is_not(None))))  # fmt: skip
    per_pool: dict[int, list[tuple[dt.datetime, dt.datetime, int]]] = defaultdict(list)
    for e in entries:
        assert e.end is not None and e.start is not None and e.start < e.end, e
        if e.kind != "slot" or e.pool_id is None:
            continue
        cal = w.pools[e.pool_id]["calendar"]
        lo, hi = (
            dt.datetime.fromisoformat(cal["starts_at"]),
            dt.datetime.fromisoformat(cal["ends_at"]),
        )
        assert lo <= e.start and e.end <= hi, (w.pools[e.pool_id]["name"], e.start, e.end, cal)
        for u in cal["unavailable"]:
            a, b = (
                dt.datetime.fromisoformat(u["starts_at"]),
                dt.datetime.fromisoformat(u["ends_at"]),
            )
            assert e.end <= a or b <= e.start, ("booked while unavailable", e.start, e.end, u)
        per_pool[e.pool_id].append((e.start, e.end, e.proposal_id))
    for pid, slots in per_pool.items():
        slots.sort()
        gap = w.pools[pid]["calendar"]["changeover_slots"]
        for (_s1, e1, p1), (s2, _e2, p2) in zip(slots, slots[1:], strict=False):
            assert e1 <= s2, ("two bookings overlap", w.pools[pid]["name"], slots)
            if gap and p1 != p2:
                assert e1 < s2, ("no changeover between two teams", w.pools[pid]["name"], slots)


def check_report(web: Web, w: World, got: dict[str, dict[int, float]]) -> None:
    """The funnels by income group, UN region and LDC status add up to the applications
    and to the awards."""
    with web.factory() as s:
        facts = {c.iso3: c for c in s.scalars(select(Country))}
    report = w.office.get(f"/api/v1/calls/{w.slug}/report")
    ReportOut.model_validate(report)
    assert report["n_applications"] == len(w.asked), (report["n_applications"], len(w.asked))
    unit_of = {pid: p["unit"] for pid, p in w.pools.items()}
    total: dict[str, float] = defaultdict(float)
    for pools in got.values():
        for pid, amount in pools.items():
            total[unit_of[pid]] += amount
    key = {
        "income_group": lambda c: facts[c].income_group,
        "un_region": lambda c: facts[c].un_region,
        "ldc": lambda c: "LDC" if facts[c].ldc else "non-LDC",
    }
    for grouping, group_of in key.items():
        rows = report["funnels"][grouping]
        these = {r["group"]: r for r in rows if r["stage"] == "awarded"}
        assert "all" in these, (grouping, rows)
        # the applications: each in one group, all of them in "all"
        assert these["all"]["applied"] == len(w.asked), (grouping, these["all"])
        assert sum(r["applied"] for g, r in these.items() if g != "all") == len(w.asked), (
            grouping, these)  # fmt: skip
        # the awards: each awarded proposal in one group, each amount in its unit
        assert these["all"]["count"] == len(got), (grouping, these["all"])
        assert sum(r["count"] for g, r in these.items() if g != "all") == len(got), (
            grouping, these)  # fmt: skip
        for unit, amount in total.items():
            assert these["all"]["amounts"].get(unit, 0) == pytest.approx(amount), (
                grouping, unit, these["all"])  # fmt: skip
            parts = sum(r["amounts"].get(unit, 0) for g, r in these.items() if g != "all")
            assert parts == pytest.approx(amount), (grouping, unit, these)
        # group by group: the proposals applied and awarded of each
        applied: dict[str, int] = defaultdict(int)
        awarded: dict[str, int] = defaultdict(int)
        for code in w.asked:
            applied[group_of(w.country_of[code])] += 1
            if code in got:
                awarded[group_of(w.country_of[code])] += 1
        for g, n in applied.items():
            assert g in these, (grouping, g, sorted(these))
            assert these[g]["applied"] == n and these[g]["count"] == awarded[g], (
                grouping, g, n, awarded[g], these[g])  # fmt: skip


def check_public(web: Web, w: World) -> None:
    """No public page or answer of a dual-anonymous call shows a team; none is a 5xx."""
    anyone = web.client()
    texts = []
    for path in (f"/calls/{w.slug}", f"/calls/{w.slug}/awarded", f"/calls/{w.slug}/figures",
                 f"/calls/{w.slug}/after-award", f"/api/v1/calls/{w.slug}",
                 f"/api/v1/calls/{w.slug}/awards?limit=200", "/", "/calls"):  # fmt: skip
        for lang in ("en", "zh"):
            r = anyone.get(path, headers={"Accept-Language": lang})
            assert r.status_code < 500, (path, r.status_code, r.text[-2000:])
            texts.append((path, r.text))
    for code, secrets in w.secrets.items():
        for secret in secrets:
            for path, text in texts:
                assert secret not in text, f"{path} shows {secret!r} of {code}"


def check_pages(web: Web, w: World, rng: random.Random) -> None:
    """What the office and the applicants read of the decided call, in a language drawn
    for each: pages, CSV, iCalendar files and the API's answers, none a 5xx."""
    lang = rng.choice(["en", "zh", "fr", "es"])
    office = signed_in(web, "office@trial.example", lang)
    paths = [f"/manage/calls/{w.slug}/{page}" for page in
             ("schedule", "decisions", "report", "report.csv", "postaward")]  # fmt: skip
    for pid in w.offered:
        if w.pools[pid]["calendar"]["slot_hours"] is None:
            continue  # (a resource without slots has no calendar: 404)
        paths += [f"/manage/calls/{w.slug}/resources/{pid}/calendar",
                  f"/manage/calls/{w.slug}/resources/{pid}/calendar.ics"]  # fmt: skip
    for path in paths:
        r = office.get(path)
        assert r.status_code == 200, (lang, path, r.status_code, r.text[-2000:])
    for path in ("schedule", "decisions", "postaward"):
        w.office.get(f"/api/v1/calls/{w.slug}/{path}", limit=200)
    for ac, email, pid in w.apps:
        ac.get(f"/api/v1/proposals/{pid}/outcome")
        page = signed_in(web, email, rng.choice(["en", "zh", "fr", "es"]))
        for path in (f"/proposals/{pid}/outcome", f"/proposals/{pid}/slots",
                     f"/proposals/{pid}/slots.ics", f"/awards/{pid}", "/dashboard"):  # fmt: skip
            r = page.get(path)
            assert r.status_code < 500, (path, r.status_code, r.text[-2000:])
            assert r.status_code in (200, 404), (path, r.status_code, r.text[-2000:])


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed_{s}" for s in SEEDS])
def test_a_random_facility_through_a_whole_cycle(web: Web, one_loop: None, seed: int) -> None:
    with web.factory() as s:
        countries = sorted(c.iso3 for c in s.scalars(select(Country)) if c.income_group)
    spec = facility_spec(seed, countries)
    w = set_up(web, spec)
    assert w.asked, "no application could be submitted"
    run_cycle(web, w, spec.rng, spec.anonymity == "dual")
    anyone = Api(web, "", "anyone")
    got = check_awards(w, anyone)
    check_schedule(web, w)
    check_report(web, w, got)
    check_pages(web, w, spec.rng)
    if spec.anonymity == "dual":
        check_public(web, w)
    else:
        for path in (f"/calls/{w.slug}/awarded", f"/calls/{w.slug}/figures"):
            r = web.client().get(path)
            assert r.status_code < 500, (path, r.status_code)
