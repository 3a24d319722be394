"""Anonymity scans without end (trialcrowd17). In a dual-anonymous call every save of a
draft that changes its text or team queued a scan of that version: a row of
``anonymity_scans`` and a job, both kept. One applicant saving a draft again and again (a
script, or an editor that saves as one types) put a job a save on the one queue the
worker takes in order, ahead of everybody's e-mails (reset links, receipts) and the
chair's steps queued after them: 40 saves, 40 jobs and 40 rows, 39 of them for versions
gone before the worker came to them. Now a save retargets the proposal's scan job still
waiting in the queue at the new version (its place in the queue kept) and drops the
waiting row of the version it replaces: one waiting scan a proposal and part, whatever the
number of saves; a job the worker already took is left to finish, and the new version gets
a job of its own. The scan the worker runs is the last version's."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from opencall.jobs import Job
from opencall.proposals import queries as pq
from opencall.proposals import services as ps
from opencall.proposals.models import AnonymityScan
from tests import factories as f


def _dual(db: Session) -> Any:
    call = f.fast_call(db)
    call.anonymity = "dual"
    p = f.full_proposal(db, call)
    db.flush()
    return p


def _queued(db: Session) -> list[int]:
    db.flush()
    return list(
        db.scalars(
            select(Job.id).where(Job.kind == ps.SCAN_JOB, Job.status == "queued").order_by(Job.id)
        )
    )


def _scans(db: Session, p: Any) -> list[AnonymityScan]:
    db.flush()
    return list(
        db.scalars(
            select(AnonymityScan)
            .where(AnonymityScan.proposal_id == p.id)
            .order_by(AnonymityScan.id)
        )
    )


def test_saves_in_a_row_leave_one_waiting_scan(db: Session) -> None:
    p = _dual(db)
    first = _queued(db)
    assert len(first) == 1 and len(_scans(db, p)) == 1
    for i in range(40):
        ps.update_proposal(
            db,
            p,
            {"abstract": f"We will time pulsars, take {i}."},
            actor_id=p.pi_user_id,
            now=f.NOW,
        )
    # one job, the first one (its place in the queue), and one row: the last version's
    assert _queued(db) == first
    scans = _scans(db, p)
    assert [s.key for s in scans] == [pq.text_scan_key(p)]
    job = db.get(Job, first[0])
    assert job is not None and job.payload["scan_id"] == scans[0].id
    assert db.scalar(select(func.count(AnonymityScan.id))) == 1


def test_a_scan_the_worker_took_is_left_to_finish(db: Session) -> None:
    p = _dual(db)
    [taken] = _queued(db)
    db.execute(update(Job).where(Job.id == taken).values(status="running"))
    old = _scans(db, p)[0]
    ps.update_proposal(db, p, {"abstract": "A new text."}, actor_id=p.pi_user_id, now=f.NOW)
    queued = _queued(db)
    assert len(queued) == 1 and queued[0] != taken
    scans = _scans(db, p)
    assert [s.id for s in scans][0] == old.id and len(scans) == 2  # the running one kept
    assert db.get(Job, taken).payload["scan_id"] == old.id  # type: ignore[union-attr]
    assert db.get(Job, queued[0]).payload["scan_id"] == scans[1].id  # type: ignore[union-attr]


def test_the_worker_scans_the_last_version(db: Session, tmp_path: Path) -> None:
    p = _dual(db)
    pi_name = p.pi_member.name
    for text in ("Clean text.", f"Written by {pi_name}.", "Clean again, then named:"):
        ps.update_proposal(db, p, {"abstract": text}, actor_id=p.pi_user_id, now=f.NOW)
    ps.update_proposal(db, p, {"abstract": f"by {pi_name}"}, actor_id=p.pi_user_id, now=f.NOW)
    [job_id] = _queued(db)
    job = db.get(Job, job_id)
    assert job is not None
    scan = ps.run_anonymity_scan(db, job.payload["scan_id"], upload_dir=tmp_path)
    assert scan is not None and scan.status == "done" and scan.key == pq.text_scan_key(p)
    assert any(d["where"] == "abstract" for d in scan.findings)
