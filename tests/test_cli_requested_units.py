"""``opencall proposals list`` says what each proposal asks for in each unit ("80 g, 20
centimetres"), never a sum of grams and centimetres ("100"): found listing a core
repository's call, whose proposals ask for a section's mass and another's length."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from opencall.calls import services as call_services
from opencall.cli import app
from opencall.cycle import services as cycle_services
from opencall.db import unit_of_work
from opencall.facilities import services as fac_services
from opencall.proposals import services as prop_services
from tests import factories as F
from tests.cli_db import cli_database

CM = {
    lang: {"one": one, "other": other}
    for lang, one, other in (
        ("en", "centimetre", "centimetres"),
        ("zh", "厘米", "厘米"),
        ("fr", "centimètre", "centimètres"),
        ("es", "centímetro", "centímetros"),
    )
}


def test_proposals_list_gives_the_request_per_unit(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cli_database(tmp_path, monkeypatch, "units") as (runner, factory):
        with unit_of_work(factory) as s:
            prov = fac_services.create_provider(s, name="Cores", slug="cores", country_iso3="GBR")
            fac = fac_services.create_facility(
                s, prov, name="Store", slug="store", kind="custom", attributes={}
            )
            mass = fac_services.create_resource(s, fac, name="GC-17", unit="g", amount=600)
            length = fac_services.create_resource(
                s, fac, name="PC-03", unit="cm", amount=150, unit_labels=CM
            )
            call = call_services.create_call(
                s,
                fac,
                {
                    "slug": "cores-2027",
                    "code": "NC27",
                    "title": "Core sampling",
                    "cycle": "2027",
                    "opens_at": F.NOW - dt.timedelta(days=3),
                    "closes_at": F.NOW + dt.timedelta(days=30),
                },
            )
            call_services.offer_pool(s, call, mass)
            call_services.offer_pool(s, call, length)
            cycle_services.transition_call(s, call, "open", now=F.NOW)
            p = prop_services.create_proposal(
                s, call, F.user(s), title="Provenance", abstract="a", science_case="b", now=F.NOW
            )
            for pool, amount in ((mass, 80), (length, 20)):
                prop_services.add_request(
                    s, p, "custom", {"amount": amount}, pool_id=pool.id, now=F.NOW
                )
        r = runner.invoke(app, ["proposals", "list", "cores-2027"])
        assert r.exit_code == 0, r.output
        out = " ".join(r.output.replace("│", " ").split())
        assert "80 g, 20 centimetres" in out, r.output
        assert " 100 " not in out, r.output
