"""Random facilities through a whole cycle: a property-based trial of the JSON API.

A seeded generator (:func:`facility_spec`) draws a facility nobody wrote by hand: its
resources (built-in units and units of the operator's own, with their words in four
languages, whole or not), their capacities, calendars (slots of 1 to 24 hours from any
hour, in a time zone with a half- or quarter-hour offset or a daylight saving change,
unavailable periods, a changeover) or dated periods or neither; a call's policy (whole or
partial awards, caps per PI, shares and caps by group, limits per resource, its
anonymity; shares for first-time users, alone or within a group); reviewers; applicants from many countries, each asking for a mix of the
resources, some in all-or-nothing bundles (on two resources of one slot length, every third
seed, at times at the same instants: ``bundle_same_time``), some for more than there is.
The operator sets it up from nothing through the API as the journeys do and drives it through the whole
cycle (open, apply, submit, assign, review, calibrate, allocate, schedule, release,
publish, report). What must hold for ANY facility:

- no answer of the API or of a page is a 5xx, and every refusal is a 4xx that says why;
- what is awarded stays within what each resource offered (and what it has), and within
  what each request asked;
- every booked slot lies inside its resource's period, outside its unavailable time, and
  no two bookings of one resource overlap;
- a bundle at the same times is booked at the same instants on each of its resources, or
  not at all;
- the report's funnels by income group, UN region and LDC status add up to the
  applications and to the awards, proposal by proposal and unit by unit;
- in a dual-anonymous call, no reviewer and no public page or answer shows a team;
- several calls on one resource (a second call at once, a continuous call's batches)
  award within what it has; a continuous call's report adds up over its batches;
- node staff see and record their resource's awards only; results are recorded by the
  award's team alone; a declined award frees what it held and leaves the after-award
  figures (seeds draw these extras in turn: :data:`ROTATION`).

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
import time_machine
from sqlalchemy import select

from opencall import jobs
from opencall.calls.models import Call
from opencall.outcomes.api import ReportOut
from opencall.people import services as people_services
from opencall.people.models import Country
from opencall.results.domain import unit_key
from opencall.scheduling.models import ScheduleEntry
from tests.api.test_operator_journey import PASSWORD, signed_in
from tests.api.test_resource_parity import PRESETS
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
#: the preset facility kinds the product ships that a seed may draw instead of resources of
#: its own (a telescope's hours are split over LST ranges by its targets: not drawn)
PRESET_KINDS = ("vessel", "samples", "programme")
SITE = {"place": "Changsha", "mean_temp_c": 17.5, "annual_rain_mm": 1400.0, "altitude_m": 60.0}
DECLINE_REASONS = ("visa", "funding", "dates", "other")
ORCID = "0000-0002-1825-0097"  # ORCID's own example iD (a valid check digit)
C1 = dt.datetime(2026, 12, 10, tzinfo=dt.UTC)  # a continuous call's cut-off ...
CLOSE = dt.datetime(2026, 12, 20, tzinfo=dt.UTC)  # ... and its close, its last
#: the extras beyond one deadline call on resources of one's own: a preset kind, a
#: continuous call reviewed in batches, a second call of the provider at once on the same
#: resources, node staff of one resource, the steps after the award. Each seed draws
#: some; seeds in turn have these at least, so that the three default seeds see them all.
EXTRAS = ("preset", "continuous", "second", "node", "after")
ROTATION = ({"preset", "after"}, {"continuous", "node"}, {"second", "after"})
#: every so many seeds one has two resources on slot calendars of one length, whose
#: applicants may ask for them in a bundle at the same times (the third default seed does)
SAME_TIME_EVERY = 3


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
    extras: frozenset[str] = frozenset()
    preset: str | None = None  # a preset facility kind, instead of ``resources``
    xr: random.Random = field(default_factory=random.Random)  # the extras' draws
    same_time: bool = False  # two resources of one slot length (same-time bundles)


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
        # first-time users, alone or within a group (low+first_time), from a generator of
        # their own: a seed's other draws are the ones it drew before
        gr = random.Random(f"share groups of seed {seed}")
        for share in policy["group_shares"]:
            if (x := gr.random()) < 0.2:
                share["group"] = "first_time"
            elif x < 0.45:
                share["group"] += "+first_time"
        if len({g["group"] for g in policy["group_shares"]}) < len(groups):
            policy["group_shares"] = policy["group_shares"][:1]
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
    # the extras from a generator of their own: a seed's facility is the one it drew before
    xr = random.Random(f"extras of seed {seed}")
    extras = set(ROTATION[seed % len(ROTATION)]) | {x for x in EXTRAS if xr.random() < 0.25}
    if "continuous" in extras:  # its batches are calls of their own: run alone
        extras -= {"second", "after"}
    spec = FacilitySpec(
        extras=frozenset(extras),
        preset=xr.choice(PRESET_KINDS) if "preset" in extras else None,
        xr=xr,
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
        same_time=seed % SAME_TIME_EVERY == SAME_TIME_EVERY - 1,
    )
    # every third seed gives two of its resources slot calendars of one length, so that its
    # applicants may ask for a bundle of them at the same times (``bundle_same_time``):
    # drawn by a generator of its own (the rest of the seed draws what it drew before)
    st = random.Random(f"same time of seed {seed}")
    if spec.same_time:
        while len(resources) < 2:
            resources.append(ResourceSpec(name=f"Resource {len(resources)} (h)", unit="h",
                                          unit_labels=None, whole=False, amount=0))  # fmt: skip
        hours = st.choice([2, 4, 6, 12])
        start = dt.date(2027, 1, 1) + dt.timedelta(days=st.randint(0, 300))
        period = (start.isoformat(), (start + dt.timedelta(days=st.randint(2, 10))).isoformat())
        # sessions of ``hours`` on one clock or, at times, on clocks whose grids may share
        # no instant (a bundle of them is then not feasible, saying why)
        zones = [st.choice(ZONES)] * 2 if st.random() < 0.7 else st.sample(ZONES, 2)
        for k, r in enumerate(resources[:2]):
            r.name, r.unit, r.unit_labels = f"Resource {k} (session)", "session", None
            r.whole, r.slot_hours, r.period, r.time_zone = True, hours, period, zones[k]
            r.day_start_hour, r.unavailable, r.amount = 0, [], st.randint(4, 20)
        spec.offer_fraction += [
            st.choice([0.6, 1.0]) for _ in resources[len(spec.offer_fraction) :]
        ]
    return spec


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
    code_of: dict[int, str] = field(default_factory=dict)  # proposal id -> code
    # proposal id -> the resources of its bundle asked for at the same times
    same_time: dict[int, set[int]] = field(default_factory=dict)

    def part(self, slug: str, codes: set[str]) -> World:
        """The world of one of its batches (a call of its own): its proposals alone."""
        offered = {
            p["pool_id"]: p["amount"] for p in self.office.get(f"/api/v1/calls/{slug}")["pools"]
        }
        return World(slug, self.office, self.pools, offered,
                     {c: a for c, a in self.asked.items() if c in codes},
                     {c: a for c, a in self.country_of.items() if c in codes},
                     {c: a for c, a in self.secrets.items() if c in codes}, self.reviewers,
                     [x for x in self.apps if self.code_of[x[2]] in codes],
                     {i: c for i, c in self.code_of.items() if c in codes},
                     {i: v for i, v in self.same_time.items() if self.code_of.get(i) in codes})  # fmt: skip


def custom_resources(office: Api, spec: FacilitySpec, fac_id: int) -> dict[int, dict[str, Any]]:
    """The facility's resources of its own, as drawn; a refusal on the way is checked and
    the request made smaller or plainer, as a person would."""
    rng = spec.rng
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
        path = f"/api/v1/facilities/{fac_id}/resources"
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
    return pools


def preset_pools(office: Api, spec: FacilitySpec, fac_id: int) -> dict[int, dict[str, Any]]:
    """The pools of a preset facility (a vessel's berths and dives, a samples
    facility's mass of a sample, a programme's seats and packages), amounts drawn."""
    xr, pools = spec.xr, {}
    for pool_type, _amount, attrs in PRESETS[spec.preset or ""][1]:
        amount: float = (round(xr.uniform(50, 20_000), 1) if pool_type == "sample_mass"
                         else xr.randint(2, 40))  # fmt: skip
        got = office.post(f"/api/v1/facilities/{fac_id}/pools", {
            "name": f"{pool_type} of seed {spec.seed}", "pool_type": pool_type,
            "amount": amount, "attributes": attrs})  # fmt: skip
        pools[got["id"]] = got
    return pools


def request_for(
    pool: dict[str, Any], amount: float, iso3: str
) -> tuple[str, dict[str, Any], float]:
    """A request's kind and details for ``amount`` of ``pool`` (within what its form
    takes; a course's site in the applicant's country ``iso3``), and the amount it asks."""
    attrs = pool.get("attributes") or {}
    match pool.get("pool_type"):
        case "berths":
            n = min(20, max(1, int(amount)))
            return "berth", {"berths": n, "purpose": "sampling"}, n
        case "dives":
            n = min(10, max(1, int(amount)))
            sites = [{"name": f"Site {j}", "lat": 16.0 + j / 10, "lon": 115.0, "depth_m": 1500.0}
                     for j in range(n)]  # fmt: skip
            return "dive", {"sites": sites}, n
        case "sample_mass":
            mg = min(10_000.0, round(max(1.0, amount), 1))
            return "sample", {"sample_type": attrs.get("sample_type", ""), "mass_mg": mg}, mg
        case "seats" | "packages" as t:
            n = min(20, max(1, int(amount)))
            kind, key = ("seat", "seats") if t == "seats" else ("package", "packages")
            site = {**SITE, "country_iso3": iso3}
            return kind, {"technology": attrs.get("technology", ""), key: n, "site": site}, n
    return "custom", {"amount": amount}, amount


def make_call(office: Api, spec: FacilitySpec, pools: dict[int, dict[str, Any]], slug: str,
              *, second: bool = False) -> dict[int, float]:  # fmt: skip
    """A call of the facility (its policy drawn; a second one offers what the first
    left of each resource), open; what it offers by pool id."""
    rng = spec.xr if second else spec.rng
    policy = dict(spec.policy) if not second else {"award_mode": rng.choice(["whole", "partial"])}
    ids = list(pools)
    # (a slot calendar may have made a resource smaller than drawn: the limits follow)
    limits = {
        str(ids[i]): {k: min(v, pools[ids[i]]["amount"]) for k, v in lim.items()}
        for i, lim in spec.limits.items()
        if i < len(ids) and not second
    }
    if limits:
        policy["resource_limits"] = limits
    caps = {
        str(ids[i]): min(cap, pools[ids[i]]["amount"])
        for i, cap in spec.pi_caps.items()
        if i < len(ids) and not second
    }
    if caps:
        policy["pi_cap_amount"] = caps
    call_body = {
        "provider": "trial", "facility": "fac", "slug": slug, "code": "TS" if second else "TR",
        "cycle": "2027", "title": f"{'Second' if second else 'Trial'} call of seed {spec.seed}",
        "anonymity": spec.anonymity, "allocation_policy": policy,
        "opens_at": "2026-11-01T00:00:00Z", "closes_at": CLOSE.isoformat(),
        "review_settings": {"reviewers_per_proposal": spec.per_proposal, "max_load": 40},
        "offer_all_pools": spec.offer_all and not second,
    }  # fmt: skip
    if "continuous" in spec.extras and not second:
        call_body.update(mode="continuous", cutoffs=[C1.isoformat()], decision_days=21)
    status, got = office.call("POST", "/api/v1/calls", call_body)
    if status >= 300:  # a policy the call refuses (a cap of the wrong kind...): a plain one
        call_body["allocation_policy"] = {"award_mode": "whole"}
        office.post("/api/v1/calls", call_body)
    if second or not spec.offer_all:
        path = f"/api/v1/calls/{slug}/pools"
        for (pid, pool), frac in zip(pools.items(), spec.offer_fraction * 3, strict=False):
            amount = pool["amount"] * frac
            amount = max(1, int(amount)) if pool["whole_units"] else round(amount, 2)
            # the second call: what the first left of each (one with nothing left: refused)
            body = {"pool_id": pid} if second else {"pool_id": pid, "amount": amount}
            status, _ = office.call("POST", path, body)
            if status >= 300 and not second:  # less than the policy allows: what it has left
                office.call("POST", path, {"pool_id": pid})
    offered = {p["pool_id"]: p["amount"] for p in office.get(f"/api/v1/calls/{slug}")["pools"]}
    if offered:
        office.post(f"/api/v1/calls/{slug}/transition", {"target": "open"})
    return offered


def set_up(web: Web, spec: FacilitySpec) -> tuple[World, World | None, list[Any]]:
    """The facility, its call (and a second one of the provider at once, when drawn)
    and their applications, as its operator and applicants make them through the API;
    a refusal on the way is checked and the request made smaller or left out, as a
    person would. Also what is left to submit later (a continuous call's late comers)."""
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
    kind = spec.preset or "custom"
    fac = office.post("/api/v1/providers/trial/facilities",
                      {"name": "A facility nobody imagined", "slug": "fac", "kind": kind,
                       "attributes": PRESETS[kind][0] if spec.preset else {}})  # fmt: skip
    if spec.preset:
        pools = preset_pools(office, spec, fac["id"])
    else:
        pools = custom_resources(office, spec, fac["id"])
    assert pools, "no resource could be made"

    offered = make_call(office, spec, pools, "trial-call")
    assert offered, "the call offers nothing"
    second_offered = make_call(office, spec, pools, "trial-two", second=True) if (
        "second" in spec.extras) else {}  # fmt: skip

    reviewers = []
    for i, iso3 in enumerate(spec.reviewers):
        email = f"rev{i}@panel.example"
        reviewers.append(person(web, email, f"Reviewer Number{i}", country_iso3=iso3,
                                institution=f"Panel Institute {i}"))  # fmt: skip
        office.post("/api/v1/providers/trial/roles", {"email": email, "role": "reviewer"})

    w = World("trial-call", office, pools, offered, {}, {}, {}, reviewers)
    w2 = World("trial-two", office, pools, second_offered, {}, {}, {}, reviewers) if (
        second_offered) else None  # fmt: skip
    later: list[Any] = []
    for i, (iso3, n) in enumerate(spec.applicants):
        name = f"{NAMES[i % len(NAMES)]} Applicant{i:02d}"
        inst = f"Institute Number {i:02d} of {iso3}"
        email = f"pi{i:02d}@applicants.example"
        ac = person(web, email, name, country_iso3=iso3, institution=inst)
        for k in range(n):
            into = w2 if w2 is not None and spec.xr.random() < 0.5 else w
            pid, mine = draft(into, rng, ac, iso3, i, k)
            app = (into, ac, email, pid, mine, [name, inst, email], iso3)
            if "continuous" in spec.extras and i % 2:  # submitted after the cut-off
                later.append(app)
            else:
                submit(*app)
    return w, w2, later


def draft(
    w: World, rng: random.Random, ac: Api, iso3: str, i: int, k: int
) -> tuple[int, dict[int, float]]:
    """A proposal of applicant ``i`` to ``w``'s call asking for a mix of what it offers
    (some in an all-or-nothing bundle, some for more than there is): its id and what it
    asks by pool id."""
    pid = ac.post("/api/v1/proposals", {
        "call": w.slug, "title": f"Study {i}-{k} with the facility",
        "abstract": "An abstract.", "science_case": "A case."})["id"]  # fmt: skip
    mine: dict[int, float] = {}
    offered_ids = list(w.offered)
    chosen = rng.sample(offered_ids, rng.randint(1, len(offered_ids)))
    bundle = "all" if len(chosen) > 1 and rng.random() < 0.4 else None
    # a bundle of resources of one slot length, at the same times (from a generator of its
    # own: the rest draws what it drew before): one amount for all, some impossible dates
    slots = {w.pools[p]["calendar"]["slot_hours"] for p in chosen}
    st = random.Random(f"same time {w.slug} {i} {k}")
    same = len(chosen) > 1 and None not in slots and len(slots) == 1 and st.random() < 0.7
    bundle = bundle or ("all" if same else None)
    # (an amount each resource offers: the same for all)
    least = min(round(w.offered[p] * st.choice([0.2, 0.5])) for p in chosen)
    first = max(1, least) if same else None
    together: set[int] = set()  # the bundle's resources
    flagged = False
    for pool_id in chosen:
        pool = w.pools[pool_id]
        top = w.offered[pool_id] * rng.choice([0.1, 0.3, 0.6, 1.0, 1.5])
        amount = max(1, round(top)) if pool["whole_units"] else round(max(0.5, top), 2)
        kind, details, amount = request_for(pool, first or amount, iso3)
        if same and kind == "custom":
            details["bundle_same_time"] = True
            if st.random() < 0.3:
                day = dt.date.fromisoformat(pool["calendar"]["period_start"])
                details["impossible_dates"] = [[day.isoformat(), day.isoformat()]]
        version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
        req = {"version": version, "kind": kind, "pool_id": pool_id,
               "bundle": bundle, "details": details}  # fmt: skip
        status, got = ac.call("POST", f"/api/v1/proposals/{pid}/requests", req)
        if status >= 300:  # too much, or not a whole number: a smaller one
            kind, req["details"], amount = request_for(pool, 1, iso3)
            status, got = ac.call("POST", f"/api/v1/proposals/{pid}/requests", req)
        if status < 300:
            mine[pool_id] = mine.get(pool_id, 0) + amount
            together.add(pool_id)
            flagged |= bool(req["details"].get("bundle_same_time"))
    if flagged:  # (a refused request asked again without it: the others' flag holds)
        w.same_time[pid] = together
    return pid, mine


def submit(w: World, ac: Api, email: str, pid: int, mine: dict[int, float],
           secrets: list[str], iso3: str) -> None:  # fmt: skip
    """Submit the proposal; a refusal (a compulsory bundle or another rule) says why, and
    the proposal is left out."""
    status, p = ac.call("POST", f"/api/v1/proposals/{pid}/submit")
    if status >= 300:
        return
    assert p["status"] == "submitted", p
    w.asked[p["code"]] = mine
    w.apps.append((ac, email, pid))
    w.code_of[pid] = p["code"]
    w.country_of[p["code"]] = iso3
    w.secrets[p["code"]] = secrets


def run_cycle(web: Web, w: World, rng: random.Random, dual: bool, *, close: bool = True) -> None:
    """The call from its close (a batch: from its cut) to its publication."""
    office, slug = w.office, w.slug
    if close:
        office.post(f"/api/v1/calls/{slug}/transition", {"target": "closed", "reason": "deadline"})
    office.post(f"/api/v1/calls/{slug}/transition", {"target": "review"})
    for name in ("conflicts", "affinity", "assignment"):
        step(web, office, slug, name)
    for rc in w.reviewers:
        for a in rc.get("/api/v1/assignments", limit=200)["items"]:
            if a["proposal_code"] not in w.asked:  # another call's
                continue
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
    # a bundle at the same times: its resources booked at the same instants, or not at all
    at: dict[int, dict[int, set[dt.datetime]]] = defaultdict(lambda: defaultdict(set))
    for e in entries:
        if e.kind == "slot" and e.proposal_id in w.same_time and e.pool_id is not None:
            at[e.proposal_id][e.pool_id].add(e.start)
    for prop, booked in at.items():
        assert set(booked) == w.same_time[prop], ("a same-time bundle booked in part", booked)
        assert len({frozenset(v) for v in booked.values()}) == 1, ("not at once", booked)
    for pid, slots in per_pool.items():
        slots.sort()
        gap = w.pools[pid]["calendar"]["changeover_slots"]
        for (_s1, e1, p1), (s2, _e2, p2) in zip(slots, slots[1:], strict=False):
            assert e1 <= s2, ("two bookings overlap", w.pools[pid]["name"], slots)
            if gap and p1 != p2:
                assert e1 < s2, ("no changeover between two teams", w.pools[pid]["name"], slots)


def check_report(
    web: Web, w: World, got: dict[str, dict[int, float]], declined: frozenset[str] = frozenset()
) -> None:
    """The funnels by income group, UN region and LDC status add up to the applications
    and to the awards (a declined award still counted as awarded: the decision stood;
    its amounts, which it no longer holds, not)."""
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
        n_awarded = len(set(got) | declined)
        assert these["all"]["count"] == n_awarded, (grouping, these["all"])
        assert sum(r["count"] for g, r in these.items() if g != "all") == n_awarded, (
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
            if code in got or code in declined:
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


def check_node(w: World, node: Api, pool_id: int, got: dict[str, dict[int, float]]) -> None:
    """A node's staff see the awards and bookings of their resource, and no other's; they
    record on their awards only, and never an award's own records or results."""
    mine = node.get(f"/api/v1/calls/{w.slug}/node/awards", limit=200)["items"]
    seen: dict[str, float] = defaultdict(float)
    for r in mine:
        assert r["resource_id"] == pool_id, ("a node's staff see another resource's award", r)
        seen[r["proposal_code"]] += r["amount"]
    expected = {code: pools[pool_id] for code, pools in got.items() if pool_id in pools}
    assert seen == pytest.approx(expected), (seen, expected)
    for b in node.get(f"/api/v1/calls/{w.slug}/node/bookings", limit=200)["items"]:
        assert b["resource_id"] == pool_id, ("a node's staff see another resource's booking", b)
    every = w.office.get(f"/api/v1/calls/{w.slug}/node/awards", limit=200)["items"]
    assert sum(r["amount"] for r in every) == pytest.approx(
        sum(sum(pools.values()) for pools in got.values())), (got, every)  # fmt: skip
    for r in every:
        if r["resource_id"] != pool_id:  # not theirs: as if it were not there
            path = f"/api/v1/calls/{w.slug}/node/awards/{r['award_id']}/records"
            status, _ = node.call("POST", path, {"kind": "other", "data": {"note": "x"}})
            assert status == 404, (path, status)
            break
    for _ac, _email, pid in w.apps[:3]:
        status, _ = node.call("POST", f"/api/v1/awards/{pid}/outputs",
                              {"kind": "dataset", "title": "Not theirs", "year": 2027})  # fmt: skip
        assert status == 404, ("a node's staff record an award's results", pid, status)


def after_award(w: World, xr: random.Random, got: dict[str, dict[int, float]],
                outsiders: list[Api]) -> tuple[set[str], str | None]:  # fmt: skip
    """The steps after the award: a team records its results (papers, datasets, patents
    with ORCID iDs), nobody else may; an award is not withdrawn; a PI declines an award
    and the chair offers what it freed to the next in line. The codes with results, and
    the one declined."""
    awarded = [(ac, pid) for ac, _email, pid in w.apps if w.code_of[pid] in got]
    xr.shuffle(awarded)
    produced: set[str] = set()
    if not awarded:
        return produced, None
    ac, pid = awarded[0]
    code = w.code_of[pid]
    outputs = [
        {"kind": "publication", "title": f"Findings of {code}", "year": 2027,
         "doi": f"10.5555/trial.{code.lower()}", "orcids": [ORCID],
         "countries": [w.country_of[code]]},
        {"kind": "dataset", "title": f"Data of {code}", "year": 2027, "orcids": [ORCID]},
        {"kind": "patent", "title": f"A device of {code}", "year": 2027, "number": "CN112345678A"},
    ]  # fmt: skip
    for body in xr.sample(outputs, xr.randint(1, 3)):
        out = ac.post(f"/api/v1/awards/{pid}/outputs", body)
        assert out["orcids"] == body.get("orcids", []), out
    produced.add(code)
    kept = ac.get(f"/api/v1/awards/{pid}")
    for who in [*outsiders, *(x for x, _p in awarded if x is not ac)][:4]:
        for path, body in ((f"/api/v1/awards/{pid}/outputs", outputs[1]),
                           (f"/api/v1/awards/{pid}/records", {"kind": "other", "data": {}})):  # fmt: skip
            status, _ = who.call("POST", path, body)
            assert status in (401, 404), ("recorded by someone not permitted", who.who, path)
    assert ac.get(f"/api/v1/awards/{pid}") == kept
    # an award is declined, not withdrawn: refused, nothing changes
    status, _ = ac.call("POST", f"/api/v1/proposals/{pid}/withdraw")
    assert 400 <= status < 500, status
    assert ac.get(f"/api/v1/proposals/{pid}")["status"] == "accepted"
    if len(awarded) < 2:
        return produced, None
    ac, pid = awarded[1]
    code = w.code_of[pid]
    body = {"reason": xr.choice(DECLINE_REASONS), "note": "We cannot come.", "confirm": True}
    out = ac.post(f"/api/v1/awards/{pid}/decline", body)
    freed: dict[int, float] = defaultdict(float)
    for f in out["freed"]:
        freed[f["pool_id"]] += f["amount"]
    assert freed == pytest.approx(got[code]), (freed, got[code])
    assert ac.post(f"/api/v1/awards/{pid}/decline", body)["created"] is False
    declines = w.office.get(f"/api/v1/calls/{w.slug}/declines")
    assert [d["proposal_code"] for d in declines["declines"]] == [code], declines
    line = declines["next_in_line"]
    if line and xr.random() < 0.7:  # the chair offers it on (refused, it says why)
        w.office.call("POST", f"/api/v1/calls/{w.slug}/declines/{line[0]['proposal_id']}/offer",
                      {"reason": "Next in line after a decline."})  # fmt: skip
    return produced, code


def check_after_award(w: World, got: dict[str, dict[int, float]], produced: set[str]) -> None:
    """The figures after the award: every award held, none declined; what was awarded
    by unit adds up to the awards; results where they were recorded."""
    stages = w.office.get(f"/api/v1/calls/{w.slug}/postaward", limit=200)["items"]
    assert {s["proposal_code"] for s in stages} == set(got), (stages, got)
    total: dict[str, float] = defaultdict(float)
    for pools in got.values():
        for pid, amount in pools.items():
            total[f"awarded:{unit_key(w.pools[pid]['unit'])}"] += amount
    summed: dict[str, float] = defaultdict(float)
    for s in stages:
        assert s["produced_results"] == (s["proposal_code"] in produced), s
        for k, v in s["use"].items():
            if k.startswith("awarded:"):
                summed[k] += v
    assert summed == pytest.approx(total), (summed, total)


def run_batches(web: Web, w: World, later: list[Any], spec: FacilitySpec) -> list[World]:
    """A continuous call: cut at its cut-off, the late comers submitted after it (the
    next batch), closed; each batch through its cycle and checked as a call. The
    batches' worlds."""
    out: list[World] = []

    def run(listed: dict[str, Any]) -> None:
        for b in listed["batches"]:
            if any(x.slug == b["slug"] for x in out):
                continue
            codes = {w.code_of[pid] for ac, _e, pid in w.apps
                     if ac.get(f"/api/v1/proposals/{pid}")["call"] == b["slug"]}  # fmt: skip
            assert len(codes) == b["proposals"], (b, codes)
            bw = w.part(b["slug"], codes)
            out.append(bw)
            run_cycle(web, bw, spec.rng, spec.anonymity == "dual", close=False)

    with time_machine.travel(C1 + dt.timedelta(hours=1), tick=True):
        status, got = w.office.call("POST", f"/api/v1/calls/{w.slug}/batches")
        for app in later:  # after the cut-off: the next batch's
            submit(*app)
        if status < 300:
            run(got)
    with time_machine.travel(CLOSE + dt.timedelta(hours=1), tick=True):
        w.office.post(f"/api/v1/calls/{w.slug}/transition", {"target": "closed"})
        run(w.office.get(f"/api/v1/calls/{w.slug}/batches"))
    assert sum(len(b.asked) for b in out) == len(w.asked), "a proposal in no batch"
    return out


@pytest.mark.parametrize("seed", SEEDS, ids=[f"seed_{s}" for s in SEEDS])
def test_a_random_facility_through_a_whole_cycle(web: Web, one_loop: None, seed: int) -> None:
    with web.factory() as s:
        countries = sorted(c.iso3 for c in s.scalars(select(Country)) if c.income_group)
    spec = facility_spec(seed, countries)
    w, w2, later = set_up(web, spec)
    assert w.asked or later or (w2 and w2.asked), "no application could be submitted"
    node = None
    if "node" in spec.extras:  # a node's staff look after one resource
        node = person(web, "node@trial.example", "Node Keeper", country_iso3=spec.country)
        node_pool = spec.xr.choice(sorted(w.pools))
        w.office.post("/api/v1/providers/trial/node-staff",
                      {"email": "node@trial.example", "resources": [node_pool]})  # fmt: skip
    anyone = Api(web, "", "anyone")
    dual = spec.anonymity == "dual"
    if "continuous" in spec.extras:
        calls = run_batches(web, w, later, spec)
    else:
        # (both calls opened, applied to and closed at once; one nobody applied to: left)
        calls = [x for x in (w, w2) if x is not None and x.asked]
        for x in calls:
            run_cycle(web, x, spec.rng, dual)
    gots = []
    for x in calls:
        got = check_awards(x, anyone)
        check_schedule(web, x)
        check_report(web, x, got)
        if x is calls[-1] or "continuous" not in spec.extras:  # (a batch's are as its call's)
            check_pages(web, x, spec.rng)
        gots.append(got)
        if node is not None:
            check_node(x, node, node_pool, got)
    # several calls on one resource (a second call, or the batches): within what it has
    load: dict[int, float] = defaultdict(float)
    for got in gots:
        for pools in got.values():
            for pid, amount in pools.items():
                load[pid] += amount
    for pid, used in load.items():
        assert used <= w.pools[pid]["amount"] + 1e-6, (w.pools[pid]["name"], used)
    if "continuous" in spec.extras:  # the call's figures add up over its batches
        if calls:
            assert sum(load.values()) <= sum(w.offered.values()) + 1e-6
            for pid, used in load.items():
                assert used <= w.offered[pid] + 1e-6, (w.pools[pid]["name"], used, w.offered)
            whole = w.part(w.slug, set(w.asked))
            check_report(web, whole, {c: p for got in gots for c, p in got.items()})
            with web.factory() as s:
                policy = s.scalar(select(Call.allocation_policy).where(Call.slug == w.slug))
            for key, lim in (policy.get("resource_limits") or {}).items():
                if lim.get("max_total") is not None:  # the call's limit, over its batches
                    assert load.get(int(key), 0) <= lim["max_total"] + 1e-6, (key, lim, load)
            report = w.office.get(f"/api/v1/calls/{w.slug}/report")
            assert [b["number"] for b in report["call"]["batches"]] == list(
                range(1, len(calls) + 1)), report["call"]  # fmt: skip
    if "after" in spec.extras:
        w = calls[0]
        outsiders = [anyone, *w.reviewers[:1], *([node] if node is not None else [])]
        produced, declined = after_award(w, spec.xr, gots[0], outsiders)
        got = check_awards(w, anyone)
        assert declined not in got, "a declined award still counted as awarded"
        check_report(web, w, got, frozenset([declined] if declined else []))
        check_after_award(w, got, produced)
        if declined is not None:  # what it freed is free: within each offer still
            free = {f["pool_id"]: f["amount"] for f in
                    w.office.get(f"/api/v1/calls/{w.slug}/declines")["free"]}  # fmt: skip
            for pid, offered in w.offered.items():
                used = sum(pools.get(pid, 0) for pools in got.values())
                assert used + free.get(pid, 0) <= offered + 1e-6, (pid, used, free, offered)
    for x in calls if "continuous" not in spec.extras else [w]:
        if dual:
            check_public(web, x)
            continue
        for path in (f"/calls/{x.slug}/awarded", f"/calls/{x.slug}/figures",
                     f"/calls/{x.slug}/after-award"):  # fmt: skip
            r = web.client().get(path)
            assert r.status_code < 500, (path, r.status_code)
