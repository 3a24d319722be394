"""The demo world's proposals: written, teamed, requested and (mostly)
submitted through the same services as the applicants' pages."""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypedDict, TypeVar

from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.demo.accounts import Applicants
from opencall.demo.calls import DemoCalls
from opencall.demo.facilities import FAST_RECEIVERS
from opencall.demo.sky import fast_targets
from opencall.demo.texts import AREAS, FIELD_AREAS, proposal_text
from opencall.people.models import Country, User
from opencall.proposals import services as prop_services
from opencall.proposals.models import Proposal


class _Applicant(Protocol):
    """A User row, or the bulk path's stand-in."""

    @property
    def id(self) -> int: ...


P = TypeVar("P", bound=_Applicant)


def proposal_plan(calls: Sequence[Call], scale: float) -> list[tuple[Call, str, int]]:
    """Each of the four calls (FAST, sea, lunar, programme) with the field of its
    applicants and how many proposals it gets at ``scale``."""
    fast_call, sea_call, lunar_call, prog_call = calls
    plan = [
        (fast_call, "astro", 250),
        (sea_call, "ocean", 50),
        (lunar_call, "lunar", 40),
        (prog_call, "agri", 60),
    ]
    return [(call, fld, int(round(n * scale))) for call, fld, n in plan]


def pick_pi(rng: random.Random, people: Sequence[P], k: int, pi_count: dict[int, int]) -> P:
    """The PI of a call's ``k``-th proposal: each applicant of the field in turn, then
    drawn at random; one who already leads three is replaced by another draw.
    ``pi_count`` (user id -> proposals led in this call) is kept up to date."""
    pi = people[k % len(people)] if k < len(people) else rng.choice(people)
    if pi_count.get(pi.id, 0) >= 3:
        pi = rng.choice(people)
    pi_count[pi.id] = pi_count.get(pi.id, 0) + 1
    return pi


@dataclass(frozen=True)
class DrawnProposal(Generic[P]):
    """A demo proposal as :func:`draw_proposals` draws it: its PI, its research area (a
    key of ``AREAS``) and its texts."""

    pi: P
    area_key: str
    title: str
    abstract: str
    science_case: str
    keywords: str

    @property
    def area(self) -> str:
        """The area's label, as a proposal carries it."""
        return AREAS[self.area_key].label


class _Texts(Protocol):
    """What a proposal says: a drawn one, or an earlier one written again."""

    @property
    def title(self) -> str: ...
    @property
    def abstract(self) -> str: ...
    @property
    def science_case(self) -> str: ...
    @property
    def keywords(self) -> str: ...
    @property
    def area(self) -> str: ...


class ProposalTexts(TypedDict):
    """What a proposal says, by the name a proposal gives each text (create_proposal's
    arguments, the proposal row's columns)."""

    title: str
    abstract: str
    science_case: str
    keywords: str
    area: str


def proposal_texts(texts: _Texts) -> ProposalTexts:
    """What ``texts`` says, as :class:`ProposalTexts`."""
    return ProposalTexts(
        title=texts.title,
        abstract=texts.abstract,
        science_case=texts.science_case,
        keywords=texts.keywords,
        area=texts.area,
    )


def create_draft(
    session: Session, call: Call, pi: User, texts: _Texts, now: dt.datetime
) -> Proposal:
    """A draft proposal in ``call`` led by ``pi`` that says what ``texts`` says."""
    return prop_services.create_proposal(session, call, pi, **proposal_texts(texts), now=now)


def draw_proposals(
    rng: random.Random, people: Sequence[P], fld: str, n: int
) -> Iterator[DrawnProposal[P]]:
    """The ``n`` proposals of a call whose applicants are ``people`` (of field ``fld``),
    drawn one at a time: the caller draws each one's team and requests from ``rng``
    before asking for the next, so that the services path (:func:`build_proposals`) and
    the rows path (``demo.bulk``) read the stream in the same order."""
    pi_count: dict[int, int] = {}
    for k in range(n):
        pi = pick_pi(rng, people, k, pi_count)
        area = rng.choice(FIELD_AREAS[fld])
        title, abstract, case, kw = proposal_text(rng, area)
        yield DrawnProposal(pi, area, title, abstract, case, kw)


def draw_team(rng: random.Random, people: Sequence[P], pi: P) -> list[tuple[P, bool]]:
    """A proposal's co-investigators: 0-4 applicants of the PI's field (some from other
    countries), each with whether they accept the invitation (85 %)."""
    team = []
    for coi in rng.sample(people, k=min(len(people), rng.choice([0, 1, 1, 2, 2, 3, 4]))):
        if coi.id != pi.id:
            team.append((coi, rng.random() < 0.85))
    return team


def build_proposals(
    session: Session,
    rng: random.Random,
    calls: DemoCalls,
    applicants: Applicants,
    now: dt.datetime,
    scale: float,
    step: Callable[[str, int], None],
) -> dict[str, int]:
    """About 400 x ``scale`` proposals; returns how many per call code."""
    made_by_call: dict[str, int] = {}
    by_field: dict[str, list[User]] = applicants.by_field()
    made = 0
    for call, fld, n in proposal_plan(calls.all(), scale):
        people = by_field[fld]
        when = min(now, call.closes_at - dt.timedelta(days=1))
        for drawn in draw_proposals(rng, people, fld, n):
            step("proposals", made)
            pi = drawn.pi
            prop = create_draft(session, call, pi, drawn, when)
            for coi, accepts in draw_team(rng, people, pi):
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
                if accepts:
                    prop_services.respond_to_invitation(session, m, coi, accept=True)
            add_requests(session, rng, call, prop, fld, drawn.area_key, when)
            if rng.random() < 0.9:
                prop_services.submit(session, prop, actor_id=pi.id, now=when)
            made += 1
        made_by_call[call.code] = n
    return made_by_call


def add_requests(
    session: Session,
    rng: random.Random,
    call: Call,
    prop: Proposal,
    fld: str,
    area: str,
    now: dt.datetime,
) -> None:
    country = session.get(Country, prop.members[0].country_iso3)
    assert country is not None
    for kind, details, pool_id in request_specs(rng, call, fld, area, country):
        prop_services.add_request(session, prop, kind, details, pool_id=pool_id, now=now)


def request_specs(
    rng: random.Random, call: Call, fld: str, area: str, pi_country: Country
) -> list[tuple[str, dict[str, Any], int | None]]:
    """The requests a demo proposal of field ``fld`` (area ``area``) asks for, as
    (kind, details, pool id): drawn here once, written by the services
    (:func:`add_requests`) or in batches (``demo.bulk``)."""

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
        return [
            (
                "fast",
                {
                    "receiver": receiver,
                    "mode": mode,
                    "targets": fast_targets(rng, area, n, hours),
                    "splittable": rng.random() < 0.7,
                },
                None,
            )
        ]
    if fld == "ocean":
        leg = rng.randrange(3)
        berths = [p for p in offered if p.pool_type == "berths"][leg]
        dives = [p for p in offered if p.pool_type == "dives"][leg]
        out: list[tuple[str, dict[str, Any], int | None]] = [
            ("berth", {"berths": rng.randint(1, 3)}, berths.id)
        ]
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
                lat += rng.choice([-4, 4])
            sites.append(
                {
                    "name": f"Site {s + 1}",
                    "lat": round(max(-89, min(89, lat)), 3),
                    "lon": round(((lon + 180) % 360) - 180, 3),
                    "depth_m": round(rng.uniform(5500, 10900)),
                }
            )
        out.append(("dive", {"sites": sites}, dives.id))
        return out
    if fld == "lunar":
        pool = rng.choice(offered)
        return [
            (
                "sample",
                {
                    "sample_type": pool.attributes["sample_type"],
                    "mass_mg": float(rng.choice([50, 100, 200, 500, 1000, 1500])),
                    "techniques": rng.choice(
                        ["SIMS Pb-Pb dating", "TEM of grain rims", "noble gases", "LA-ICP-MS"]
                    ),
                    "destructive": rng.random() < 0.5,
                },
                pool.id,
            )
        ]
    tech = {"rice": "hybrid rice", "aquaculture": "tilapia", "juncao": "juncao"}[area]
    seat_pool = next(
        p for p in offered if p.pool_type == "seats" and p.attributes["technology"] == tech
    )
    specs: list[tuple[str, dict[str, Any], int | None]] = [
        (
            "seat",
            {
                "technology": tech,
                "seats": rng.randint(1, 3),
                "site": _site(rng, pi_country, tech),
            },
            seat_pool.id,
        )
    ]
    if rng.random() < 0.4:
        pkg = next(
            p for p in offered if p.pool_type == "packages" and p.attributes["technology"] == tech
        )
        specs.append(
            (
                "package",
                {"technology": tech, "packages": 1, "site": _site(rng, pi_country, tech)},
                pkg.id,
            )
        )
    return specs


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
