"""trialrev21: a reviewer reads a proposal's requests in their own language.

The review page (and the technical reviewer's) showed the details of a request of a
built-in kind under their keys, as stored: "sample_type", "mass_mg", "destructive: True",
a seat's site as "{'place': ..., 'country_iso3': ...}" and a dive's sites as a Python
list, whatever the reader's language. Only a custom resource's fields had labels. Now
each built-in kind's details are shown under the labels of the applicant's form
(``proposals.labels``), in the reader's language, numbers written as they write them,
a flag as yes or no, a site of a dive a line."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from sqlalchemy.orm import Session

from opencall.reviews.presenters import with_units
from opencall.web.i18n import Translator
from tests import factories as f

SITE = {
    "place": "Kisumu",
    "country_iso3": "KEN",
    "mean_temp_c": 23.5,
    "annual_rain_mm": 1250,
    "altitude_m": 1131,
}


def _page(db: Session, lang: str) -> Any:
    t = Translator(lang)
    return SimpleNamespace(db=db, lang=lang, _=t.gettext, t=t)


def _rows(db: Session, lang: str, kind: str, details: dict[str, Any], pool_id: Any = None) -> Any:
    content = {"requests": [{"kind": kind, "pool_id": pool_id, "amount": 1, "details": details}]}
    [r] = with_units(_page(db, lang), content)["requests"]
    return r["rows"]


def test_a_samples_request_is_read_under_its_labels_in_french(db: Session) -> None:
    _call, pool = f.samples_call(db)
    t = Translator("fr")
    details = {
        "sample_type": "CE-5 regolith",
        "mass_mg": 1250.5,
        "techniques": "XRF",
        "destructive": True,
    }
    assert _rows(db, "fr", "sample", details, pool.id) == [
        (t.gettext("Sample type"), "CE-5 regolith"),
        (t.gettext("Mass (mg)"), "1\u202f250,5"),
        (t.gettext("Techniques"), "XRF"),
        (t.gettext("Destructive analysis"), "oui"),
    ]


def test_a_seats_site_is_read_field_by_field(db: Session) -> None:
    rows = _rows(db, "es", "seat", {"technology": "Drip", "seats": 3, "site": SITE})
    t = Translator("es")
    labels = [label for label, _v in rows]
    assert labels[:3] == [
        t.gettext("Technology"),
        t.gettext("Seats"),
        t.gettext("Place where it will be used"),
    ]
    assert (t.gettext("Altitude (m)"), "1.131") in rows
    assert (t.gettext("Annual rainfall (mm)"), "1.250") in rows
    # the water temperature not given: no row (nor "None")
    assert all("{" not in str(v) and v != "None" for _l, v in rows)
    assert len(rows) == 7


def test_a_dives_sites_are_a_line_each(db: Session) -> None:
    sites = [
        {"name": "Reef A", "lat": -4.5, "lon": 39.7, "depth_m": 1200},
        {"name": "Canyon B", "lat": -4.75, "lon": 39.9, "depth_m": 2500.5},
    ]
    rows = _rows(db, "en", "dive", {"sites": sites})
    assert rows == [
        ("Site 1", "Reef A · Latitude (°): -4.5 · Longitude (°): 39.7 · Depth (m): 1,200"),
        ("Site 2", "Canyon B · Latitude (°): -4.75 · Longitude (°): 39.9 · Depth (m): 2,500.5"),
    ]
