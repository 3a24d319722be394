"""Editing a call (calls.services.update_call): what each phase allows, on both backends."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.auditlog import AuditEvent
from opencall.calls import services
from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from tests import factories as F

NOW = F.NOW
DAY = dt.timedelta(days=1)


def _events(db: Session, call: Call) -> list[AuditEvent]:
    return list(
        db.scalars(
            select(AuditEvent)
            .where(AuditEvent.call_id == call.id, AuditEvent.action == "call.updated")
            .order_by(AuditEvent.id)
        )
    )


def _snapshot(call: Call) -> dict[str, Any]:
    return {
        k: getattr(call, k)
        for k in (
            "slug",
            "code",
            "title",
            "cycle",
            "description",
            "opens_at",
            "closes_at",
            "anonymity",
            "review_settings",
            "allocation_policy",
            "form",
            "eligibility",
            "status",
        )
    }


def refused(db: Session, call: Call, data: dict[str, Any], *words: str) -> DomainError:
    """The update is refused, names ``words``, and leaves every table and field unchanged."""
    counts = F.table_counts(db)
    before = _snapshot(call)
    with pytest.raises(DomainError) as exc:
        services.update_call(db, call, data, now=NOW)
    db.expire_all()
    assert F.table_counts(db) == counts
    assert _snapshot(db.get(Call, call.id)) == before  # type: ignore[arg-type]
    for w in words:
        assert w in exc.value.message, exc.value.message
    return exc.value


def _closed(db: Session, status: str = "closed") -> Call:
    call = F.fast_call(db)
    cycle.transition_call(db, call, "closed", reason="test", now=NOW)
    path = ["review", "ranking", "allocation", "scheduling", "published", "archived"]
    for target in path[: path.index(status) + 1] if status != "closed" else []:
        if target == "published":
            call.decisions_released_at = NOW  # publishing needs released decisions
        cycle.transition_call(db, call, target, now=NOW)
    assert call.status == status
    return call


# ---------------------------------------------------------------- draft: everything may change


def test_draft_everything_changes_and_is_audited(db: Session) -> None:
    call = F.fast_call(db, status="draft")
    services.update_call(
        db,
        call,
        {
            "title": "FAST open time, revised",
            "cycle": "2028",
            "opens_at": NOW + 2 * DAY,
            "closes_at": NOW + 40 * DAY,
            "anonymity": "single",
            "review_settings": {"max_load": 4, "mode": "distributed"},
            "allocation_policy": {"award_mode": "partial", "min_fraction": 0.5},
            "form": {"requires_pdf": True, "abstract_max_words": 250},
            "eligibility": {"income_groups": ["low"]},
        },
        actor_id=None,
        now=NOW,
    )
    db.expire_all()
    call = db.get(Call, call.id)  # type: ignore[assignment]
    assert call.title == "FAST open time, revised" and call.cycle == "2028"
    assert call.anonymity == "single"
    assert call.opens_at == NOW + 2 * DAY and call.closes_at == NOW + 40 * DAY
    assert call.review_settings["max_load"] == 4 and call.review_settings["mode"] == "distributed"
    # untouched keys of a document keep their values
    assert call.review_settings["reviewers_per_proposal"] == 3
    assert call.allocation_policy["min_fraction"] == 0.5
    assert call.form["requires_pdf"] is True and call.form["receivers"] == F.RECEIVERS
    assert call.eligibility == {"income_groups": ["low"]}
    (ev,) = _events(db, call)
    assert set(ev.data["fields"]) == {
        "title",
        "cycle",
        "opens_at",
        "closes_at",
        "anonymity",
        "eligibility",
        "review_settings.max_load",
        "review_settings.mode",
        "allocation_policy.award_mode",
        "allocation_policy.min_fraction",
        "form.requires_pdf",
        "form.abstract_max_words",
    }
    assert ev.data["changes"]["anonymity"] == {"from": "dual", "to": "single"}


def test_no_change_writes_nothing(db: Session) -> None:
    call = F.fast_call(db, status="draft")
    counts = F.table_counts(db)
    services.update_call(db, call, {"title": call.title, "form": {"receivers": F.RECEIVERS}})
    assert F.table_counts(db) == counts


def test_slug_and_code_stay_fixed(db: Session) -> None:
    call = F.fast_call(db, status="draft")
    refused(db, call, {"slug": "another-slug"}, "short name and code")
    refused(db, call, {"code": "ZZ9"}, "short name and code")
    # giving the same values is fine
    services.update_call(db, call, {"slug": call.slug, "code": call.code, "title": "Renamed"})
    assert call.title == "Renamed"


@pytest.mark.parametrize(
    "data, words",
    [
        ({"title": "x"}, ("title",)),
        ({"anonymity": "secret"}, ("anonymity",)),
        ({"opens_at": NOW + 50 * DAY}, ("close after it opens",)),
        ({"closes_at": NOW - 31 * DAY}, ("close after it opens",)),
        ({"closes_at": dt.datetime(2027, 5, 1)}, ("time zone",)),
        ({"review_settings": {"grade_min": 5, "grade_max": 1}}, ("grade_max",)),
        ({"review_settings": {"nope": 1}}, ("review settings",)),
        ({"allocation_policy": {"min_fraction": 0.5}}, ("partial",)),
        ({"form": {"abstract_max_words": 2}}, ("abstract_max_words",)),
        ({"form": {"receivers": ["no-such-receiver"]}}, ("receivers",)),
        ({"form": {"modes": []}}, ("observing modes",)),
    ],
)
def test_draft_bad_input_changes_nothing(
    db: Session, data: dict[str, Any], words: tuple[str, ...]
) -> None:
    call = F.fast_call(db, status="draft")
    refused(db, call, data, *words)


# ---------------------------------------------------------------- open: a few things only


def test_open_allows_title_description_closing_date_and_word_limits(db: Session) -> None:
    call = F.fast_call(db)
    services.update_call(
        db,
        call,
        {
            "title": "FAST open time (extended)",
            "description": "Now with more words.",
            "closes_at": NOW + 45 * DAY,
            "form": {"abstract_max_words": 400, "science_case_max_words": 2500},
        },
        now=NOW,
    )
    assert call.closes_at == NOW + 45 * DAY and call.form["abstract_max_words"] == 400
    # shortening is allowed too, as long as the new deadline is still ahead
    services.update_call(db, call, {"closes_at": NOW + DAY}, now=NOW)
    assert call.closes_at == NOW + DAY
    evs = _events(db, call)
    assert len(evs) == 2
    assert set(evs[0].data["fields"]) == {
        "title",
        "description",
        "closes_at",
        "form.abstract_max_words",
        "form.science_case_max_words",
    }
    assert "description" not in evs[0].data["changes"]  # listed, but the text is not copied
    assert evs[1].data["fields"] == ["closes_at"]
    assert evs[1].data["changes"]["closes_at"]["to"].startswith("2027-04-02T12:00:00")


@pytest.mark.parametrize(
    "data, field",
    [
        ({"anonymity": "open"}, "anonymity"),
        ({"review_settings": {"reviewers_per_proposal": 2}}, "review_settings"),
        ({"allocation_policy": {"nationality_blind": True}}, "allocation_policy"),
        ({"form": {"requires_pdf": True}}, "form.requires_pdf"),
        ({"form": {"max_amount_per_proposal": 10}}, "form.max_amount_per_proposal"),
        ({"opens_at": NOW - 40 * DAY}, "opens_at"),
        ({"cycle": "2030"}, "cycle"),
        ({"eligibility": {"income_groups": ["low"]}}, "eligibility"),
    ],
)
def test_open_refuses_what_applicants_relied_on(
    db: Session, data: dict[str, Any], field: str
) -> None:
    call = F.fast_call(db)
    err = refused(db, call, {"title": "Allowed, but not alone", **data}, field, "relied on")
    assert err.code == "call_locked" and err.field is not None and err.field.startswith(field)


def test_open_closing_date_never_past_nor_before_opening(db: Session) -> None:
    call = F.fast_call(db)
    refused(db, call, {"closes_at": NOW - DAY}, "already past")
    refused(db, call, {"closes_at": NOW}, "already past")
    refused(db, call, {"closes_at": call.opens_at - DAY}, "close after it opens")
    services.update_call(db, call, {"closes_at": NOW + dt.timedelta(seconds=1)}, now=NOW)


# ---------------------------------------------------------------- after open: the description only


@pytest.mark.parametrize("status", ["closed", "review", "published", "archived"])
def test_after_open_only_the_description(db: Session, status: str) -> None:
    call = _closed(db, status)
    refused(db, call, {"title": "New title"}, "only its description", "title", status)
    refused(db, call, {"closes_at": NOW + 60 * DAY}, "closes_at")
    refused(db, call, {"form": {"abstract_max_words": 500}}, "form.abstract_max_words")
    refused(db, call, {"anonymity": "open"}, "anonymity")
    services.update_call(db, call, {"description": "Results are out."}, now=NOW)
    assert call.description == "Results are out."
    (ev,) = _events(db, call)
    assert ev.data["fields"] == ["description"]
