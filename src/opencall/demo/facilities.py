"""The demo world's providers, facilities and capacity pools: FAST (LST hours),
R/V Tansuo-1 with HOV Fendouzhe (berths and dives on three legs), the Chang'e
lunar samples (mass) and the livelihood programmes (course seats, packages)."""

from __future__ import annotations

import copy
import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

from opencall.facilities import services as fac_services
from opencall.facilities.models import CapacityPool, Facility, Provider
from opencall.facilities.schemas import FAST_SITE_ATTRIBUTES

FAST_RECEIVERS = ["19-beam L-band (1.05-1.45 GHz)", "UWB (0.5-3.3 GHz)"]
FAST_MODES = ["Tracking", "ON-OFF", "Drift scan", "OTF mapping", "Snapshot"]


# the providers (all in China) by slug: (name, description)
_PROVIDERS = {
    "naoc": (
        "National Astronomical Observatories, CAS",
        "Operator of the FAST 500 m aperture spherical radio telescope.",
    ),
    "idsse": (
        "Institute of Deep-sea Science and Engineering, CAS",
        "Operator of R/V Tansuo-1 and the HOV Fendouzhe.",
    ),
    "lesec": (
        "Lunar Exploration and Space Engineering Center, CNSA",
        "Curation and international loans of Chang'e lunar samples.",
    ),
    "livelihood": (
        "International Technology Cooperation Programmes",
        "Hybrid rice, tilapia aquaculture and juncao training and demonstration.",
    ),
}
# the facilities by slug: (name, kind, description, attributes)
_FACILITIES: dict[str, tuple[str, str, str, dict[str, Any]]] = {
    "fast": (
        "FAST 500 m radio telescope",
        "telescope",
        "Dawodang, Pingtang County, Guizhou. 19-beam L-band and UWB receivers.",
        {**FAST_SITE_ATTRIBUTES, "receivers": FAST_RECEIVERS, "modes": FAST_MODES},
    ),
    "tansuo-fendouzhe": (
        "R/V Tansuo-1 with HOV Fendouzhe",
        "vessel",
        "Full-ocean-depth crewed submersible; three persons per dive.",
        {
            "vessel": "Tansuo-1",
            "submersible": "Fendouzhe",
            "max_dive_depth_m": 11000.0,
            "dives_per_day": 1,
        },
    ),
    "change-samples": (
        "Chang'e lunar sample collection",
        "samples",
        "Chang'e-5 (1,731 g, 2020) and Chang'e-6 (1,935.3 g, far side, 2024).",
        {"missions": ["Chang'e-5", "Chang'e-6"]},
    ),
    "livelihood": (
        "Livelihood technology programmes",
        "programme",
        "Courses in Changsha (hybrid rice), Wuxi (tilapia) and Fuzhou (juncao).",
        {"technologies": ["hybrid rice", "tilapia", "juncao"]},
    ),
}


@dataclass
class DemoFacilities:
    """What the calls are built on: each provider, facility and its pools."""

    naoc: Provider
    fast: Facility
    fast_pools: list[CapacityPool]
    idsse: Provider
    vessel: Facility
    vessel_pools: list[tuple[CapacityPool, CapacityPool]]  # (berths, dives) per leg
    lesec: Provider
    samples: Facility
    sample_pools: list[CapacityPool]
    cicete: Provider
    prog: Facility
    seat_pools: list[CapacityPool]
    package_pools: list[CapacityPool]


def _provider(session: Session, slug: str) -> Provider:
    name, description = _PROVIDERS[slug]
    return fac_services.create_provider(
        session, name=name, slug=slug, country_iso3="CHN", description=description
    )


def _facility(session: Session, provider: Provider, slug: str) -> Facility:
    name, kind, description, attributes = _FACILITIES[slug]
    return fac_services.create_facility(
        session,
        provider,
        name=name,
        slug=slug,
        kind=kind,
        description=description,
        attributes=copy.deepcopy(attributes),  # the table's own is never handed out
    )


def build_facilities(session: Session, anchor: dt.date) -> DemoFacilities:
    """The four providers with their facilities and pools (dated from ``anchor``)."""
    naoc = _provider(session, "naoc")
    fast = _facility(session, naoc, "fast")
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
    idsse = _provider(session, "idsse")
    vessel = _facility(session, idsse, "tansuo-fendouzhe")
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
        berths, dives = (
            fac_services.create_pool(
                session,
                vessel,
                name=f"{name} {pool_type} ({a} - {b})",
                pool_type=pool_type,
                amount=amount,
                attributes=attrs,
            )
            for pool_type, amount in (("berths", 12), ("dives", 18))
        )
        vessel_pools.append((berths, dives))
    lesec = _provider(session, "lesec")
    samples = _facility(session, lesec, "change-samples")
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
    cicete = _provider(session, "livelihood")
    prog = _facility(session, cicete, "livelihood")
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
    return DemoFacilities(
        naoc=naoc,
        fast=fast,
        fast_pools=fast_pools,
        idsse=idsse,
        vessel=vessel,
        vessel_pools=vessel_pools,
        lesec=lesec,
        samples=samples,
        sample_pools=sample_pools,
        cicete=cicete,
        prog=prog,
        seat_pools=seat_pools,
        package_pools=package_pools,
    )
