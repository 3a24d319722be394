"""The demo world's people: staff with their roles, applicants spread over more
than 100 countries, and reviewers for each call."""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.demo.calls import DemoCalls
from opencall.demo.facilities import DemoFacilities
from opencall.demo.texts import FIELD_AREAS, expertise_statement, institution, person_name
from opencall.people import services as people_services
from opencall.people.models import Country, User

DEMO_PASSWORD = "opencall-demo"
# the accounts the demo's summary names (what -> e-mail), and their password
DEMO_ACCOUNTS = {
    "applicant": "applicant@demo.example",
    "FAST call manager": "manager@fast.example",
    "FAST TAC chair": "chair@fast.example",
    "FAST technical reviewer": "tech@fast.example",
    "reviewer (radio astronomy)": "reviewer-astro@demo.example",
    "deep-sea user office (also chair)": "manager@idsse.example",
    "site administrator": "admin@opencall.example",
    "password (all demo accounts)": DEMO_PASSWORD,
}


class Accounts:
    """Registers verified demo accounts, all with :data:`DEMO_PASSWORD`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.pw_hash = people_services.hash_password(DEMO_PASSWORD)

    def __call__(
        self, email: str, name: str, iso3: str, inst: str, expertise: str = "", lang: str = "en"
    ) -> User:
        return people_services.register_user(
            self.session,
            email=email,
            name=name,
            password_hash=self.pw_hash,
            institution=inst,
            country_iso3=iso3,
            expertise=expertise,
            language=lang,
            verified=True,
        )

    def grant_reviewer(self, user: User, call: Call) -> None:
        """Make ``user`` a reviewer of ``call``."""
        people_services.grant_role(self.session, user.id, "reviewer", call_id=call.id)


def build_staff(
    session: Session, account: Accounts, fac: DemoFacilities, calls: DemoCalls
) -> dict[str, User]:
    """The site administrator and each provider's user office and chairs."""
    naoc, idsse, lesec, cicete = fac.naoc, fac.idsse, fac.lesec, fac.cicete
    fast_call, sea_call, lunar_call, prog_call = calls.all()
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
    # (account, role, scope) in the order the roles are granted
    grants: list[tuple[str, str, dict[str, int]]] = [
        ("manager@fast.example", "call_manager", {"provider_id": naoc.id}),
        ("manager@fast.example", "provider_admin", {"provider_id": naoc.id}),
        ("chair@fast.example", "chair", {"call_id": fast_call.id}),
        ("tech@fast.example", "technical_reviewer", {"call_id": fast_call.id}),
        ("manager@idsse.example", "call_manager", {"provider_id": idsse.id}),
        ("manager@idsse.example", "chair", {"call_id": sea_call.id}),
        ("manager@lesec.example", "call_manager", {"provider_id": lesec.id}),
        ("manager@lesec.example", "chair", {"call_id": lunar_call.id}),
        ("manager@livelihood.example", "call_manager", {"provider_id": cicete.id}),
        ("manager@livelihood.example", "chair", {"call_id": prog_call.id}),
    ]
    for email, role, scope in grants:
        people_services.grant_role(session, users[email].id, role, **scope)
    return users


@dataclass
class Applicants:
    # the services' User rows, or the bulk path's stand-ins (``demo.bulk``)
    users: list[Any] = field(default_factory=list)
    field_of: dict[int, str] = field(default_factory=dict)  # user id -> field
    classified: list[str] = field(default_factory=list)  # countries with an income group
    by_income: dict[str, list[str]] = field(default_factory=dict)

    def by_field(self) -> dict[str, list[Any]]:
        """The applicants of each field, in the order they registered."""
        out: dict[str, list[Any]] = {}
        for u in self.users:
            out.setdefault(self.field_of[u.id], []).append(u)
        return out


def build_applicants(
    rng: random.Random,
    account: Callable[..., Any],
    countries: dict[str, Country],
    scale: float,
    step: Callable[[str, int], None],
) -> Applicants:
    """600 x ``scale`` applicants, weighted towards where research communities are.

    ``account`` registers one (an :class:`Accounts`, or the bulk path's batched
    registrar, which takes the same arguments)."""
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
    applicants: list[Any] = []
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
    return Applicants(applicants, field_of, classified, by_income)


def build_reviewers(
    rng: random.Random,
    account: Callable[..., Any],
    grant: Callable[[Any, Call], None],
    countries: dict[str, Country],
    applicants: Applicants,
    calls: tuple[Call, Call, Call, Call],
    scale: float,
    step: Callable[[str, int], None],
) -> list[Any]:
    """Reviewers of each call's field (at least 5 a call), granted the reviewer role.

    ``account`` registers one and ``grant(user, call)`` makes them a reviewer of the
    call: the services (an :class:`Accounts` and its :meth:`~Accounts.grant_reviewer`) or the bulk path's
    batched stand-ins, drawing from ``rng`` in the same order."""
    classified, by_income = applicants.classified, applicants.by_income
    fast_call, sea_call, lunar_call, prog_call = calls
    step("reviewers", 0)
    reviewer_split = [
        ("astro", 90, fast_call),
        ("ocean", 20, sea_call),
        ("lunar", 20, lunar_call),
        ("agri", 20, prog_call),
    ]
    reviewers: list[Any] = []
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
            grant(u, call)
            reviewers.append(u)
    return reviewers
