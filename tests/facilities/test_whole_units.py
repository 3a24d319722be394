"""A unit the operator names and declares whole-numbered (a plasma device's "shot"):
its capacity, the offers of calls and the requests are whole numbers, refused
clearly otherwise, as for the built-in countable units (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from opencall.calls import services as call_services
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.facilities import services as fs
from opencall.proposals import services as ps
from opencall.web.i18n import Translator
from tests import factories as f
from tests.facilities.builders import cryo_call

SHOT = {
    "en": {"one": "shot", "other": "shots"},
    "zh": {"one": "炮", "other": "炮"},
    "fr": {"one": "tir", "other": "tirs"},
    "es": {"one": "disparo", "other": "disparos"},
}
AMOUNT_FIELD = [{"key": "aim", "type": "text", "labels": {"en": "Aim"}}]


def _plasma(db: Session):  # type: ignore[no-untyped-def]
    prov = fs.create_provider(db, name="Plasma lab", slug="plasma-lab", country_iso3="FRA")
    return fs.create_facility(db, prov, name="Tokamak", slug="tok", kind="custom", attributes={})


def test_a_whole_unit_refuses_fractions_of_capacity(db: Session) -> None:
    fac = _plasma(db)
    before = f.table_counts(db)
    with pytest.raises(DomainError) as err:
        fs.create_resource(
            db, fac, name="Shots", unit="shot", unit_labels=SHOT, amount=2.5, whole_units=True
        )
    assert err.value.field == "amount"
    assert err.value.message == (
        "A resource counted in shots offers whole units; 2.5 is not a whole number."
    )
    # in the reader's language, the unit's own label included
    fr = Translator("fr").error(err.value)
    assert "tirs" in fr and "2,5" in fr and "whole" not in fr
    assert "炮" in Translator("zh").error(err.value)
    assert "disparos" in Translator("es").error(err.value)
    assert f.table_counts(db) == before
    # without the declaration a named unit stays divisible, as before
    half = fs.create_resource(db, fac, name="Gas", unit="shot", unit_labels=SHOT, amount=2.5)
    assert half.whole_units is False and not half.whole_only
    shots = fs.create_resource(
        db, fac, name="Shots", unit="shot", unit_labels=SHOT, amount=20, whole_units=True
    )
    assert shots.whole_units and shots.whole_only
    # declaring it later checks the amount it already has
    with pytest.raises(DomainError, match="counted in shots offers whole units; 2.5"):
        fs.update_resource(db, half, whole_units=True)
    db.refresh(half)
    assert half.whole_units is False


def test_offers_and_requests_in_a_whole_unit_are_whole(db: Session) -> None:
    fac = _plasma(db)
    shots = fs.create_resource(
        db,
        fac,
        name="Shots",
        unit="shot",
        unit_labels=SHOT,
        amount=20,
        whole_units=True,
        request_fields=AMOUNT_FIELD,
    )
    call = cryo_call(db, fac, [], None)
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="counted in shots offers whole units; 1.5") as err:
        call_services.offer_pool(db, call, shots, 1.5)
    assert "tirs" in Translator("fr").error(err.value)
    assert f.table_counts(db) == before
    call_services.offer_pool(db, call, shots, 10)
    cycle.transition_call(db, call, "open", now=f.NOW)
    applicant = f.user(db, email="pi@plasma.example")
    p = ps.create_proposal(
        db, call, applicant, title="ELM", abstract="a", science_case="b", now=f.NOW
    )
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="Amount: 1.5 is not a whole number of shots"):
        ps.add_request(db, p, "custom", {"amount": 1.5}, pool_id=shots.id, now=f.NOW)
    assert f.table_counts(db) == before
    req = ps.add_request(db, p, "custom", {"amount": 2}, pool_id=shots.id, now=f.NOW)
    assert req.amount == 2


def test_declaring_whole_units_later_checks_what_is_offered_and_requested(db: Session) -> None:
    fac = _plasma(db)
    gas = fs.create_resource(
        db, fac, name="Gas", unit="shot", unit_labels=SHOT, amount=20, request_fields=AMOUNT_FIELD
    )
    fractional = cryo_call(db, fac, [], None)
    call_services.offer_pool(db, fractional, gas, 2.5)
    whole = cryo_call(db, fac, [], None)
    call_services.offer_pool(db, whole, gas, 4)
    cycle.transition_call(db, whole, "open", now=f.NOW)
    applicant = f.user(db, email="gas@plasma.example")
    p = ps.create_proposal(db, whole, applicant, title="Puff", abstract="a", science_case="b",
                           now=f.NOW)  # fmt: skip
    req = ps.add_request(db, p, "custom", {"amount": 1.5}, pool_id=gas.id, now=f.NOW)
    before = f.table_counts(db)
    with pytest.raises(DomainError) as err:
        fs.update_resource(db, gas, whole_units=True)
    assert err.value.field == "whole_units"
    codes = ", ".join(sorted([fractional.code, whole.code]))
    assert err.value.message == (
        "'Gas' cannot be counted in whole units while amounts offered or requested of it "
        f"are not whole numbers (2, in calls {codes}); make them whole first."
    )
    for lang in ("fr", "zh", "es"):
        text = Translator(lang).error(err.value)
        assert "whole" not in text and codes in text and "2" in text
    assert f.table_counts(db) == before
    db.refresh(gas)
    assert gas.whole_units is False
    # a request whole again and the offer made whole: only the offer was left, then none
    req.amount = 2
    db.flush()
    with pytest.raises(DomainError, match=f"not whole numbers \\(1, in calls {fractional.code}\\)"):
        fs.update_resource(db, gas, whole_units=True)
    db.delete(fractional.pools[0])
    db.flush()
    assert fs.update_resource(db, gas, whole_units=True).whole_units is True
