"""A seed bank sending germplasm samples abroad, set up by its operator through the JSON
API on a fresh install (branch trialfac16).

Each request is one shipment: the team names its destination country (a required choice
of country codes) and accepts the Standard Material Transfer Agreement for that shipment
(a required choice whose one option is "accepted": a request without it is refused,
naming the field). The phytosanitary certificate's lead time depends on the destination,
not on where the PI works: the resource's rules by country read the request's
destination (``"country_field": "destination"``), so a PI in the United States shipping
to a field site in Nepal (90 days) is not feasible in a season that begins in 60, while a
Nepalese PI shipping to India (14 days) is awarded; a destination whose imports are
suspended is refused before submission, naming it. Shipments are recorded after the
award with tracking and customs.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from typing import Any

import pytest

from tests.api.test_genebank_journey import review_and_publish
from tests.factories import PINNED_NOW
from tests.journeys import (  # noqa: F401  (applicant, submitted: imported from here by others)
    Client,
    applicant,
    open_call,
    open_facility,
    resource,
    submitted,
)
from tests.web.conftest import Web

pytestmark = [pytest.mark.filterwarnings("ignore"), pytest.mark.usefixtures("pinned_clock")]

SAMPLES = {
    "en": {"one": "seed sample", "other": "seed samples"},
    "zh": {"one": "份种子样品", "other": "份种子样品"},
    "fr": {"one": "échantillon de semences", "other": "échantillons de semences"},
    "es": {"one": "muestra de semillas", "other": "muestras de semillas"},
}
DESTINATIONS = ["ETH", "IND", "KEN", "MWI", "NPL", "NZL", "PER", "USA", "FRA"]
FIELDS = [
    {"key": "destination", "type": "choice", "required": True, "options": DESTINATIONS,
     "labels": {"en": "Destination country", "fr": "Pays de destination",
                "es": "País de destino", "zh": "目的国"}},
    {"key": "smta", "type": "choice", "required": True, "options": ["accepted"],
     "labels": {"en": "Standard Material Transfer Agreement for this shipment",
                "fr": "Accord type de transfert de matériel pour cet envoi",
                "es": "Acuerdo normalizado de transferencia de material para este envío",
                "zh": "本批次的标准材料转让协议"}},
]  # fmt: skip
# the phytosanitary certificate of each destination; New Zealand's imports are suspended
RULES = {"country_field": "destination", "barred": ["NZL"],
         "lead_days": {"NPL": 90, "ETH": 45, "*": 14}}  # fmt: skip
SEASON_STARTS = (PINNED_NOW + dt.timedelta(days=60)).date()
# (PI's country, destination, samples); LDCs: NPL, MWI, ETH
APPLICANTS = [
    ("USA", "NPL", 6),  # a field site in Nepal: 90 days, 60 left
    ("NPL", "IND", 5),  # a Nepalese team's trial in India: 14 days
    ("MWI", "MWI", 6),
    ("ETH", "ETH", 5),  # 45 days: in time
    ("PER", "PER", 4),
    ("FRA", "KEN", 4),
    ("IND", "NZL", 3),  # suspended: refused before submission, then sent to India
]


def panel_call(
    web: Web, office: Client, call: dict[str, Any], policy: dict[str, Any], panel: str
) -> list[Client]:
    """``open_call`` with a panel of two reviewers (``<panel>1@panel.example``, in Japan
    and France)."""
    return open_call(web, office, call, policy,
                     [(f"{panel}1@panel.example", "Panel One", "JPN"),
                      (f"{panel}2@panel.example", "Panel Two", "FRA")])  # fmt: skip


def refused_then_removed(ac: Client, pid: int, said: str) -> None:
    """The submission is refused, saying ``said``, and nothing changes; the team then
    removes its first request."""
    before = ac.get(f"/api/v1/proposals/{pid}/full")
    r = ac.post(f"/api/v1/proposals/{pid}/submit", status=400)
    assert said in r["detail"], r
    assert ac.get(f"/api/v1/proposals/{pid}/full") == before
    gone = before["requests"][0]
    ac.send("DELETE", f"/api/v1/proposals/{pid}/requests/{gone['id']}?version={before['version']}")


def test_a_seed_bank_ships_only_where_the_certificate_comes_in_time(
    web: Web, one_loop: None
) -> None:
    _admin, office, fac = open_facility(
        web, "asb", "Andean Seed Bank", "PER",
        {"name": "Quinoa and potato germplasm", "slug": "germplasm", "kind": "custom"},
    )  # fmt: skip
    body = {
        "name": "Quinoa seed samples", "unit": "seed-sample", "unit_labels": SAMPLES,
        "whole_units": True, "amount": 40, "request_fields": FIELDS,
        "record_kinds": ["shipment"], "period_start": SEASON_STARTS.isoformat(),
        "period_end": (SEASON_STARTS + dt.timedelta(days=90)).isoformat()}  # fmt: skip
    # rules reading a field the form does not have are refused, naming it
    r = resource(office, fac, {**body, "country_rules": {**RULES, "country_field": "country"}},
                 status=400)  # fmt: skip
    assert "'country'" in r["detail"], r
    quinoa = resource(office, fac, {**body, "country_rules": RULES})
    assert quinoa["country_rules"] == {
        "barred": ["NZL"], "country_field": "destination",
        "lead_days": {"*": 14, "ETH": 45, "NPL": 90}}  # fmt: skip

    slug = "quinoa-2027"
    call = {"provider": "asb", "facility": "germplasm", "slug": slug, "code": "QS27",
            "cycle": "2027", "title": "Quinoa samples 2027"}  # fmt: skip
    reviewers = panel_call(web, office, call, {"award_mode": "whole"}, "seed")

    code_of: dict[str, str] = {}
    team: dict[str, tuple[int, Client]] = {}
    for i, (iso3, dest, n) in enumerate(APPLICANTS):
        ac, pid = applicant(web, f"seed{i}@applicants.example", iso3, slug,
                            f"Quinoa trials, {iso3} to {dest}")  # fmt: skip
        version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
        request = {"version": version, "kind": "custom", "pool_id": quinoa["id"],
                   "details": {"amount": n, "destination": dest}}  # fmt: skip
        if i == 0:  # the agreement not accepted: refused, naming it, nothing changed
            before = ac.get(f"/api/v1/proposals/{pid}/full")
            r = ac.post(f"/api/v1/proposals/{pid}/requests", request, status=400)
            assert "Standard Material Transfer Agreement" in r["detail"], r
            assert ac.get(f"/api/v1/proposals/{pid}/full") == before
        request["details"]["smta"] = "accepted"
        ac.post(f"/api/v1/proposals/{pid}/requests", request)
        if dest == "NZL":
            # imports suspended: the team is told before it submits, and nothing changes
            refused_then_removed(ac, pid, "cannot be sent to NZL")
            version = ac.get(f"/api/v1/proposals/{pid}/full")["version"]
            ac.post(f"/api/v1/proposals/{pid}/requests", {
                **request, "version": version,
                "details": {**request["details"], "destination": "IND"}})  # fmt: skip
        code_of[iso3] = submitted(ac, pid)
        team[iso3] = (pid, ac)

    review_and_publish(web, office, slug, reviewers)

    awards = web.client().get(f"/api/v1/calls/{slug}/awards?limit=200").json()["items"]
    got: dict[str, float] = defaultdict(float)
    for a in awards:
        got[a["proposal_code"]] += a["amount"]
    # 33 samples asked less the 6 to Nepal: everything else fits in the 40 offered
    assert code_of["USA"] not in got, got
    for iso3 in ("NPL", "MWI", "ETH", "PER", "FRA", "IND"):
        assert got[code_of[iso3]] > 0, (iso3, got)
    decisions = {d["proposal_code"]: d for d in
                 office.get(f"/api/v1/calls/{slug}/decisions", limit=50)["items"]}  # fmt: skip
    usa = decisions[code_of["USA"]]
    assert "a shipment to Nepal needs 90 days before Quinoa seed samples" in usa["explanation"], usa
    pid, ac = team["USA"]
    assert "a shipment to Nepal" in ac.get(f"/api/v1/proposals/{pid}/outcome")["explanation"]

    # after the award: each shipment recorded with its tracking and customs clearance
    for iso3, (pid, ac) in team.items():
        if code_of[iso3] not in got:
            continue
        ac.post(f"/api/v1/awards/{pid}/records", {"kind": "shipment", "data": {
            "description": f"{got[code_of[iso3]]:g} quinoa samples",
            "shipped_on": (SEASON_STARTS + dt.timedelta(days=3)).isoformat(),
            "delivered_on": (SEASON_STARTS + dt.timedelta(days=12)).isoformat(),
            "tracking_ref": f"QS-{iso3}", "customs_status": "cleared"}})  # fmt: skip
    stages = office.get(f"/api/v1/calls/{slug}/postaward", limit=50)["items"]
    assert len(stages) == len(got) and all(x["used"] for x in stages), stages
