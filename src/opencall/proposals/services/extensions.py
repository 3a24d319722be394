"""A submission deadline extension for one applicant (trialop21b): a power cut in the
PI's country, a visa office closed. The user office gives one proposal its own, later
deadline, with a reason, audited (``proposal.deadline_extended``); its PI may edit and
submit it until then while the call is otherwise closed
(:func:`~opencall.proposals.services.editing.require_proposal_open`). The close leaves
the proposal open (:func:`~opencall.proposals.services.closing.close_call_proposals`);
review and the steps that read the proposals wait for the extension to end
(:func:`require_submissions_in`), and then the proposal is frozen at its last submitted
revision as the others were at the close (:func:`freeze_late_submissions`).

The PI is mailed a new or moved deadline (not the same one granted again) by
:func:`opencall.proposals.workflow.extend_submission_deadline`, the one step the page and
the API take (:func:`opencall.proposals.notify.mail_deadline_extended`, mend22, mend23).

Reviewers are never told: the extension is a row of its own, not part of the proposal
or its revision, and the pages shown to reviewers do not read it."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.proposals.models import Proposal, SubmissionExtension
from opencall.proposals.queries import extended_proposal_ids, submission_extension
from opencall.proposals.services.closing import freeze_proposals
from opencall.proposals.services.editing import audit
from opencall.web.pages import fmt_when

#: the call states in which an extension is granted: it takes proposals, or it closed and
#: its proposals are not yet in review
EXTENDABLE_CALL = ("open", "closed")


def grant_submission_extension(
    session: Session,
    proposal: Proposal,
    until: dt.datetime,
    *,
    reason: str,
    actor_id: int | None,
    now: dt.datetime | None = None,
) -> SubmissionExtension:
    """Give ``proposal`` its own submission deadline ``until`` (later than its call's and
    than now), for ``reason`` (required), audited as ``proposal.deadline_extended``. Granted
    again, the row is moved. Refused, changing nothing: a call not open or closed (in
    review or later), a continuous call (it takes proposals at any time), a proposal
    withdrawn or already frozen for review."""
    now = now or utcnow()
    call = proposal.call
    reason = reason.strip()
    if not reason:
        raise DomainError("Give the reason for the extension.", field="reason")
    if until.tzinfo is None:
        until = until.replace(tzinfo=dt.UTC)
    until = until.astimezone(dt.UTC).replace(microsecond=0)
    if until <= call.closes_at or until <= now:
        raise DomainError(
            "The new deadline must be later than the call's deadline (%(deadline)s) and than now.",
            field="until",
            deadline=fmt_when(call.closes_at, None),
        )
    if call.mode != "deadline" or call.status not in EXTENDABLE_CALL:
        raise DomainError(
            "A submission deadline is extended only while the call is open or closed, "
            "before its review.",
            code="call_not_open",
        )
    if proposal.status not in ("draft", "submitted"):
        raise DomainError(
            "This proposal is %(status)s; its submission deadline cannot be extended.",
            code="locked",
            status=proposal.status,
        )
    ext = submission_extension(session, proposal)
    if ext is None:
        ext = SubmissionExtension(call_id=call.id, proposal_id=proposal.id, until=until)
        session.add(ext)
    ext.until = until
    ext.reason = reason[:2000]
    ext.granted_by = actor_id
    session.flush()
    audit(
        session,
        proposal,
        "proposal.deadline_extended",
        actor_id=actor_id,
        reason=reason[:2000],
        data={"until": until.isoformat()},
    )
    return ext


def require_submissions_in(session: Session, call: Call, now: dt.datetime | None = None) -> None:
    """Refused while an extension of a proposal of ``call`` still runs at ``now``: review,
    conflicts, affinity and assignment read the proposals, which are not all in yet."""
    running = extended_proposal_ids(session, call, now or utcnow())
    if not running:
        return
    live = session.scalars(
        select(Proposal.id).where(
            Proposal.id.in_(running), Proposal.status.in_(("draft", "submitted"))
        )
    ).all()
    if live:
        raise DomainError(
            "A submission deadline extension runs until %(until)s; the proposals are not "
            "all in yet.",
            code="extension_running",
            until=fmt_when(max(running[pid] for pid in live), None),
        )


def freeze_late_submissions(
    session: Session, call: Call, *, actor_id: int | None = None, now: dt.datetime | None = None
) -> int:
    """Freeze for review the proposals submitted under an extension that has ended (the
    close left them open): their last submitted revision is what counts."""
    require_submissions_in(session, call, now)
    if call.status not in ("closed", "review"):
        return 0
    late = list(
        session.scalars(
            select(Proposal)
            .join(SubmissionExtension, SubmissionExtension.proposal_id == Proposal.id)
            .where(Proposal.call_id == call.id, Proposal.status == "submitted")
        )
    )
    return freeze_proposals(session, call, late, actor_id=actor_id) if late else 0
