"""Who may see and change a proposal: one function per question.

Every proposal route asks one of these; a "no" is answered 404 (not 403) by
the routes so that whether a proposal exists does not leak.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall.calls.policies import may_administer
from opencall.errors import DomainError
from opencall.people.domain import mailbox_key
from opencall.people.models import User
from opencall.proposals.domain import WITHDRAWABLE_CALL
from opencall.proposals.models import Attachment, Proposal, TeamMember

EDITABLE = ("draft", "submitted")


def membership(proposal: Proposal, user: User | None) -> TeamMember | None:
    """The user's accepted place on the team, if any."""
    if user is None:
        return None
    for m in proposal.members:
        if m.status == "accepted" and m.user_id == user.id:
            return m
    return None


def require_not_on_team(proposal: Proposal, actor_id: int | None) -> None:
    """Refuse a staff decision on ``proposal`` (an override, a resolution, its reviewers
    chosen by hand) by an account on its team: a chair or call manager may also apply
    to the call. Accepted members only, so that inviting the chair to a team cannot
    take the proposal out of the chair's hands."""
    if actor_id is not None and any(
        m.status == "accepted" and m.user_id == actor_id for m in proposal.members
    ):
        raise DomainError(
            "You are on the team of this proposal: another member of the call's staff "
            "decides on it.",
            code="own_proposal",
        )


def may_see_proposal(user: User | None, proposal: Proposal) -> bool:
    """The applicant's pages (editor, preview, outcome): accepted team members only."""
    return membership(proposal, user) is not None


def may_edit_proposal(user: User | None, proposal: Proposal) -> bool:
    """Text, requests and attachments: PI and accepted co-investigators, while editable.
    (The call's deadline is enforced by the services, with a message.)"""
    return membership(proposal, user) is not None and proposal.status in EDITABLE


def is_pi(user: User | None, proposal: Proposal) -> bool:
    m = membership(proposal, user)
    return m is not None and m.role == "pi"


def may_manage_team(user: User | None, proposal: Proposal) -> bool:
    return is_pi(user, proposal) and proposal.status in EDITABLE


def may_submit_proposal(user: User | None, proposal: Proposal) -> bool:
    return is_pi(user, proposal) and proposal.status in EDITABLE


def may_withdraw_proposal(user: User | None, proposal: Proposal) -> bool:
    """The PI, while the proposal is a draft or a submission, or under review until its
    call's review is over (trialop22; the service checks the call's dates)."""
    return is_pi(user, proposal) and (
        proposal.status in EDITABLE
        or (proposal.status == "under_review" and proposal.call.status in WITHDRAWABLE_CALL)
    )


def may_respond_to_invitation(user: User | None, member: TeamMember) -> bool:
    return (
        user is not None
        and user.email_verified_at is not None
        and member.status == "invited"
        and mailbox_key(member.email) == mailbox_key(user.email)
    )


def answered_own_invitation(user: User | None, member: TeamMember) -> bool:
    """The invitee, once the invitation is answered (a second tab, the mail's link opened
    again): they are told how they answered, nothing else. The PI's own place was never
    an invitation."""
    return (
        user is not None
        and user.email_verified_at is not None
        and member.role != "pi"
        and member.status in ("accepted", "declined")
        and mailbox_key(member.email) == mailbox_key(user.email)
    )


def may_download_attachment(session: Session, user: User | None, attachment: Attachment) -> bool:
    """The team, and the user office (the file name may identify the team: chairs and
    reviewers get the files under neutral names through the review pages)."""
    proposal = attachment.proposal
    return may_see_proposal(user, proposal) or may_administer(session, user, proposal.call)


def may_see_outcome(user: User | None, proposal: Proposal) -> bool:
    """The decision, award, schedule and feedback: the team, once decisions are released."""
    call = proposal.call
    released = call.decisions_released_at is not None or call.status in ("published", "archived")
    return released and may_see_proposal(user, proposal)
