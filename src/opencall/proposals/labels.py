"""What each built-in kind of request asks for, under the words of the applicant's form:
scalar fields (a site's under ``site.``), then an optional table of lines. The editor's
forms (``views.request_forms``) and the reviewers' copy of a proposal
(``reviews.presenters.with_units``, trialrev21) read the same labels."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel

from opencall.proposals.schemas import DiveSite, FastTarget
from opencall.web.i18n import N_


@dataclass(frozen=True)
class Col:
    name: str
    label: str
    kind: str = "text"  # text | number | check | select


# What each request kind asks for: scalar fields, then an optional table of rows.
SCALARS: dict[str, list[Col]] = {
    "fast": [
        Col("receiver", N_("Receiver"), "select"),
        Col("mode", N_("Observing mode"), "select"),
    ],
    "berth": [Col("berths", N_("Berths"), "number"), Col("purpose", N_("Purpose"))],
    "dive": [],
    "sample": [
        Col("sample_type", N_("Sample type"), "select"),
        Col("mass_mg", N_("Mass (mg)"), "number"),
        Col("techniques", N_("Techniques")),
        Col("destructive", N_("Destructive analysis"), "check"),
    ],
    "seat": [
        Col("technology", N_("Technology"), "select"),
        Col("seats", N_("Seats"), "number"),
        Col("site.place", N_("Place where it will be used")),
        Col("site.country_iso3", N_("Country"), "select"),
        Col("site.mean_temp_c", N_("Mean temperature (°C)"), "number"),
        Col("site.annual_rain_mm", N_("Annual rainfall (mm)"), "number"),
        Col("site.altitude_m", N_("Altitude (m)"), "number"),
        Col("site.water_temp_c", N_("Water temperature (°C), for aquaculture"), "number"),
    ],
}
SCALARS["package"] = [
    Col("technology", N_("Technology"), "select"),
    Col("packages", N_("Packages"), "number"),
    *SCALARS["seat"][2:],
]
ROWS: dict[str, tuple[str, type[BaseModel], list[Col]]] = {
    "fast": (
        "targets",
        FastTarget,
        [
            Col("name", N_("Target")),
            Col("ra_deg", N_("RA (h:m:s or degrees)")),
            Col("dec_deg", N_("Dec (d:m:s or degrees)")),
            Col("hours", N_("Hours"), "number"),
        ],
    ),
    "dive": (
        "sites",
        DiveSite,
        [
            Col("name", N_("Site")),
            Col("lat", N_("Latitude (°)"), "number"),
            Col("lon", N_("Longitude (°)"), "number"),
            Col("depth_m", N_("Depth (m)"), "number"),
        ],
    ),
}
