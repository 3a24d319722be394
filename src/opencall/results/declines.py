"""An awardee declines a released award (the whole proposal): the PI says why (a reason
category and an optional note), the awards are removed so that their capacity is free
again for the chair to offer to the next in line (``allocation.services.offer_award``),
the proposal's entries on the stored schedule are released, the call's staff are
mailed, and the decline is kept (``AwardDecline``) and audited. A second decline of the
same proposal (a resent form or request) changes nothing and mails nobody."""

from __future__ import annotations

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.allocation.later_parts import return_held_parts
from opencall.allocation.models import DECLINE_REASONS, Award, AwardDecline
from opencall.allocation.presenters import DECLINE_REASON_LABELS
from opencall.calls.policies import STAFF_ROLES
from opencall.errors import DomainError
from opencall.people.queries import grants_in_scope_query
from opencall.proposals.models import Proposal
from opencall.proposals.services import lock_for_write
from opencall.results.models import ReportReminder
from opencall.results.queries import reported_clause
from opencall.reviews.policies import withheld
from opencall.scheduling.models import ScheduleEntry
from opencall.web.i18n import N_, Translator
from opencall.web.mail import mail_text, queue_mail

SUBJECT_DECLINED = N_("Award %(code)s declined by the applicant")
MAX_NOTE = 2000


def declined(session: Session, proposal_id: int) -> AwardDecline | None:
    """The decline of the proposal's award, if its PI declined it."""
    return session.scalar(select(AwardDecline).where(AwardDecline.proposal_id == proposal_id))


def decline_award(
    session: Session,
    proposal: Proposal,
    *,
    reason: str,
    note: str = "",
    actor_id: int | None,
    base_url: str = "",
) -> tuple[AwardDecline, bool]:
    """The PI declines the proposal's released award; (the decline, whether this call
    made it). Validated before anything is written; a second call returns the first
    decline unchanged (idempotent on resend): to its PI alone, who is checked first."""
    if not any(
        m.role == "pi" and m.status == "accepted" and m.user_id == actor_id
        for m in proposal.members
    ):
        raise DomainError("Not found", code="not_found")
    # a record kept on the award at the same moment (trialcrowd18): both lock the
    # proposal's row first, so the second reads what the first wrote
    lock_for_write(session, proposal)
    done = declined(session, proposal.id)
    if done is not None:
        return done, False
    note = note.strip()
    if reason not in DECLINE_REASONS:
        raise DomainError(
            "Choose why you decline: %(reasons)s.",
            field="reason",
            reasons=", ".join(DECLINE_REASONS),
        )
    if len(note) > MAX_NOTE:
        raise DomainError("The note is limited to 2,000 characters.", field="note")
    call = proposal.call
    awards = list(
        session.scalars(select(Award).where(Award.proposal_id == proposal.id).order_by(Award.id))
    )
    if call.decisions_released_at is None or not awards:
        raise DomainError("Only a released award can be declined.")
    if call.status == "archived":
        raise DomainError("The call is archived: its awards can no longer be declined.")
    # a record of use or a result (outcomes21: a dataset listed as the first report was
    # lost from every count by a decline): the team reported (``reported_clause``)
    in_use = session.scalar(
        select(Proposal.id).where(Proposal.id == proposal.id, reported_clause()).limit(1)
    )
    if in_use is not None:
        raise DomainError(
            "This award is already in use (records are kept on it): ask the user office to end it."
        )
    freed = [
        {"pool_id": a.pool_id, "request_id": a.request_id, "amount": a.amount,
         "fraction": a.fraction}
        for a in awards
    ]  # fmt: skip
    entries = session.scalar(
        select(func.count(ScheduleEntry.id)).where(ScheduleEntry.proposal_id == proposal.id)
    )
    session.execute(delete(ScheduleEntry).where(ScheduleEntry.proposal_id == proposal.id))
    session.execute(delete(ReportReminder).where(ReportReminder.proposal_id == proposal.id))
    session.execute(delete(Award).where(Award.proposal_id == proposal.id))
    row = AwardDecline(
        call_id=call.id,
        proposal_id=proposal.id,
        reason=reason,
        note=note,
        freed=freed,
        entries_released=int(entries or 0),
        declined_by=actor_id,
    )
    session.add(row)
    session.flush()
    # the parts held for later periods go back to their calls (outcomes23)
    later = return_held_parts(
        session, proposal, note=note or f"declined: {reason}", actor_id=actor_id
    )
    auditlog.record(
        session,
        "award.declined",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=call.id,
        reason=note,
        data={
            "reason": reason,
            "freed": freed,
            "entries_released": row.entries_released,
            "later_parts_returned": [p.id for p in later],
        },
    )
    _mail_staff(session, proposal, row, base_url)
    return row, True


def _mail_staff(session: Session, proposal: Proposal, row: AwardDecline, base_url: str) -> None:
    """Tell the call's staff (user office and chairs), each in their language, except
    those the proposal is withheld from (its team, a recorded conflict)."""
    call = proposal.call
    seen: set[str] = set()
    for grant, user in session.execute(grants_in_scope_query(call.provider_id, [call.id])):
        if grant.role not in STAFF_ROLES or user.email in seen or not user.is_active:
            continue
        if proposal.id in withheld(session, user, call):
            continue
        seen.add(user.email)
        lang = user.language or "en"
        t = Translator(lang)
        body = mail_text(
            "results/mail_declined.txt",
            lang,
            {
                "name": user.name,
                "code": proposal.code,
                "call": call.title,
                "reason": t.gettext(DECLINE_REASON_LABELS[row.reason]),
                "link": f"{base_url.rstrip('/')}/manage/calls/{call.slug}/declines",
            },
        )
        queue_mail(session, user.email, t.plain(SUBJECT_DECLINED, code=proposal.code), body)
