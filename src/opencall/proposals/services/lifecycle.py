"""A proposal's own life: create and edit the draft, what blocks submission,
submit (a frozen revision), withdraw and reopen."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.calls.models import Call
from opencall.calls.schemas import call_form
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.facilities.domain import parse_fields
from opencall.inputs import invisible_only
from opencall.people.models import User
from opencall.proposals.domain import check_proposal_transition, content_hash, word_count
from opencall.proposals.models import Proposal, ProposalCounter, ProposalRevision, TeamMember
from opencall.proposals.queries import snapshot
from opencall.proposals.schemas import ProposalUpdate
from opencall.proposals.services.editing import (
    COLLECTIONS,
    flush_edit,
    lock_for_write,
    require_call_open,
    require_editable,
    touch,
    validated,
)
from opencall.proposals.services.requests import _check_total, validate_request
from opencall.proposals.services.scans import request_anonymity_scans


def create_proposal(
    session: Session,
    call: Call,
    pi: User,
    *,
    title: str,
    abstract: str = "",
    science_case: str = "",
    keywords: str = "",
    area: str = "",
    now: dt.datetime | None = None,
) -> Proposal:
    require_call_open(call, now)
    title = "" if invisible_only(title) else " ".join(title.split())
    form = call_form(call.form)
    if not title:
        raise DomainError("A title is required.", field="title")
    if len(title) > form.title_max_chars:
        raise DomainError(
            "The title is too long (%(n)s characters; at most %(max)s).",
            field="title",
            n=len(title),
            max=form.title_max_chars,
        )
    if pi.institution_id is None or pi.country_iso3 is None:
        raise DomainError(
            "Add your institution and country to your account before creating a proposal.",
            field="institution",
        )
    prop = Proposal(
        call_id=call.id,
        code=_next_code(session, call),
        pi_user_id=pi.id,
        title=title,
        abstract=abstract,
        science_case=science_case,
        keywords=keywords,
        area=area,
        status="draft",
    )
    session.add(prop)
    session.flush()
    inst = pi.institution
    session.add(
        TeamMember(
            proposal_id=prop.id,
            user_id=pi.id,
            role="pi",
            email=pi.email,
            name=pi.name,
            institution_id=pi.institution_id,
            institution_name=inst.name if inst else "",
            country_iso3=pi.country_iso3,
            status="accepted",
            responded_at=utcnow(),
        )
    )
    session.flush()
    session.refresh(prop, COLLECTIONS)  # the PI among the members
    auditlog.record(
        session, "proposal.created", "proposal", prop.id, actor_id=pi.id, call_id=call.id
    )
    request_anonymity_scans(session, prop, actor_id=pi.id)
    return prop


def _next_code(session: Session, call: Call) -> str:
    """The call's next proposal code, from its counter row taken under a row lock (the
    lock is held until the caller commits, so concurrent creations queue for it)."""
    dialect = session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    seed = select(func.count(Proposal.id)).where(Proposal.call_id == call.id).scalar_subquery()
    session.execute(
        insert(ProposalCounter)
        .values(call_id=call.id, last=seed)
        .on_conflict_do_nothing(index_elements=["call_id"])
    )
    while True:
        n = session.execute(
            update(ProposalCounter)
            .where(ProposalCounter.call_id == call.id)
            .values(last=ProposalCounter.last + 1)
            .returning(ProposalCounter.last)
            .execution_options(synchronize_session=False)
        ).scalar_one()
        code = f"{call.code}-{n:04d}"
        # a counter seeded after a deletion may point at a code in use: skip it
        taken = session.scalar(
            select(Proposal.id).where(Proposal.call_id == call.id, Proposal.code == code)
        )
        if taken is None:
            return code


def update_proposal(
    session: Session,
    proposal: Proposal,
    data: dict[str, Any],
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> Proposal:
    require_editable(proposal, now, session=session)
    upd = validated(ProposalUpdate, data)
    form = call_form(proposal.call.form)
    if upd.title is not None:
        t = "" if invisible_only(upd.title) else " ".join(upd.title.split())
        if not t:
            raise DomainError("A title is required.", field="title")
        if len(t) > form.title_max_chars:
            raise DomainError(
                "The title is too long (%(n)s characters; at most %(max)s).",
                field="title",
                n=len(t),
                max=form.title_max_chars,
            )
    # drafts may exceed word limits while being written; submit enforces them
    touch(proposal, expected_version)
    for key, value in upd.model_dump(exclude_none=True).items():
        setattr(proposal, key, " ".join(value.split()) if key == "title" else value)
    flush_edit(session)
    auditlog.record(
        session,
        "proposal.edited",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        data={"fields": sorted(upd.model_dump(exclude_none=True))},
    )
    request_anonymity_scans(session, proposal, actor_id=actor_id)
    return proposal


def _missing_files(proposal: Proposal) -> list[tuple[str, str]]:
    """A custom request's file fields name files attached to the proposal."""
    attached = {a.filename for a in proposal.attachments}
    forms = {cp.pool_id: cp.pool.request_fields for cp in proposal.call.pools}
    out: list[tuple[str, str]] = []
    for r in proposal.requests:
        if r.kind != "custom" or r.pool_id not in forms:
            continue
        for fd in parse_fields(forms[r.pool_id]):
            name = r.details.get(fd.key)
            if fd.type == "file" and isinstance(name, str) and name and name not in attached:
                out.append(
                    (
                        "requests",
                        f"{fd.label('en')}: no file named {name!r} is attached to this proposal.",
                    )
                )
    return out


def submission_problems(proposal: Proposal) -> list[tuple[str, str]]:
    """Everything that blocks submission, as (field, message); empty when ready."""
    form = call_form(proposal.call.form)
    problems: list[tuple[str, str]] = []
    if not proposal.title.strip():
        problems.append(("title", "A title is required."))
    if not proposal.abstract.strip():
        problems.append(("abstract", "An abstract is required."))
    elif word_count(proposal.abstract) > form.abstract_max_words:
        problems.append(
            (
                "abstract",
                f"The abstract has {word_count(proposal.abstract)} words; "
                f"at most {form.abstract_max_words}.",
            )
        )
    if not proposal.science_case.strip():
        problems.append(("science_case", "A science case is required."))
    elif word_count(proposal.science_case) > form.science_case_max_words:
        problems.append(
            (
                "science_case",
                f"The science case has {word_count(proposal.science_case)} words; "
                f"at most {form.science_case_max_words}.",
            )
        )
    if not proposal.requests:
        problems.append(("requests", "Add at least one request."))
    bundles = [r.bundle for r in proposal.requests if r.bundle]
    for key in sorted({b for b in bundles if bundles.count(b) < 2}):
        problems.append(
            (
                "bundle",
                f"Bundle {key!r} has one request; an all-or-nothing bundle needs at least two "
                "requests of the same proposal.",
            )
        )
    problems += _missing_files(proposal)
    if form.requires_pdf and not any(a.purpose == "scientific" for a in proposal.attachments):
        problems.append(("attachment", "This call requires a PDF of the scientific justification."))
    pi = [m for m in proposal.members if m.role == "pi"]
    if not pi or not pi[0].institution_name or not pi[0].country_iso3:
        problems.append(("team", "The PI needs an institution and a country."))
    return problems


def submit(
    session: Session,
    proposal: Proposal,
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> ProposalRevision:
    """Freeze an immutable revision. Identical content returns the same revision.

    Serialised against the close and against a second click (:func:`lock_for_write`):
    the call's status and the proposal's revision are read again under the lock, so a
    submission either commits before the close freezes the call or is refused, and a
    double submit returns the revision of the first. ``now`` is when the request was
    received (the deadline is judged by it), not when it is processed."""
    now = now or utcnow()
    lock_for_write(session, proposal)
    if proposal.status not in ("draft", "submitted"):
        check_proposal_transition(proposal.status, "submitted")
    require_call_open(proposal.call, now)
    problems = submission_problems(proposal)
    if problems:
        raise DomainError(
            "The proposal cannot be submitted yet: %(problems)s",
            field=problems[0][0],
            code="incomplete",
            problems=" ".join((m for _, m in problems)),
        )
    # re-validate every request against the call as it is now
    for r in proposal.requests:
        validate_request(session, proposal.call, r.kind, r.pool_id, r.details)
    _check_total(proposal.call, [r.amount for r in proposal.requests])
    content = snapshot(proposal)
    digest = content_hash(content)
    existing = session.scalar(
        select(ProposalRevision).where(
            ProposalRevision.proposal_id == proposal.id, ProposalRevision.content_hash == digest
        )
    )
    if existing is not None and proposal.current_revision_id == existing.id:
        if proposal.status != "submitted":
            proposal.status = "submitted"
        return existing
    number = (
        session.scalar(
            select(func.max(ProposalRevision.number)).where(
                ProposalRevision.proposal_id == proposal.id
            )
        )
        or 0
    ) + 1
    rev = existing or ProposalRevision(
        proposal_id=proposal.id,
        number=number,
        content=content,
        content_hash=digest,
        created_by=actor_id,
    )
    if existing is None:
        session.add(rev)
        session.flush()
    before = proposal.status
    proposal.status = "submitted"
    proposal.current_revision_id = rev.id
    proposal.submitted_at = now
    session.flush()
    auditlog.record(
        session,
        "proposal.submitted",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        data={"revision": rev.number, "hash": digest, "from": before},
    )
    return rev


def withdraw(
    session: Session,
    proposal: Proposal,
    *,
    actor_id: int | None = None,
    reason: str = "",
    now: dt.datetime | None = None,
) -> Proposal:
    lock_for_write(session, proposal)
    check_proposal_transition(proposal.status, "withdrawn")
    if proposal.status == "submitted":
        require_call_open(proposal.call, now)
    before = proposal.status
    proposal.status = "withdrawn"
    session.flush()
    auditlog.record(
        session,
        "proposal.withdrawn",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        reason=reason,
        data={"from": before},
    )
    return proposal


def reopen(
    session: Session,
    proposal: Proposal,
    *,
    actor_id: int | None = None,
    now: dt.datetime | None = None,
) -> Proposal:
    lock_for_write(session, proposal)
    check_proposal_transition(proposal.status, "draft")
    call = proposal.call
    require_call_open(call, now)
    proposal.status = "draft"
    session.flush()
    auditlog.record(
        session, "proposal.reopened", "proposal", proposal.id, actor_id=actor_id, call_id=call.id
    )
    return proposal
