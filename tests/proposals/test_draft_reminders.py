"""Before a call closes, the PI of each unsubmitted draft is reminded by e-mail at each
threshold (7 and 1 days by default), in their language, the close in UTC and in their
own zone; once per draft and threshold, however often or concurrently the job runs;
never for a submitted or withdrawn proposal, nor after the close."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs
from opencall.jobs import Job
from opencall.proposals import services as prop_services
from opencall.proposals.jobs import REMIND_JOB, remind_drafts
from opencall.proposals.notify import queue_draft_reminders
from opencall.settings import Settings
from opencall.web.i18n import Translator
from opencall.web.pages import fmt_when
from tests import factories as F
from tests.fixtures import race_a_second_run

BASE = "https://opencall.example.org"


def _world(s: Session) -> dict[str, Any]:
    call = F.fast_call(s)
    pi = F.user(s, email="draft@example.org", language="fr")
    pi.time_zone = "Asia/Dhaka"
    draft = F.full_proposal(s, call, pi)
    done = F.full_proposal(s, call, F.user(s, email="done@example.org"))
    prop_services.submit(s, done, now=F.NOW)
    gone = F.full_proposal(s, call, F.user(s, email="gone@example.org"))
    prop_services.withdraw(s, gone, now=F.NOW)
    s.flush()
    return {"call": call, "draft": draft, "closes": call.closes_at}


def _mails(s: Session) -> list[dict[str, Any]]:
    rows = s.scalars(select(Job).where(Job.kind == "mail").order_by(Job.id)).all()
    return [dict(j.payload) for j in rows]


def test_each_threshold_once_in_the_pis_language_and_zone(db: Session) -> None:
    w = _world(db)
    closes: dt.datetime = w["closes"]
    assert queue_draft_reminders(db, BASE, [7, 1], now=F.NOW) == 0  # 30 days left
    at = closes - dt.timedelta(days=6)
    assert queue_draft_reminders(db, BASE, [7, 1], now=at) == 1
    assert queue_draft_reminders(db, BASE, [7, 1], now=at + dt.timedelta(hours=1)) == 0
    [m] = _mails(db)
    assert m["to"] == "draft@example.org"  # not the submitted nor the withdrawn one
    code = w["draft"].code
    fr = Translator("fr")
    assert m["subject"] == fr.gettext(
        "Reminder: proposal %(code)s is not submitted and %(call)s closes soon",
        code=code,
        call=w["call"].title,
    )
    # the close in French, on Dhaka's clock, the zone named (trialapp16)
    said = fmt_when(closes, "Asia/Dhaka", "fr")
    assert said.endswith("(heure : Bangladesh, UTC+06:00)") and said in m["body"], m["body"]
    assert fr.gettext("Dear %(name)s,", name=w["draft"].members[0].name) in m["body"]
    assert "Your proposal" not in m["body"]  # French, not English
    assert f"{BASE}/proposals/{w['draft'].id}" in m["body"]
    # the 1-day threshold: one more, once
    late = closes - dt.timedelta(hours=12)
    assert queue_draft_reminders(db, BASE, [7, 1], now=late) == 1
    assert queue_draft_reminders(db, BASE, [7, 1], now=late) == 0
    # after the close: nothing
    assert queue_draft_reminders(db, BASE, [7, 1], now=closes) == 0
    assert len(_mails(db)) == 2


def test_none_after_submission(db: Session) -> None:
    w = _world(db)
    prop_services.submit(db, w["draft"], now=F.NOW)
    at = w["closes"] - dt.timedelta(hours=1)
    assert queue_draft_reminders(db, BASE, [7, 1], now=at) == 0
    assert _mails(db) == []


def test_the_job_run_twice_mails_once(factory: sessionmaker[Session], tmp_path: Any) -> None:
    with factory() as s:
        w = _world(s)
        at = (w["closes"] - dt.timedelta(days=1, hours=-1)).isoformat()
        s.commit()
    handler = remind_drafts(Settings(base_url=BASE, mail_dir=tmp_path))
    for _ in range(2):
        with factory() as s:
            job = jobs.enqueue(s, REMIND_JOB, {"now": at})
            handler(s, job, lambda *_: None)
            s.commit()
    with factory() as s:
        assert [m["to"] for m in _mails(s)] == ["draft@example.org"]


def test_two_runs_at_once_mail_once(factory: sessionmaker[Session]) -> None:
    """Two runs that both find the draft unreminded: the second waits for the first's
    reminder row (PostgreSQL: the primary key; SQLite: the write lock) and sends nothing."""
    with factory() as s:
        w = _world(s)
        at = w["closes"] - dt.timedelta(hours=5)
        s.commit()
    first = factory()
    assert queue_draft_reminders(first, BASE, [7, 1], now=at) == 1  # not committed yet
    counts, errors = race_a_second_run(
        factory, first, lambda s: queue_draft_reminders(s, BASE, [7, 1], now=at)
    )
    assert counts == [0] and errors == []  # the second waited for the row and skipped it
    with factory() as s:
        assert [m["to"] for m in _mails(s)] == ["draft@example.org"]


def test_the_thresholds_setting(monkeypatch: Any) -> None:
    monkeypatch.setenv("OPENCALL_DRAFT_REMINDER_DAYS", "[1, 14, 1]")
    assert Settings().draft_reminder_days == [14, 1]
    monkeypatch.setenv("OPENCALL_DRAFT_REMINDER_DAYS", "[]")
    assert Settings().draft_reminder_days == []
    for bad in ("[0]", "[-3]", "[400]"):
        monkeypatch.setenv("OPENCALL_DRAFT_REMINDER_DAYS", bad)
        with pytest.raises(ValidationError, match="1 to 366 days"):
            Settings()


def test_a_pi_without_a_zone_reads_the_close_on_their_countrys_clock(db: Session) -> None:
    """A PI in Senegal who never set a zone reads the close in French on Dakar's clock,
    named (trialapp16; before: "2026-... UTC" alone)."""
    call = F.fast_call(db)
    pi = F.user(db, email="dakar@example.org", language="fr", country="SEN")
    assert pi.time_zone is None
    F.full_proposal(db, call, pi)
    db.flush()
    closes = call.closes_at
    assert queue_draft_reminders(db, BASE, [7], now=closes - dt.timedelta(days=6)) == 1
    [m] = _mails(db)
    said = fmt_when(closes, "Africa/Dakar", "fr")
    assert said.endswith("(heure : Sénégal, UTC+00:00)")
    assert said in m["body"], m["body"]


def test_an_extended_draft_is_reminded_of_its_own_deadline(db: Session) -> None:
    """A draft whose deadline the user office extended (mend22): not reminded that the call
    closes (it stays open to its PI after the close), but before its own deadline, in the
    PI's language and zone, once per threshold; after it, nothing."""
    w = _world(db)
    closes: dt.datetime = w["closes"]
    until = closes + dt.timedelta(days=10)
    prop_services.grant_submission_extension(
        db, w["draft"], until, reason="Power cut", actor_id=None, now=F.NOW
    )
    other = F.full_proposal(db, w["call"], F.user(db, email="other-draft@example.org"))
    db.flush()
    assert queue_draft_reminders(db, BASE, [7, 1], now=closes - dt.timedelta(days=6)) == 1
    assert [m["to"] for m in _mails(db)] == ["other-draft@example.org"]
    w["call"].status = "closed"  # closed at its deadline; the extended draft is still open
    other.status = "under_review"
    db.flush()
    at = until - dt.timedelta(days=6)
    assert queue_draft_reminders(db, BASE, [7, 1], now=at) == 1
    assert queue_draft_reminders(db, BASE, [7, 1], now=at + dt.timedelta(hours=1)) == 0
    m = _mails(db)[-1]
    assert m["to"] == "draft@example.org"
    fr = Translator("fr")
    assert m["subject"] == fr.gettext(
        "Reminder: proposal %(code)s is not submitted and its deadline is near",
        code=w["draft"].code,
    )
    said = fmt_when(until, "Asia/Dhaka", "fr")
    assert said in m["body"] and f" {fmt_when(closes, 'Asia/Dhaka', 'fr')}" not in m["body"]
    assert f"évalué.\n{BASE}/proposals/{w['draft'].id}\n" in m["body"]  # the link on its line
    assert queue_draft_reminders(db, BASE, [7, 1], now=until - dt.timedelta(hours=2)) == 1
    assert queue_draft_reminders(db, BASE, [7, 1], now=until) == 0
    assert len(_mails(db)) == 3
