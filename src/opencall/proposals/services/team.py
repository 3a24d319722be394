"""The team: invitations (sent, answered), removal, and the applicant's reads
(their proposals, their open invitations)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.inputs import one_line
from opencall.people.domain import mailbox_key, name_skeleton, throwaway_mailbox
from opencall.people.models import User
from opencall.people.queries import account_of_mailbox, same_mailbox
from opencall.people.services import (
    check_country,
    check_person_name,
    clean_email,
    get_or_create_institution,
)
from opencall.proposals.models import Proposal, TeamMember
from opencall.proposals.queries import member_proposals_query
from opencall.proposals.schemas import MemberInvite
from opencall.proposals.services.editing import (
    MEMBERS,
    audit,
    remove_from_draft,
    require_editable,
    save_edit,
    validated,
)
from opencall.proposals.services.scans import request_anonymity_scans

#: the most people a proposal's team holds, the PI and pending invitations included
#: (declined ones are not counted). Each is a row of every page, export and revision of
#: the proposal, a conflict key for every review, and an e-mail; the hourly limit on
#: invitations (``OPENCALL_INVITE_THROTTLE_PER_HOUR``) bounded the pace, not the total
#: (trialcrowd15: 30 an hour made 720 members a day on one draft).
MAX_TEAM = 100


def invitation_made(proposal: Proposal, data: dict[str, Any]) -> TeamMember | None:
    """The team member an invitation of ``data`` already made: the same address, name,
    institution and country (a retry whose answer was lost on a slow link, or the form
    sent again), or None. The caller answers it as made, writing and mailing nothing,
    instead of "This person is already on the team." (which told the PI that the
    invitation they had sent failed)."""
    try:
        email = clean_email(str(data.get("email", "")))
    except DomainError:
        return None
    for m in proposal.members:
        if (
            m.email == email
            and m.role == "coi"
            and m.status in ("invited", "accepted")
            and m.name == one_line(str(data.get("name", "")))
            and m.country_iso3 == str(data.get("country_iso3", "")).strip().upper()
            and m.institution_name.casefold()
            == one_line(str(data.get("institution", ""))).casefold()
        ):
            return m
    return None


def invite_member(
    session: Session,
    proposal: Proposal,
    data: dict[str, Any],
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> TeamMember:
    require_editable(proposal, now, session=session)
    inv = validated(MemberInvite, data)
    if sum(1 for m in proposal.members if m.status != "declined") >= MAX_TEAM:
        raise DomainError(
            "A proposal's team holds at most %(max)s people (the principal investigator "
            "and pending invitations included); remove someone before inviting another.",
            max=MAX_TEAM,
        )
    email = clean_email(inv.email)
    if throwaway_mailbox(email):
        # as registration (trialcrowd11): nobody can register at the address to answer,
        # and the invitation mails the proposal's title to a box anyone may read. Refused
        # whether or not an account has it, so that the answer tells nothing
        raise DomainError(
            "This address is at a throwaway mailbox service; invite the person at an "
            "address they will keep (their institution's, or a personal one).",
            field="email",
        )
    name = one_line(inv.name)
    if not name:
        raise DomainError("The team member's name is required.", field="name")
    check_person_name(name)
    # an alias of a member's mailbox ("pi+2@") is that member (trialcrowd17)
    if any(mailbox_key(m.email) == mailbox_key(email) for m in proposal.members):
        raise DomainError("This person is already on the team.", field="email")
    # the proposal page shows names, not addresses: a name that only look-alike letters,
    # compatibility forms or case tell apart from a member's would pass for theirs (a
    # namesake is typed the same way, and told apart by institution and address)
    key = name_skeleton(name)
    for m in proposal.members:
        if m.name != name and name_skeleton(m.name) == key:
            raise DomainError(
                "This name looks like that of %(name)s, already on the team, but is written "
                "with other characters; a namesake is typed exactly the same way.",
                field="name",
                name=m.name,
            )
    check_country(session, inv.country_iso3.upper(), field="country_iso3")
    inst = get_or_create_institution(session, inv.institution, inv.country_iso3.upper())
    # the account of the invitee's mailbox, whose owner answers it from their dashboard
    # (registering the alias is refused: one mailbox, one account)
    user = account_of_mailbox(session, email)
    member = TeamMember(
        proposal_id=proposal.id,
        user_id=user.id if user else None,
        role="coi",
        email=email,
        name=name,
        institution_id=inst.id,
        institution_name=inst.name,
        country_iso3=inv.country_iso3.upper(),
        status="invited",
    )
    session.add(member)
    save_edit(
        session,
        proposal,
        expected_version,
        "team.invited",
        actor_id=actor_id,
        data=lambda: {"member_id": member.id},
        refresh=[MEMBERS],
    )
    request_anonymity_scans(session, proposal, actor_id=actor_id)
    return member


def respond_to_invitation(
    session: Session, member: TeamMember, user: User, *, accept: bool
) -> TeamMember:
    if mailbox_key(member.email) != mailbox_key(user.email):
        raise DomainError("This invitation was sent to another e-mail address.", code="forbidden")
    if member.status != "invited":
        raise DomainError("This invitation was already %(status)s.", status=member.status)
    # one answer only, also when two tabs answer at once: the row changes only while it
    # is still "invited" (PostgreSQL re-reads it after the other answer commits; SQLite
    # writes one at a time), and the later answer is refused instead of overwriting
    status = "accepted" if accept else "declined"
    now = utcnow()
    changed = session.execute(
        update(TeamMember)
        .where(TeamMember.id == member.id, TeamMember.status == "invited")
        .values(status=status, user_id=user.id, responded_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(member)
    if changed.rowcount != 1:  # type: ignore[attr-defined]
        raise DomainError("This invitation was already %(status)s.", status=member.status)
    audit(
        session, member.proposal, "team.accepted" if accept else "team.declined", actor_id=user.id
    )
    request_anonymity_scans(session, member.proposal, actor_id=user.id)
    return member


def remove_member(
    session: Session,
    proposal: Proposal,
    member: TeamMember,
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Remove a member (never the PI) from the draft; the team changed, so its anonymity
    scans are asked for again."""
    remove_from_draft(
        session, proposal, member, actor_id=actor_id, expected_version=expected_version, now=now
    )
    request_anonymity_scans(session, proposal, actor_id=actor_id)


# ---------------------------------------------------------------- reads for the applicant's pages


def member_proposals(session: Session, user_id: int) -> list[Proposal]:
    """Proposals where the user is an accepted team member, latest first."""
    stmt = member_proposals_query(user_id).order_by(Proposal.updated_at.desc(), Proposal.id.desc())
    return list(session.scalars(stmt).unique())


def open_invitations(session: Session, email: str) -> list[TeamMember]:
    """Invitations waiting for an answer from this address, or from an alias of its
    mailbox ("pi+lab@" for pi@'s account: trialcrowd17)."""
    stmt = (
        select(TeamMember)
        .where(same_mailbox(TeamMember.email, email), TeamMember.status == "invited")
        .order_by(TeamMember.id)
    )
    key = mailbox_key(email)
    return [m for m in session.scalars(stmt) if mailbox_key(m.email) == key]
