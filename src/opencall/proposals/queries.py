from __future__ import annotations

from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.proposals.anonymity import Finding, TeamIdentity, scan_pdf, scan_text
from opencall.proposals.models import Proposal, TeamMember
from opencall.storage import LocalStorage, Storage
from opencall.web.i18n import N_


def proposals_of_call(
    session: Session, call_id: int, *, statuses: tuple[str, ...] | None = None
) -> list[Proposal]:
    stmt = select(Proposal).where(Proposal.call_id == call_id).order_by(Proposal.id)
    if statuses:
        stmt = stmt.where(Proposal.status.in_(statuses))
    return list(session.scalars(stmt))


def proposals_of_user(session: Session, user_id: int) -> list[Proposal]:
    stmt = (
        select(Proposal)
        .join(TeamMember, TeamMember.proposal_id == Proposal.id)
        .where(TeamMember.user_id == user_id, TeamMember.status.in_(("accepted", "invited")))
        .order_by(Proposal.updated_at.desc())
    )
    return list(session.scalars(stmt).unique())


# what each kind of finding is, for the pages (translated where shown)
FINDING_LABELS = {
    "name": N_("a team member's name"),
    "self_citation": N_("a citation of a team member's work"),
    "institution": N_("a team member's institution"),
    "email": N_("an e-mail address"),
    "url": N_("a web address"),
    "phrase": N_("a phrase that identifies the team"),
    "term": N_("a term the call forbids"),
}


def anonymity_findings(
    proposal: Proposal, upload_dir: Path | Storage | None = None
) -> list[tuple[str, Finding]]:
    """Where a proposal identifies its team, as (where, finding) pairs.

    Scans the title, abstract, science case and keywords, and the text of every
    attached PDF (read from ``upload_dir``, a directory or a :class:`Storage`), for the names, institutions and
    e-mails of every team member (accepted or invited), web addresses and
    self-identifying phrases. Shown to the applicant before submission as
    warnings they can fix, and listed to the chair for dual-anonymous calls.
    """
    team = [
        TeamIdentity(name=m.name, institution=m.institution_name, email=m.email)
        for m in proposal.members
        if m.status in ("accepted", "invited")
    ]
    out: list[tuple[str, Finding]] = []
    for where in ("title", "abstract", "science_case", "keywords"):
        for f in scan_text(getattr(proposal, where) or "", team):
            out.append((where, f))
    if upload_dir is not None:
        store = LocalStorage(upload_dir) if isinstance(upload_dir, str | Path) else upload_dir
        for a in proposal.attachments:
            data = store.get(a.storage_key)
            if data is None:
                continue
            try:
                findings = scan_pdf(data, team)
            except Exception:  # noqa: BLE001 - an unreadable PDF was refused at upload already
                continue
            for f in findings:
                out.append((f"attachment:{a.filename}", f))
    return out
