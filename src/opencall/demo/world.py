"""Builds the demo world: four facilities, their calls, applicants from
over 100 countries, about 400 proposals and 150 reviewers.

Deterministic for a seed (and an anchor date, default: today UTC), built
through the same services the web pages use, so every demo proposal passed
the same validation as a real one.
"""

from __future__ import annotations

import datetime as dt
import math
import random
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.demo.texts import (
    AREAS,
    FIELD_AREAS,
    expertise_statement,
    institution,
    person_name,
    proposal_text,
)
from opencall.facilities import services as fac_services
from opencall.facilities.models import CapacityPool, Facility
from opencall.people import services as people_services
from opencall.people.models import Country, User
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal, TeamMember

DEMO_PASSWORD = "opencall-demo"

FAST_RECEIVERS = ["19-beam L-band (1.05-1.45 GHz)", "UWB (0.5-3.3 GHz)"]
FAST_MODES = ["Tracking", "ON-OFF", "Drift scan", "OTF mapping", "Snapshot"]


@dataclass
class DemoCounts:
    facilities: int = 0
    calls: int = 0
    countries: int = 0
    applicant_countries: int = 0
    applicants: int = 0
    proposals: int = 0
    proposals_by_call: dict[str, int] = field(default_factory=dict)
    reviewers: int = 0
    accounts: dict[str, str] = field(default_factory=dict)


def _midnight(d: dt.date) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, tzinfo=dt.UTC)


def _sphere_dec(rng: random.Random, lo: float, hi: float) -> float:
    a, b = math.sin(math.radians(lo)), math.sin(math.radians(hi))
    return math.degrees(math.asin(rng.uniform(a, b)))


def _sexa(value: float) -> str:
    tenths = int(round(abs(value) * 36000))
    a, rem = divmod(tenths, 36000)
    m, s10 = divmod(rem, 600)
    return f"{a:02d}:{m:02d}:{s10 / 10:04.1f}"


def _sexa_ra(deg: float) -> str:
    return _sexa((deg / 15) % 24)


def _sexa_dec(deg: float) -> str:
    return ("+" if deg >= 0 else "-") + _sexa(deg)


def _target_name(area: str, ra: float, dec: float, rng: random.Random, i: int) -> str:
    h = ra / 15
    hh, mm = int(h), int((h % 1) * 60)
    sign = "+" if dec >= 0 else "-"
    dd, dm = int(abs(dec)), int((abs(dec) % 1) * 60)
    if area == "pulsars":
        return f"PSR J{hh:02d}{mm:02d}{sign}{dd:02d}{dm:02d}"
    if area == "frb":
        return f"FRB 20{rng.randint(18, 25)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}{'ABC'[i % 3]}"
    if area == "hi":
        return rng.choice(["NGC", "UGC", "IC"]) + f" {rng.randint(100, 9999)}"
    return f"G{rng.uniform(10, 80):05.1f}{rng.choice('+-')}{rng.uniform(0, 1):.2f}"


def _fast_targets(rng: random.Random, area: str, n: int, hours: float) -> list[dict[str, object]]:
    targets = []
    per = max(0.25, math.floor(hours / n * 4) / 4)
    for i in range(n):
        if area in ("pulsars", "ism") and rng.random() < 0.6:
            # the Galactic plane culminates around LST 18-20 h: the pressure there is high
            ra = rng.gauss(285, 15) % 360
            dec = max(-13.5, min(65.5, rng.gauss(5, 10)))
        else:
            ra = rng.uniform(0, 360)
            dec = _sphere_dec(rng, -13.5, 65.5)
        tgt: dict[str, object] = {
            "name": _target_name(area, ra, dec, rng, i),
            "hours": per,
        }
        if rng.random() < 0.5:
            tgt["ra_deg"] = _sexa_ra(ra)
            tgt["dec_deg"] = _sexa_dec(dec)
        else:
            tgt["ra_deg"] = round(ra, 4)
            tgt["dec_deg"] = round(dec, 4)
        targets.append(tgt)
    return targets


def _site(rng: random.Random, country: Country, tech: str) -> dict[str, object]:
    tropical = country.un_subregion in (
        "Sub-Saharan Africa",
        "South-eastern Asia",
        "Southern Asia",
        "Latin America and the Caribbean",
        "Melanesia",
        "Micronesia",
        "Polynesia",
    )
    temp = rng.uniform(22, 29) if tropical else rng.uniform(8, 22)
    rain = rng.uniform(900, 2600) if tropical else rng.uniform(250, 1200)
    alt = rng.choice([rng.uniform(0, 600), rng.uniform(600, 2400)])
    site: dict[str, object] = {
        "place": f"{rng.choice(['North', 'South', 'East', 'West', 'Central'])} district, {country.name}",
        "country_iso3": country.iso3,
        "mean_temp_c": round(temp, 1),
        "annual_rain_mm": round(rain),
        "altitude_m": round(alt),
    }
    if tech == "tilapia":
        site["water_temp_c"] = round(temp + rng.uniform(-2, 2), 1)
    return site


def build(
    session: Session,
    *,
    seed: int = 1,
    anchor: dt.date | None = None,
    scale: float = 1.0,
    progress: Callable[[str, int], None] | None = None,
    bulk: bool | None = None,
) -> DemoCounts:
    """Build the world into an empty, migrated database.

    ``bulk`` (default: above ``bulk.BULK_ABOVE``) writes the applicants, reviewers and
    proposals in batches (:mod:`opencall.demo.bulk`): the same world, much faster."""
    if session.scalar(select(func.count(Call.id))):
        raise RuntimeError("the database already holds calls; the demo builds into an empty one")
    rng = random.Random(seed)
    anchor = anchor or dt.datetime.now(dt.UTC).date()
    now = _midnight(anchor)
    step = progress or (lambda _label, _n: None)
    counts = DemoCounts()
    counts.countries = people_services.load_countries(session)
    countries = {c.iso3: c for c in session.scalars(select(Country))}
    pw_hash = people_services.hash_password(DEMO_PASSWORD)

    def account(
        email: str, name: str, iso3: str, inst: str, expertise: str = "", lang: str = "en"
    ) -> User:
        return people_services.register_user(
            session,
            email=email,
            name=name,
            password_hash=pw_hash,
            institution=inst,
            country_iso3=iso3,
            expertise=expertise,
            language=lang,
            verified=True,
        )

    # --- providers, facilities, pools ---------------------------------------
    step("facilities", 0)
    naoc = fac_services.create_provider(
        session,
        name="National Astronomical Observatories, CAS",
        slug="naoc",
        country_iso3="CHN",
        description="Operator of the FAST 500 m aperture spherical radio telescope.",
    )
    fast = fac_services.create_facility(
        session,
        naoc,
        name="FAST 500 m radio telescope",
        slug="fast",
        kind="telescope",
        description="Dawodang, Pingtang County, Guizhou. 19-beam L-band and UWB receivers.",
        attributes={
            "lat_deg": 25.6529,
            "lon_deg": 106.8567,
            "height_m": 1110.0,
            "max_zenith_deg": 40.0,
            "full_gain_zenith_deg": 26.4,
            "dec_min_deg": -14.0,
            "dec_max_deg": 66.0,
            "receivers": FAST_RECEIVERS,
            "modes": FAST_MODES,
        },
    )
    fast_pools = [
        fac_services.create_pool(
            session,
            fast,
            name=f"LST {h:02d}-{h + 1:02d} h",
            pool_type="lst_hours",
            amount=75.0,
            attributes={"lst_start_h": h, "lst_end_h": h + 1},
        )
        for h in range(24)
    ]
    idsse = fac_services.create_provider(
        session,
        name="Institute of Deep-sea Science and Engineering, CAS",
        slug="idsse",
        country_iso3="CHN",
        description="Operator of R/V Tansuo-1 and the HOV Fendouzhe.",
    )
    vessel = fac_services.create_facility(
        session,
        idsse,
        name="R/V Tansuo-1 with HOV Fendouzhe",
        slug="tansuo-fendouzhe",
        kind="vessel",
        description="Full-ocean-depth crewed submersible; three persons per dive.",
        attributes={
            "vessel": "Tansuo-1",
            "submersible": "Fendouzhe",
            "max_dive_depth_m": 11000.0,
            "dives_per_day": 1,
        },
    )
    legs = [
        (
            "Leg 1",
            "Sanya",
            "Apra Harbor",
            [(18.25, 109.5), (16.0, 125.0), (11.35, 142.2), (13.44, 144.66)],
            0,
            24,
        ),
        (
            "Leg 2",
            "Apra Harbor",
            "Auckland",
            [(13.44, 144.66), (0.0, 165.0), (-20.0, 178.0), (-30.0, -177.0), (-36.85, 174.76)],
            27,
            58,
        ),
        ("Leg 3", "Auckland", "Bluff", [(-36.85, 174.76), (-46.5, 165.5), (-46.6, 168.35)], 61, 85),
    ]
    start = anchor + dt.timedelta(days=120)
    vessel_pools: list[tuple[CapacityPool, CapacityPool]] = []
    for name, a, b, route, d0, d1 in legs:
        attrs = {
            "leg": name,
            "start_date": str(start + dt.timedelta(days=d0)),
            "end_date": str(start + dt.timedelta(days=d1)),
            "from_port": a,
            "to_port": b,
            "route": route,
            "max_depth_m": 11000.0,
        }
        berths = fac_services.create_pool(
            session,
            vessel,
            name=f"{name} berths ({a} - {b})",
            pool_type="berths",
            amount=12,
            attributes=attrs,
        )
        dives = fac_services.create_pool(
            session,
            vessel,
            name=f"{name} dives ({a} - {b})",
            pool_type="dives",
            amount=18,
            attributes=attrs,
        )
        vessel_pools.append((berths, dives))
    lesec = fac_services.create_provider(
        session,
        name="Lunar Exploration and Space Engineering Center, CNSA",
        slug="lesec",
        country_iso3="CHN",
        description="Curation and international loans of Chang'e lunar samples.",
    )
    samples = fac_services.create_facility(
        session,
        lesec,
        name="Chang'e lunar sample collection",
        slug="change-samples",
        kind="samples",
        attributes={"missions": ["Chang'e-5", "Chang'e-6"]},
        description="Chang'e-5 (1,731 g, 2020) and Chang'e-6 (1,935.3 g, far side, 2024).",
    )
    sample_pools = [
        fac_services.create_pool(
            session,
            samples,
            name=n,
            pool_type="sample_mass",
            amount=amt,
            attributes={"mission": m, "sample_type": t},
        )
        for n, m, t, amt in [
            ("CE-5 scooped regolith", "Chang'e-5", "CE-5 scooped regolith", 12000.0),
            ("CE-5 drill core", "Chang'e-5", "CE-5 drill core", 3000.0),
            ("CE-6 far-side regolith", "Chang'e-6", "CE-6 far-side regolith", 10000.0),
            ("CE-6 basalt clasts", "Chang'e-6", "CE-6 basalt clasts", 2500.0),
        ]
    ]
    cicete = fac_services.create_provider(
        session,
        name="International Technology Cooperation Programmes",
        slug="livelihood",
        country_iso3="CHN",
        description="Hybrid rice, tilapia aquaculture and juncao training and demonstration.",
    )
    prog = fac_services.create_facility(
        session,
        cicete,
        name="Livelihood technology programmes",
        slug="livelihood",
        kind="programme",
        attributes={"technologies": ["hybrid rice", "tilapia", "juncao"]},
        description="Courses in Changsha (hybrid rice), Wuxi (tilapia) and Fuzhou (juncao).",
    )
    course_start = anchor + dt.timedelta(days=150)
    seat_pools, package_pools = [], []
    for tech, place, seats in [
        ("hybrid rice", "Changsha", 30),
        ("tilapia", "Wuxi", 25),
        ("juncao", "Fuzhou", 30),
    ]:
        seat_pools.append(
            fac_services.create_pool(
                session,
                prog,
                name=f"{tech.capitalize()} course, {place}",
                pool_type="seats",
                amount=seats,
                attributes={
                    "technology": tech,
                    "start_date": str(course_start),
                    "end_date": str(course_start + dt.timedelta(days=45)),
                    "place": place,
                },
            )
        )
        package_pools.append(
            fac_services.create_pool(
                session,
                prog,
                name=f"{tech.capitalize()} demonstration packages",
                pool_type="packages",
                amount=8,
                attributes={"technology": tech, "season": f"{anchor.year + 1} main season"},
            )
        )
    counts.facilities = 4

    # --- calls ------------------------------------------------------------------
    step("calls", 0)
    fast_call = call_services.create_call(
        session,
        fast,
        {
            "slug": f"fast-{anchor.year + 1}",
            "code": "FAST27",
            "cycle": f"{anchor.year + 1}-{anchor.year + 2}",
            "title": f"FAST open time for international users, cycle {anchor.year + 1}-{anchor.year + 2}",
            "description": "Regular Science Programmes of at most 50 h. About 1,800 h of open time, "
            "users of any nationality or affiliation. 12-month proprietary period.",
            "opens_at": now - dt.timedelta(days=40),
            "closes_at": now + dt.timedelta(days=20, hours=16),
            "anonymity": "dual",
            "review_settings": {
                "reviewers_per_proposal": 3,
                "max_load": 10,
                "grade_min": 1,
                "grade_max": 5,
                "lower_is_better": False,
            },
            "allocation_policy": {
                "award_mode": "partial",
                "min_fraction": 0.5,
                "pi_cap_awards": 2,
                "group_shares": [{"group": "low_lmic", "min_share": 0.05}],
            },
            "form": {
                "requires_pdf": False,
                "receivers": FAST_RECEIVERS,
                "modes": FAST_MODES,
                "max_amount_per_proposal": 50,
                "max_targets": 60,
                "abstract_max_words": 250,
            },
        },
    )
    sea_call = call_services.create_call(
        session,
        vessel,
        {
            "slug": f"trench-{anchor.year + 1}",
            "code": "TREND27",
            "cycle": str(anchor.year + 1),
            "title": "Global hadal exploration: berths and dives on the Pacific trench expedition",
            "description": "Berths on three legs and dives with the full-ocean-depth submersible.",
            "opens_at": now - dt.timedelta(days=90),
            "closes_at": now - dt.timedelta(days=5),
            "anonymity": "single",
            "review_settings": {"reviewers_per_proposal": 3, "max_load": 9},
            "allocation_policy": {
                "award_mode": "whole",
                "group_shares": [{"group": "low_lmic", "min_share": 0.2}],
            },
            "form": {"max_amount_per_proposal": 12},
        },
    )
    lunar_call = call_services.create_call(
        session,
        samples,
        {
            "slug": f"lunar-{anchor.year + 1}",
            "code": "LUNAR27",
            "cycle": str(anchor.year + 1),
            "title": "International loans of Chang'e-5 and Chang'e-6 samples",
            "description": "Research loans of lunar sample mass; loan agreement, return and results reporting.",
            "opens_at": now - dt.timedelta(days=100),
            "closes_at": now - dt.timedelta(days=10),
            "anonymity": "dual",
            "review_settings": {"reviewers_per_proposal": 3, "max_load": 8},
            "allocation_policy": {"award_mode": "partial", "min_fraction": 0.5},
            "form": {"sample_types": [p.attributes["sample_type"] for p in sample_pools]},
        },
    )
    prog_call = call_services.create_call(
        session,
        prog,
        {
            "slug": f"livelihood-{anchor.year + 1}",
            "code": "LIVE27",
            "cycle": str(anchor.year + 1),
            "title": "Training courses and demonstration packages: hybrid rice, tilapia, juncao",
            "description": "Seats on 45-day courses in China and demonstration packages for suitable sites.",
            "opens_at": now - dt.timedelta(days=30),
            "closes_at": now + dt.timedelta(days=30),
            "anonymity": "open",
            "review_settings": {"reviewers_per_proposal": 2, "max_load": 10},
            "allocation_policy": {
                "award_mode": "whole",
                "pi_cap_awards": 1,
                "group_shares": [{"group": "ldc", "min_share": 0.25}],
            },
            "form": {"technologies": ["hybrid rice", "tilapia", "juncao"]},
        },
    )
    for p in fast_pools:
        call_services.offer_pool(session, fast_call, p)
    for berth_pool, dive_pool in vessel_pools:
        call_services.offer_pool(session, sea_call, berth_pool, max_per_request=4)
        call_services.offer_pool(session, sea_call, dive_pool, max_per_request=4)
    for p in sample_pools:
        call_services.offer_pool(session, lunar_call, p, max_per_request=2000)
    for p in seat_pools:
        call_services.offer_pool(session, prog_call, p, max_per_request=3)
    for p in package_pools:
        call_services.offer_pool(session, prog_call, p, max_per_request=2)
    for cl in (fast_call, sea_call, lunar_call, prog_call):
        call_services.transition_call(session, cl, "open", now=now)
    counts.calls = 4

    # --- staff accounts -----------------------------------------------------
    staff = {
        "admin@opencall.example": ("Site Administrator", "CHN", "OpenCall user office"),
        "manager@fast.example": (
            "Li Na (FAST user office)",
            "CHN",
            "National Astronomical Observatories, CAS",
        ),
        "chair@fast.example": ("Qiu Keping (FAST TAC chair)", "CHN", "Nanjing University"),
        "tech@fast.example": (
            "Zhou Ming (FAST support scientist)",
            "CHN",
            "National Astronomical Observatories, CAS",
        ),
        "manager@idsse.example": (
            "Chen Hai (IDSSE user office)",
            "CHN",
            "Institute of Deep-sea Science and Engineering, CAS",
        ),
        "manager@lesec.example": (
            "Wu Yue (LESEC sample office)",
            "CHN",
            "Lunar Exploration and Space Engineering Center",
        ),
        "manager@livelihood.example": (
            "Huang Lan (programme office)",
            "CHN",
            "International Technology Cooperation Programmes",
        ),
    }
    users: dict[str, User] = {}
    for email, (name, iso3, inst) in staff.items():
        users[email] = account(email, name, iso3, inst)
    users["admin@opencall.example"].is_site_admin = True
    people_services.grant_role(
        session, users["manager@fast.example"].id, "call_manager", provider_id=naoc.id
    )
    people_services.grant_role(
        session, users["manager@fast.example"].id, "provider_admin", provider_id=naoc.id
    )
    people_services.grant_role(
        session, users["chair@fast.example"].id, "chair", call_id=fast_call.id
    )
    people_services.grant_role(
        session, users["tech@fast.example"].id, "technical_reviewer", call_id=fast_call.id
    )
    people_services.grant_role(
        session, users["manager@idsse.example"].id, "call_manager", provider_id=idsse.id
    )
    people_services.grant_role(
        session, users["manager@idsse.example"].id, "chair", call_id=sea_call.id
    )
    people_services.grant_role(
        session, users["manager@lesec.example"].id, "call_manager", provider_id=lesec.id
    )
    people_services.grant_role(
        session, users["manager@lesec.example"].id, "chair", call_id=lunar_call.id
    )
    people_services.grant_role(
        session, users["manager@livelihood.example"].id, "call_manager", provider_id=cicete.id
    )
    people_services.grant_role(
        session, users["manager@livelihood.example"].id, "chair", call_id=prog_call.id
    )

    from opencall.demo import bulk as bulk_path

    if (scale > bulk_path.BULK_ABOVE) if bulk is None else bulk:
        calls = (fast_call, sea_call, lunar_call, prog_call)
        bulk_path.populate(
            session,
            rng,
            scale=scale,
            now=now,
            countries=countries,
            calls=calls,
            pw_hash=pw_hash,
            counts=counts,
            step=step,
        )
        return counts

    # --- applicants ---------------------------------------------------------
    step("applicants", 0)
    classified = sorted(iso for iso, c in countries.items() if c.income_group and iso != "CHN")
    by_income: dict[str, list[str]] = {}
    for iso in classified:
        by_income.setdefault(countries[iso].income_group, []).append(iso)
    # spread over many countries, weighted towards where research communities are
    weights = {"high": 0.40, "upper-middle": 0.27, "lower-middle": 0.21, "low": 0.12}
    n_applicants = int(round(600 * scale))
    pool_countries: list[str] = []
    for grp, w in weights.items():
        members = by_income[grp]
        k = max(1, int(round(w * 130)))
        pool_countries += rng.sample(members, k=min(k, len(members)))
    pool_countries.sort()
    applicants: list[User] = []
    field_of: dict[int, str] = {}
    fields = ["astro"] * 62 + ["ocean"] * 12 + ["lunar"] * 10 + ["agri"] * 16
    for i in range(n_applicants):
        iso3 = pool_countries[i] if i < len(pool_countries) else rng.choice(pool_countries)
        c = countries[iso3]
        fld = rng.choice(fields)
        if fld == "agri" and c.income_group == "high":
            fld = "astro"
        name = person_name(rng, c.un_region, c.un_subregion)
        email = f"applicant{i + 1:03d}@demo.example"
        if i == 0:
            email = "applicant@demo.example"
        u = account(
            email,
            name,
            iso3,
            institution(rng, c.name, fld),
            lang=rng.choice(["en"] * 6 + ["fr", "es", "zh"]),
        )
        applicants.append(u)
        field_of[u.id] = fld
        if i % 100 == 0:
            step("applicants", i)
    counts.applicants = len(applicants)
    counts.applicant_countries = len({u.country_iso3 for u in applicants})

    # --- reviewers ------------------------------------------------------------
    step("reviewers", 0)
    reviewer_split = [
        ("astro", 90, fast_call),
        ("ocean", 20, sea_call),
        ("lunar", 20, lunar_call),
        ("agri", 20, prog_call),
    ]
    reviewers: list[User] = []
    rev_countries = [
        iso for iso in classified if countries[iso].income_group in ("high", "upper-middle")
    ]
    rev_countries += by_income["lower-middle"][:20] + by_income["low"][:6]
    for fld, n, call in reviewer_split:
        areas = FIELD_AREAS[fld]
        for j in range(max(5, int(round(n * scale)))):
            iso3 = rng.choice(rev_countries)
            c = countries[iso3]
            area = areas[j % len(areas)]
            u = account(
                f"reviewer-{fld}{j + 1:02d}@demo.example" if j else f"reviewer-{fld}@demo.example",
                person_name(rng, c.un_region, c.un_subregion),
                iso3,
                institution(rng, c.name, fld),
                expertise=expertise_statement(rng, area),
            )
            people_services.grant_role(session, u.id, "reviewer", call_id=call.id)
            reviewers.append(u)
    counts.reviewers = len(reviewers)

    # --- proposals --------------------------------------------------------------
    by_field: dict[str, list[User]] = {}
    for u in applicants:
        by_field.setdefault(field_of[u.id], []).append(u)
    plan = [
        (fast_call, "astro", 250),
        (sea_call, "ocean", 50),
        (lunar_call, "lunar", 40),
        (prog_call, "agri", 60),
    ]
    made = 0
    for call, fld, n in plan:
        n = int(round(n * scale))
        people = by_field[fld]
        when = min(now, call.closes_at - dt.timedelta(days=1))
        pi_count: dict[int, int] = {}
        for k in range(n):
            step("proposals", made)
            pi = people[k % len(people)] if k < len(people) else rng.choice(people)
            if pi_count.get(pi.id, 0) >= 3:
                pi = rng.choice(people)
            pi_count[pi.id] = pi_count.get(pi.id, 0) + 1
            area = rng.choice(FIELD_AREAS[fld])
            title, abstract, case, kw = proposal_text(rng, area)
            prop = prop_services.create_proposal(
                session,
                call,
                pi,
                title=title,
                abstract=abstract,
                science_case=case,
                keywords=kw,
                area=AREAS[area].label,
                now=when,
            )
            # team: 0-4 co-investigators from the same field, some from other countries
            for coi in rng.sample(people, k=min(len(people), rng.choice([0, 1, 1, 2, 2, 3, 4]))):
                if coi.id == pi.id:
                    continue
                m = prop_services.invite_member(
                    session,
                    prop,
                    {
                        "email": coi.email,
                        "name": coi.name,
                        "institution": coi.institution.name if coi.institution else "Independent",
                        "country_iso3": coi.country_iso3 or "CHN",
                    },
                    actor_id=pi.id,
                    now=when,
                )
                if rng.random() < 0.85:
                    prop_services.respond_to_invitation(session, m, coi, accept=True)
            _add_requests(session, rng, call, prop, fld, area, when)
            if rng.random() < 0.9:
                prop_services.submit(session, prop, actor_id=pi.id, now=when)
            made += 1
        counts.proposals_by_call[call.code] = n
    counts.proposals = made

    # calls whose deadline has passed are closed, their proposals frozen for review
    for cl in (sea_call, lunar_call):
        prop_services.close_call(session, cl, now=now, reason="deadline passed")

    counts.accounts = {
        "applicant": "applicant@demo.example",
        "FAST call manager": "manager@fast.example",
        "FAST TAC chair": "chair@fast.example",
        "FAST technical reviewer": "tech@fast.example",
        "reviewer (radio astronomy)": "reviewer-astro@demo.example",
        "deep-sea user office (also chair)": "manager@idsse.example",
        "site administrator": "admin@opencall.example",
        "password (all demo accounts)": DEMO_PASSWORD,
    }
    session.flush()
    return counts


def _add_requests(
    session: Session,
    rng: random.Random,
    call: Call,
    prop: Proposal,
    fld: str,
    area: str,
    now: dt.datetime,
) -> None:
    offered = [cp.pool for cp in call.pools]
    if fld == "astro":
        hours = rng.choice([4, 6, 8, 10, 12, 15, 20, 24, 30, 40, 50])
        n = rng.randint(1, 8) if area != "hi" else rng.randint(2, 12)
        receiver = FAST_RECEIVERS[0] if rng.random() < 0.8 else FAST_RECEIVERS[1]
        mode = {
            "pulsars": "Tracking",
            "frb": "Tracking",
            "hi": rng.choice(["OTF mapping", "ON-OFF"]),
            "ism": rng.choice(["OTF mapping", "Drift scan", "ON-OFF"]),
        }[area]
        prop_services.add_request(
            session,
            prop,
            "fast",
            {
                "receiver": receiver,
                "mode": mode,
                "targets": _fast_targets(rng, area, n, hours),
                "splittable": rng.random() < 0.7,
            },
            now=now,
        )
    elif fld == "ocean":
        leg = rng.randrange(3)
        berths = [p for p in offered if p.pool_type == "berths"][leg]
        dives = [p for p in offered if p.pool_type == "dives"][leg]
        prop_services.add_request(
            session, prop, "berth", {"berths": rng.randint(1, 3)}, pool_id=berths.id, now=now
        )
        route = berths.attributes["route"]
        sites = []
        for s in range(rng.randint(1, 3)):
            a = rng.randrange(len(route) - 1)
            b = a + 1
            t = rng.random()
            lat = route[a][0] + t * (route[b][0] - route[a][0]) + rng.gauss(0, 0.2)
            lon = (
                route[a][1] + rng.gauss(0, 0.2)
                if abs(route[b][1] - route[a][1]) > 180
                else route[a][1] + t * (route[b][1] - route[a][1]) + rng.gauss(0, 0.2)
            )
            if rng.random() < 0.1:
                lat += rng.choice([-4, 4])  # a few sites lie well off the leg's route
            sites.append(
                {
                    "name": f"Site {s + 1}",
                    "lat": round(max(-89, min(89, lat)), 3),
                    "lon": round(((lon + 180) % 360) - 180, 3),
                    "depth_m": round(rng.uniform(5500, 10900)),
                }
            )
        prop_services.add_request(
            session, prop, "dive", {"sites": sites}, pool_id=dives.id, now=now
        )
    elif fld == "lunar":
        pool = rng.choice(offered)
        prop_services.add_request(
            session,
            prop,
            "sample",
            {
                "sample_type": pool.attributes["sample_type"],
                "mass_mg": float(rng.choice([50, 100, 200, 500, 1000, 1500])),
                "techniques": rng.choice(
                    ["SIMS Pb-Pb dating", "TEM of grain rims", "noble gases", "LA-ICP-MS"]
                ),
                "destructive": rng.random() < 0.5,
            },
            pool_id=pool.id,
            now=now,
        )
    else:
        tech = {"rice": "hybrid rice", "aquaculture": "tilapia", "juncao": "juncao"}[area]
        country = session.get(Country, prop.members[0].country_iso3)
        assert country is not None
        seat_pool = next(
            p for p in offered if p.pool_type == "seats" and p.attributes["technology"] == tech
        )
        prop_services.add_request(
            session,
            prop,
            "seat",
            {
                "technology": tech,
                "seats": rng.randint(1, 3),
                "site": _site(rng, country, tech),
            },
            pool_id=seat_pool.id,
            now=now,
        )
        if rng.random() < 0.4:
            pkg = next(
                p
                for p in offered
                if p.pool_type == "packages" and p.attributes["technology"] == tech
            )
            prop_services.add_request(
                session,
                prop,
                "package",
                {
                    "technology": tech,
                    "packages": 1,
                    "site": _site(rng, country, tech),
                },
                pool_id=pkg.id,
                now=now,
            )


def is_empty(session: Session) -> bool:
    return not session.scalar(select(func.count(Call.id)))


def summary(session: Session) -> dict[str, int]:
    return {
        "facilities": session.scalar(select(func.count(Facility.id))) or 0,
        "calls": session.scalar(select(func.count(Call.id))) or 0,
        "countries": session.scalar(select(func.count(Country.iso3))) or 0,
        "proposals": session.scalar(select(func.count(Proposal.id))) or 0,
        "team members": session.scalar(select(func.count(TeamMember.id))) or 0,
    }
