"""The anonymity scans of a dual-anonymous proposal: queued by every service that
changes the text, the team or the files, run as a job, cached per version (the
pages read the cache, never scan)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from opencall import jobs
from opencall.db import utcnow
from opencall.jobs import Job
from opencall.proposals import pdfsafe, queries
from opencall.proposals.anonymity import Finding, scan_label, scan_pages
from opencall.proposals.models import AnonymityScan, Attachment, Proposal
from opencall.proposals.services.blobs import read_blob
from opencall.storage import Storage

SCAN_JOB = "proposal.anonymity_scan"


def request_anonymity_scans(
    session: Session,
    proposal: Proposal,
    *,
    actor_id: int | None = None,
    existing: list[AnonymityScan] | None = None,
) -> int:
    """Queue a scan for each part of a dual-anonymous proposal not scanned as it is now.

    Called by every service that changes the text, the team or the files; the job
    scans once per version (keyed by content and team), pages read the cache. The
    jobs carry no call (they are the applicant's, not steps of the chair's cockpit)."""
    if proposal.call.anonymity != "dual":
        return 0
    if existing is None:  # (a caller handling many proposals reads their scans at once)
        existing = list(
            session.scalars(select(AnonymityScan).where(AnonymityScan.proposal_id == proposal.id))
        )
    rows = {sc.key: sc for sc in existing}
    n = 0
    for subject, att, key in queries.scan_keys(proposal):
        old = rows.get(key)
        if old is not None and old.status != "superseded":
            continue
        waiting = [
            sc
            for sc in rows.values()
            if sc.status == "queued"
            and sc.subject == subject
            and sc.attachment_id == (att.id if att is not None else None)
        ]
        if old is not None:  # back to a version whose scan was skipped: scan it now
            old.status, old.error = "queued", ""
            session.flush()
            scan = old
        else:
            try:
                with session.begin_nested():  # a concurrent request may have queued it
                    scan = AnonymityScan(
                        proposal_id=proposal.id,
                        attachment_id=att.id if att is not None else None,
                        subject=subject,
                        key=key,
                        status="queued",
                        findings=[],
                        notes=[],
                    )
                    session.add(scan)
                    session.flush()
            except IntegrityError:
                continue
            rows[key] = scan
        if not _retarget(session, waiting, scan, rows):
            jobs.enqueue(
                session, SCAN_JOB, {"scan_id": scan.id}, created_by=actor_id, max_attempts=2
            )
        n += 1
    return n


def _retarget(
    session: Session,
    waiting: list[AnonymityScan],
    scan: AnonymityScan,
    rows: dict[str, AnonymityScan],
) -> bool:
    """Hand ``scan`` the queued job of a waiting scan of the same part (a version saved
    over before the worker came to it), and drop that scan's row: one waiting scan a
    part, however often the draft is saved (trialcrowd17). A job the worker has taken
    (no longer ``queued``) is left alone; the update is conditional, so a worker claiming
    the job at the same moment, or a second request, leaves this one none to take."""
    for old in waiting:
        moved = session.execute(
            update(Job)
            .where(
                Job.kind == SCAN_JOB,
                Job.status == "queued",
                Job.payload["scan_id"].as_integer() == old.id,
            )
            .values(payload={"scan_id": scan.id})
            .execution_options(synchronize_session="fetch")
        )
        if moved.rowcount:  # type: ignore[attr-defined]
            rows.pop(old.key, None)
            session.delete(old)
            session.flush()
            return True
    return False


def _finding_doc(where: str, f: Finding) -> dict[str, Any]:
    return {"where": where, "kind": f.kind, "text": f.matched_text[:300], "page": f.page}


def run_anonymity_scan(
    session: Session,
    scan_id: int,
    *,
    upload_dir: Path | Storage,
    limits: pdfsafe.Limits | None = None,
) -> AnonymityScan | None:
    """The job: scan one version of the text or one attachment and cache the findings.

    A PDF is read in a child process within ``limits`` (pages, decoded size per
    page, time); its page text, metadata (Info, XMP), embedded-file names,
    annotations, form fields and scripts are all scanned. What could not be read
    in full is kept as notes for the applicant."""
    scan = session.get(AnonymityScan, scan_id)
    if scan is None or scan.status == "done":
        return scan
    proposal = session.get(Proposal, scan.proposal_id)
    if proposal is None:
        return None
    team = queries.team_identities(proposal)
    findings: list[dict[str, Any]] = []
    notes: list[dict[str, Any]] = []
    if scan.subject == "text":
        if scan.key != queries.text_scan_key(proposal):
            scan.status, scan.error = "superseded", "the text or team changed before the scan ran"
        else:
            findings = [_finding_doc(w, f) for w, f in queries.anonymity_findings(proposal)]
            scan.status = "done"
    else:
        att = session.get(Attachment, scan.attachment_id) if scan.attachment_id else None
        if att is None or scan.key != queries.attachment_scan_key(proposal, att):
            scan.status, scan.error = "superseded", "the file or team changed before the scan ran"
        else:
            try:
                data = read_blob(upload_dir, att.storage_key)
            except OSError as exc:
                data = b""
                scan.error = f"file not readable: {exc}"
            if data:
                ins = pdfsafe.inspect(data, limits)
                for f in scan_pages(ins.pages, team):
                    findings.append(_finding_doc("pdf_text", f))
                for where, text in dict.fromkeys(ins.strings):
                    kind = where.split(":", 1)[0]
                    label = {"info": "pdf_metadata", "xmp": "pdf_metadata"}.get(kind, f"pdf_{kind}")
                    for f in scan_label(text, team):
                        findings.append(_finding_doc(label, f))
                notes = [{"code": c, "page": n} for c, n in ins.notes]
                scan.status = "done"
            else:
                scan.status = "failed"
    scan.findings = findings
    scan.notes = notes
    scan.finished_at = utcnow()
    session.flush()
    return scan
