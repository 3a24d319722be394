"""Custom facilities and their resources through the services (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy.orm import Session

from opencall.calls import services as call_services
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.facilities import services as fs
from opencall.facilities.domain import unit_label
from opencall.proposals import services as ps
from tests import factories as f
from tests.facilities.builders import MAINTENANCE, cryo_call, cryo_centre

UTC = dt.UTC


def test_the_cryo_em_centre(db: Session) -> None:
    fac, krios, glacios = cryo_centre(db)
    assert fac.kind == "custom" and krios.pool_type == "custom"
    assert unit_label(krios.unit, krios.unit_labels, 3, "en") == "sessions"
    assert [(u.reason, u.starts_at) for u in glacios.unavailable] == [
        ("maintenance", MAINTENANCE["starts_at"])
    ]
    assert glacios.slot_hours == 24 and glacios.period_end == dt.date(2027, 9, 28)


@pytest.mark.parametrize(
    ("kw", "field", "message"),
    [
        ({"unit": "widget"}, "unit", "Unknown unit 'widget'"),
        ({"amount": 90}, "amount", "at most 83 fit"),
        ({"amount": 2.5}, "amount", "whole number"),
        ({"slot_hours": None}, "slot_hours", "length of one session"),
        (
            {
                "unavailable": [
                    MAINTENANCE,
                    {
                        "starts_at": dt.datetime(2027, 8, 5, tzinfo=UTC),
                        "ends_at": dt.datetime(2027, 8, 12, tzinfo=UTC),
                    },
                ]
            },
            "calendar",
            "overlap",
        ),
        ({"request_fields": [{"key": "x", "type": "colour", "labels": {"en": "X"}}]},
         "request_fields", "field 1"),
        ({"name": "Krios G4"}, "name", "already has a resource"),
    ],
)  # fmt: skip
def test_bad_resources_are_refused_and_change_nothing(
    db: Session, kw: dict, field: str, message: str
) -> None:
    fac, _krios, _glacios = cryo_centre(db)
    doc = {
        "name": "Talos",
        "unit": "session",
        "amount": 10,
        "period_start": dt.date(2027, 7, 1),
        "period_end": dt.date(2027, 9, 28),
        "slot_hours": 24,
        "unavailable": [MAINTENANCE],
    }
    doc.update(kw)
    before = f.table_counts(db)
    with pytest.raises(DomainError) as err:
        fs.create_resource(db, fac, **doc)  # type: ignore[arg-type]
    assert err.value.field == field
    assert message in err.value.message
    assert f.table_counts(db) == before


def test_presets_stay_presets(db: Session) -> None:
    fac = f.fast_facility(db)
    with pytest.raises(DomainError, match="kind custom"):
        fs.create_resource(db, fac, name="x", unit="h", amount=1)
    cfac, _k, _g = cryo_centre(db)
    with pytest.raises(DomainError, match="create_resource"):
        fs.create_pool(db, cfac, name="x", pool_type="seats", amount=1, attributes={})


def test_a_maintenance_week_that_leaves_too_few_slots_is_refused(db: Session) -> None:
    _fac, krios, _g = cryo_centre(db)  # 80 of 90 sessions
    two_weeks = {
        "starts_at": dt.datetime(2027, 8, 2, tzinfo=UTC),
        "ends_at": dt.datetime(2027, 8, 16, tzinfo=UTC),
        "reason": "refit",
    }
    with pytest.raises(DomainError, match="at most 76 fit"):
        fs.add_unavailable(db, krios, **two_weeks)  # type: ignore[arg-type]
    db.refresh(krios)
    assert krios.unavailable == []
    fs.add_unavailable(db, krios, **MAINTENANCE)  # type: ignore[arg-type]
    assert len(krios.unavailable) == 1
    fs.remove_unavailable(db, krios, krios.unavailable[0].id)
    assert krios.unavailable == []


def test_over_commit_across_calls_is_refused(db: Session) -> None:
    fac, krios, glacios = cryo_centre(db)
    first = cryo_call(db, fac, [krios], 50)
    assert first.pools[0].amount == 50
    second = cryo_call(db, fac, [], None)
    before = f.table_counts(db)
    with pytest.raises(DomainError) as err:
        call_services.offer_pool(db, second, krios, 31)
    assert err.value.field == "amount"
    assert "'Krios G4' has 80 sessions; other calls already offer 50" in err.value.message
    assert "at most 30 (asked: 31)" in err.value.message
    assert f.table_counts(db) == before
    call_services.offer_pool(db, second, krios, 30)
    # the resource's amount cannot go below what calls offer
    with pytest.raises(DomainError, match="Calls already offer 80"):
        fs.update_resource(db, krios, amount=79)
    assert krios.amount == 80
    fs.update_resource(db, glacios, amount=83, name="Glacios 2")
    assert (glacios.amount, glacios.name) == (83, "Glacios 2")


def test_offering_a_resource_the_call_already_offers_is_refused(db: Session) -> None:
    """A second offer of the same resource to one call (with or without an amount)
    is a clear refusal naming the resource, not a database error."""
    fac, krios, _g = cryo_centre(db)
    call = cryo_call(db, fac, [krios], 50)
    before = f.table_counts(db)
    for amount in (10, None):
        with pytest.raises(DomainError) as err:
            call_services.offer_pool(db, call, krios, amount)
        assert err.value.field == "pool"
        assert "already offers 'Krios G4'" in err.value.message
    assert f.table_counts(db) == before
    assert [cp.amount for cp in call.pools] == [50]


def test_a_call_offers_whole_slots_and_whole_berths(db: Session) -> None:
    """Offering 2.5 sessions of a slot-based resource, or 2.5 berths (people) of one
    without a calendar, is refused with a message and changes nothing."""
    fac, krios, _g = cryo_centre(db)
    berths = fs.create_resource(db, fac, name="Berths", unit="berth", amount=12)
    call = cryo_call(db, fac, [], None)
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="whole slots; 2.5 is not a whole number") as err:
        call_services.offer_pool(db, call, krios, 2.5)
    assert err.value.field == "amount"
    with pytest.raises(DomainError, match="counted in berths offers whole units; 2.5"):
        call_services.offer_pool(db, call, berths, 2.5)
    assert f.table_counts(db) == before
    call_services.offer_pool(db, call, berths, 3)
    assert [cp.amount for cp in call.pools] == [3]


def test_a_slot_based_resource_is_counted_in_whole_units(db: Session) -> None:
    """A resource offered in slots (a magnet lab's 24-hour days in a unit that is not
    countable by itself) is counted in whole slots everywhere: the API says so
    (``whole_units``) and a call's smallest request of 1.5 days is refused, unchanged."""
    fac, _k, _g = cryo_centre(db)
    cell = fs.create_resource(
        db, fac, name="Cell 1", unit="day", amount=20, slot_hours=24,
        period_start=dt.date(2027, 7, 1), period_end=dt.date(2027, 7, 31),
    )  # fmt: skip
    assert cell.whole_only
    call = cryo_call(db, fac, [], None)
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="offers whole units; 1.5 is not") as err:
        call_services.offer_pool(db, call, cell, 10, 4, min_per_request=1.5)
    assert err.value.field == "min_per_request"
    assert f.table_counts(db) == before


def test_archived_calls_still_count(db: Session) -> None:
    fac, krios, _g = cryo_centre(db)
    old = cryo_call(db, fac, [krios], 80)
    old.status = "archived"
    db.flush()
    new = cryo_call(db, fac, [], None)
    with pytest.raises(DomainError, match="other calls already offer 80"):
        call_services.offer_pool(db, new, krios, 1)


def test_a_released_call_holds_what_it_awarded_the_rest_returns(db: Session) -> None:
    """A rapid-access route runs one call per round on the same resource: once a round's
    decisions are released, what it did not award is offered to the next round."""
    from opencall.allocation import services as allocation_services  # registers its counter
    from opencall.allocation.models import Award

    assert allocation_services.awarded_by_call in call_services.AWARD_COUNTERS
    fac, krios, _g = cryo_centre(db)
    first = cryo_call(db, fac, [krios], 50)
    p = _proposal(db, first)
    good = {"amount": 12, "specimen": "ribosome", "mode": "screening"}
    req = ps.add_request(db, p, "custom", good, pool_id=krios.id, now=f.NOW)
    db.add(Award(call_id=first.id, proposal_id=p.id, request_id=req.id, pool_id=krios.id,
                 amount=12.0))  # fmt: skip
    db.flush()
    second = cryo_call(db, fac, [], None)
    # awarded but not released: the first round still holds its whole offer
    with pytest.raises(DomainError, match="at most 30 \\(asked: 31\\)"):
        call_services.offer_pool(db, second, krios, 31)
    first.decisions_released_at = f.NOW
    db.flush()
    assert fs.committed_amount(db, krios) == 12
    with pytest.raises(DomainError, match="other calls already offer 12, so this call can "
                                          "offer at most 68 \\(asked: 69\\)"):  # fmt: skip
        call_services.offer_pool(db, second, krios, 69)
    assert call_services.offer_pool(db, second, krios).amount == 68  # what is left
    with pytest.raises(DomainError, match="Calls already offer 80"):
        fs.update_resource(db, krios, amount=79)


def _proposal(db: Session, call):  # type: ignore[no-untyped-def]
    cycle.transition_call(db, call, "open", now=f.NOW)
    return ps.create_proposal(
        db, call, f.user(db), title="Ribosome", abstract="a", science_case="b", now=f.NOW
    )


def test_custom_requests_are_judged_by_the_declared_form(db: Session) -> None:
    fac, krios, glacios = cryo_centre(db)
    call = cryo_call(db, fac, [krios, glacios], 40)
    p = _proposal(db, call)
    good = {"amount": 2, "specimen": "ribosome", "mode": "screening", "grids": "3"}
    req = ps.add_request(db, p, "custom", good, pool_id=krios.id, now=f.NOW)
    assert (req.amount, req.details["grids"]) == (2, 3)
    before = f.table_counts(db)
    for details, field, message in [
        ({**good, "grids": 20}, "details.grids", "Grids: must be at most 12"),
        ({**good, "mode": "tomography"}, "details.mode", "Mode: choose one of"),
        ({"amount": 2, "mode": "screening"}, "details.specimen", "Specimen: this field is required"),
        ({**good, "amount": 41}, "details.amount", "exceeds what the call offers"),
        ({**good, "impossible_dates": [["2027-08-10", "2027-08-01"]]}, "details.impossible_dates",
         "last day"),
    ]:  # fmt: skip
        with pytest.raises(DomainError) as err:
            ps.add_request(db, p, "custom", details, pool_id=glacios.id, now=f.NOW)
        assert err.value.field == field, details
        assert message in err.value.message
    assert f.table_counts(db) == before


def test_bundles(db: Session) -> None:
    fac, krios, glacios = cryo_centre(db)
    call = cryo_call(db, fac, [krios, glacios], 40)
    p = _proposal(db, call)
    d = {"amount": 1, "specimen": "s", "mode": "screening"}
    a = ps.add_request(db, p, "custom", d, pool_id=krios.id, bundle="pair", now=f.NOW)
    assert ("bundle", "Bundle 'pair' has one request; an all-or-nothing bundle needs at least "
            "two requests of the same proposal.") in ps.submission_problems(p)  # fmt: skip
    b = ps.add_request(
        db, p, "custom", {**d, "mode": "data collection"}, pool_id=glacios.id, now=f.NOW
    )
    ps.set_bundle(db, p, [a.id, b.id], "pair", now=f.NOW)
    assert (a.bundle, b.bundle) == ("pair", "pair")
    assert not [x for x in ps.submission_problems(p) if x[0] == "bundle"]
    assert ps.snapshot(p)["requests"][0]["bundle"] == "pair"
    # a bundle of one, or with a request of another proposal (another call), is refused
    other_fac, k2, _ = cryo_centre(db)
    other = _proposal(db, cryo_call(db, other_fac, [k2], 10))
    c = ps.add_request(db, other, "custom", d, pool_id=k2.id, now=f.NOW)
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="this proposal only"):
        ps.set_bundle(db, p, [a.id, c.id], "mixed", now=f.NOW)
    with pytest.raises(DomainError, match="at least two"):
        ps.set_bundle(db, p, [a.id], "solo", now=f.NOW)
    with pytest.raises(DomainError, match="bundle name"):
        ps.set_bundle(db, p, [a.id, b.id], "a b", now=f.NOW)
    with pytest.raises(DomainError, match="resources this call offers"):
        ps.add_request(db, other, "custom", d, pool_id=krios.id, bundle="x", now=f.NOW)
    assert f.table_counts(db) == before
    assert (a.bundle, b.bundle) == ("pair", "pair")
    ps.set_bundle(db, p, [a.id], None, now=f.NOW)
    assert (a.bundle, b.bundle) == (None, None)  # a bundle of one is dissolved


def test_a_compulsory_bundle_refuses_a_lone_request(db: Session) -> None:
    """The operator offers the Glacios only together with the Krios (``bundle_with``, as
    ROV dives only with a berth): a lone Glacios request, or one bundled with another
    Glacios request, blocks submission with a message naming both; bundled with a Krios
    request it passes. Bad rules are refused and change nothing."""
    fac, krios, glacios = cryo_centre(db)
    before = f.table_counts(db)
    for bad, message in (([glacios.id], "with itself"), ([10**6], "not a resource of")):
        with pytest.raises(DomainError, match=message) as err:
            fs.update_resource(db, glacios, bundle_with=bad)
        assert err.value.field == "bundle_with"
    assert f.table_counts(db) == before and glacios.bundle_with == []
    fs.update_resource(db, glacios, bundle_with=[krios.id])
    assert glacios.bundle_with == [krios.id]
    call = cryo_call(db, fac, [krios, glacios], 40)
    p = _proposal(db, call)
    d = {"amount": 1, "specimen": "s", "mode": "screening"}
    g1 = ps.add_request(db, p, "custom", d, pool_id=glacios.id, now=f.NOW)
    g2 = ps.add_request(db, p, "custom", d, pool_id=glacios.id, now=f.NOW)
    lone = ("bundle", "A request for 'Glacios' must be in an all-or-nothing bundle with a "
            "request for 'Krios G4'.")  # fmt: skip
    assert [x for x in ps.submission_problems(p) if x[0] == "bundle"] == [lone]
    ps.set_bundle(db, p, [g1.id, g2.id], "two", now=f.NOW)
    assert lone in ps.submission_problems(p)
    k = ps.add_request(db, p, "custom", d, pool_id=krios.id, now=f.NOW)
    ps.set_bundle(db, p, [g1.id, g2.id, k.id], "two", now=f.NOW)
    assert not [x for x in ps.submission_problems(p) if x[0] == "bundle"]
    # the Krios alone is free: the rule binds the Glacios only
    ps.set_bundle(db, p, [k.id], None, now=f.NOW)
    assert (g1.bundle, g2.bundle, k.bundle) == ("two", "two", None)
    assert [x for x in ps.submission_problems(p) if x[0] == "bundle"] == [lone]


def test_an_offer_without_amount_takes_what_is_left(db: Session) -> None:
    fac, krios, _g = cryo_centre(db)
    cryo_call(db, fac, [krios], 50)
    second = cryo_call(db, fac, [krios], None)
    assert second.pools[0].amount == 30
    third = cryo_call(db, fac, [], None)
    before = f.table_counts(db)
    with pytest.raises(DomainError, match="nothing left to offer: other calls already offer all"):
        call_services.offer_pool(db, third, krios)
    assert f.table_counts(db) == before


def test_reviewers_read_a_custom_request_in_its_unit_and_labels(db: Session) -> None:
    """A reviewer's page shows the resource's own unit and its fields' labels (in the
    reviewer's language where the operator gave one), not bare numbers and keys."""
    from types import SimpleNamespace

    from opencall.reviews.presenters import with_units

    fac, krios, _glacios = cryo_centre(db)
    call = cryo_call(db, fac, [krios], 40)
    p = _proposal(db, call)
    d = {"amount": 2, "specimen": "ribosome", "mode": "screening"}
    ps.add_request(db, p, "custom", d, pool_id=krios.id, now=f.NOW)
    ps.add_request(db, p, "custom", {**d, "amount": 1}, pool_id=krios.id, now=f.NOW)
    content = ps.snapshot(p)
    en = with_units(SimpleNamespace(db=db, lang="en"), content)["requests"]
    assert [(r["amount"], r["unit"]) for r in en] == [(2, "sessions"), (1, "session")]
    assert ("Specimen", "ribosome") in en[0]["rows"] and ("Mode", "screening") in en[0]["rows"]
    fr = with_units(SimpleNamespace(db=db, lang="fr"), content)["requests"]
    zh = with_units(SimpleNamespace(db=db, lang="zh"), content)["requests"]
    assert zh[0]["unit"] == unit_label("session", None, 2, "zh") != "sessions"
    assert ("Spécimen", "ribosome") in fr[0]["rows"]
    assert ("Mode", "screening") in fr[0]["rows"]  # no French label given: the English one


def test_a_file_field_names_a_file_attached_to_the_proposal(db: Session) -> None:
    """A request's file field gives the name of a file attached to the proposal
    (docs/operators.md): naming one that is not attached blocks submission, saying
    which field and which name, until the file is attached."""
    from opencall.proposals.models import Attachment

    fac, krios, _g = cryo_centre(db)
    fields = [*krios.request_fields, {"key": "safety", "type": "file", "required": True,
                                      "labels": {"en": "Safety sheet", "fr": "Fiche de sécurité"}}]  # fmt: skip
    fs.update_resource(db, krios, request_fields=fields)
    call = cryo_call(db, fac, [krios], 40)
    p = _proposal(db, call)
    details = {"amount": 1, "specimen": "s", "mode": "screening", "safety": "msds.pdf"}
    ps.add_request(db, p, "custom", details, pool_id=krios.id, now=f.NOW)
    problem = ("requests", "Safety sheet: no file named 'msds.pdf' is attached to this proposal.")
    assert problem in ps.submission_problems(p)
    from opencall.web.i18n import Translator, error_json

    # said in the reader's language with the resource's label in that language (the
    # English one where the operator gave none)
    [(field, error)] = [x for x in ps.submission_errors(p) if x[0] == "requests"]
    said = {lang: Translator(lang).error(error) for lang in ("en", "fr", "zh", "es")}
    assert said == {
        "en": problem[1],
        "fr": "Fiche de sécurité : aucun fichier nommé 'msds.pdf' n'est joint à cette proposition.",
        "zh": "Safety sheet：本提案未附有名为 'msds.pdf' 的文件。",
        "es": "Safety sheet: no hay ningún archivo llamado 'msds.pdf' adjunto a esta propuesta.",
    }
    # for API clients: a stable id and plain parameters (the default label)
    body = error_json(error, "fr", "requests: ")
    assert body["message_id"] == "%(label)s: no file named %(name)s is attached to this proposal."
    assert body["params"] == {"label": "Safety sheet", "name": "'msds.pdf'"}
    assert type(body["params"]["label"]) is str
    db.add(Attachment(proposal_id=p.id, purpose="scientific", filename="msds.pdf",
                      content_type="application/pdf", size=10, pages=1, sha256="0" * 64,
                      storage_key="k"))  # fmt: skip
    db.flush()
    db.refresh(p)
    assert problem not in ps.submission_problems(p)


def test_refusals_name_the_unit_in_the_readers_language(db: Session) -> None:
    """A refusal that names an amount of a resource gives its unit in the language it is
    read in (the built-in "session": 场次, sesiones, not the English word in every
    language). Before the fix the amount's unit was put into the message in English."""
    from opencall.web.i18n import Translator

    fac, krios, glacios = cryo_centre(db)
    call = cryo_call(db, fac, [krios], 50)
    fr, es, zh = Translator("fr"), Translator("es"), Translator("zh")
    with pytest.raises(DomainError) as err:
        call_services.offer_pool(db, call, krios, 10)  # offered already
    assert "(50 sessions)" in err.value.message
    assert "(50 sesiones)" in es.error(err.value)
    assert "50 场次" in zh.error(err.value) and "sessions" not in zh.error(err.value)
    other = cryo_call(db, fac, [], None)
    with pytest.raises(DomainError) as err:
        call_services.offer_pool(db, other, krios, 40)  # 50 of 80 offered already
    assert "80 场次" in zh.error(err.value) and "sessions" not in zh.error(err.value)
    p = _proposal(db, cryo_call(db, fac, [glacios], 5))
    asked = {"amount": 6, "specimen": "s", "mode": "screening"}
    with pytest.raises(DomainError) as err:
        ps.add_request(db, p, "custom", asked, pool_id=glacios.id, now=f.NOW)
    assert "(6 sessions)" in err.value.message
    assert "场次" in zh.error(err.value) and "sessions" not in zh.error(err.value)
    with pytest.raises(DomainError) as err:
        fs.create_resource(db, fac, name="Beamtime", unit="shift", amount=9)
    assert "counted in shifts needs the length of one shift in hours" in err.value.message
    assert "« postes »" in fr.error(err.value) and "« poste »" in fr.error(err.value)


def test_a_fractional_request_names_the_amount_and_the_unit(db: Session) -> None:
    """An applicant asking 1.5 magnet days of a slot-based resource counted in days is
    told "1.5 is not a whole number of days", in their language, not "enter a whole
    number of slots" (a word of the scheduler's); nothing is added."""
    from opencall.web.i18n import Translator

    fac, _k, _g = cryo_centre(db)
    cell = fs.create_resource(
        db, fac, name="Cell 1", unit="day", amount=20, slot_hours=24,
        period_start=dt.date(2027, 7, 1), period_end=dt.date(2027, 7, 31),
    )  # fmt: skip
    p = _proposal(db, cryo_call(db, fac, [cell], 10))
    before = f.table_counts(db)
    with pytest.raises(DomainError) as err:
        ps.add_request(db, p, "custom", {"amount": 1.5}, pool_id=cell.id, now=f.NOW)
    assert err.value.message == "Amount: 1.5 is not a whole number of days."
    assert err.value.field == "details.amount"
    assert "1,5" in Translator("fr").error(err.value) and "jours" in Translator("fr").error(
        err.value
    )
    zh = Translator("zh").error(err.value)
    assert "天" in zh and "days" not in zh and "Amount" not in zh, zh
    assert f.table_counts(db) == before


def test_request_limits_refuse_in_order_with_their_own_messages(db: Session) -> None:
    """What the call offers, its minimum and its maximum per request, checked in that
    order: a preset pool's refusals point at ``amount`` and name the unit of each limit,
    a custom resource's point at ``details.amount`` (messages of their own)."""
    call, pool = f.samples_call(db)
    p = ps.create_proposal(
        db, call, f.user(db), title="T", abstract="a", science_case="b", now=f.NOW
    )
    cp = call.pools[0]
    cp.min_per_request = 50
    db.flush()
    fac, _krios, glacios = cryo_centre(db)
    custom = cryo_call(db, fac, [glacios], 40)
    q = _proposal(db, custom)
    ccp = custom.pools[0]
    ccp.min_per_request, ccp.max_per_request = 2, 10
    db.flush()
    good = {"amount": 2, "specimen": "ribosome", "mode": "screening", "grids": "3"}
    before = f.table_counts(db)
    got = []
    for mass in (1001, 10, 401):
        with pytest.raises(DomainError) as err:
            ps.add_request(
                db,
                p,
                "sample",
                {"sample_type": "CE-5 regolith", "mass_mg": mass},
                pool_id=pool.id,
                now=f.NOW,
            )
        got.append((err.value.field, err.value.message, err.value.params))
    for amount in (41, 1, 11):
        with pytest.raises(DomainError) as err:
            ps.add_request(
                db, q, "custom", {**good, "amount": amount}, pool_id=glacios.id, now=f.NOW
            )
        got.append((err.value.field, err.value.message, err.value.params))
    ce5 = "'CE-5 regolith'"
    assert got == [
        (
            "amount",
            f"The request (1001 mg) exceeds what the call offers in {ce5} (1000 mg).",
            {"amount": "1001", "unit": "mg", "pool": ce5, "offered": "1000", "unit2": "mg"},
        ),
        (
            "amount",
            f"The request (10 mg) is below the minimum per request of 50 mg in {ce5}.",
            {"amount": "10", "unit": "mg", "limit": "50", "unit2": "mg", "name": ce5},
        ),
        (
            "amount",
            f"The request (401 mg) exceeds the limit per request of 400 mg in {ce5}.",
            {"amount": "401", "unit": "mg", "limit": "400", "unit2": "mg", "pool": ce5},
        ),
        (
            "details.amount",
            "The request (41 sessions) exceeds what the call offers in 'Glacios' (40 sessions).",
            {
                "amount": "41",
                "unit": "sessions",
                "pool": "'Glacios'",
                "offered": "40",
                "unit2": "sessions",
            },
        ),
        (
            "details.amount",
            "The request (1 session) is below the minimum per request of 2 sessions in 'Glacios'.",
            {
                "amount": "1",
                "unit": "session",
                "limit": "2",
                "unit2": "sessions",
                "name": "'Glacios'",
            },
        ),
        (
            "details.amount",
            "The request (11 sessions) exceeds the limit per request of 10 sessions in 'Glacios'.",
            {
                "amount": "11",
                "unit": "sessions",
                "limit": "10",
                "unit2": "sessions",
                "pool": "'Glacios'",
            },
        ),
    ]
    assert f.table_counts(db) == before
