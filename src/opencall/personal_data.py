"""One person's data, for their request to see what the site holds about them (a data
subject's access request; trialop21): every row of every table that refers to their
account, and the team rows that name their e-mail before they had one.

Read from the tables' foreign keys (``opencall.models.metadata``), not from a list kept
by hand, so a table added later that refers to ``users.id`` is in the export without a
change here. Secrets are left out (password and token hashes); what the person wrote and
what others recorded about them (reviews, conflicts, decisions they took, the audit
events they caused) is in."""

from __future__ import annotations

import datetime as dt
import decimal
import uuid
from typing import Any

from sqlalchemy import Table, delete, func, or_, select, update
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.errors import DomainError
from opencall.models import metadata

#: columns never exported: they let whoever holds them sign in or check a guess
SECRET_COLUMNS = frozenset({"password_hash", "token_hash"})


def _value(v: Any) -> Any:
    if isinstance(v, dt.datetime | dt.date | dt.time):
        return v.isoformat()
    if isinstance(v, decimal.Decimal | uuid.UUID):
        return str(v)
    if isinstance(v, bytes | bytearray | memoryview):
        return bytes(v).hex()
    return v


def _conditions(table: Table, user_id: int | None, email: str) -> list[Any]:
    if user_id is None:  # an address without an account (mend22b): its rows by address
        conds: list[Any] = []
    elif table.name == "users":
        return [table.c.id == user_id]
    else:
        conds = [
            fk.parent == user_id
            for fk in table.foreign_keys
            if fk.column.table.name == "users" and fk.column.name == "id"
        ]
    if "email" in table.c:  # a team member invited by e-mail, before any account
        conds.append(func.lower(table.c.email) == email.lower())
    return conds


def _row(row: Any) -> dict[str, Any]:
    return {k: _value(v) for k, v in row.items() if k not in SECRET_COLUMNS}


#: the invitations by address, and the entity their audit events name them by
_INVITATION_EVENTS = {
    "role_invitations": "role_invitation",
    "review_invitations": "review_invitation",
}


def _team_events(session: Session, members: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The audit events of the team rows ``members`` (the invitation and its answer, on
    their proposals' events, naming the row by ``member_id``)."""
    events = auditlog.AuditEvent.__table__
    ids = {m["id"] for m in members}
    proposals = sorted({str(m["proposal_id"]) for m in members})
    if not ids:
        return []
    stmt = (
        select(events)
        .where(
            events.c.entity == "proposal",
            events.c.entity_id.in_(proposals),
            events.c.action.like("team.%"),
        )
        .order_by(events.c.id)
    )
    return [
        _row(row)
        for row in session.execute(stmt).mappings()
        if isinstance(row["data"], dict) and row["data"].get("member_id") in ids
    ]


def person_data(
    session: Session, user_id: int | None, email: str
) -> dict[str, list[dict[str, Any]]]:
    """Table name -> the rows about the person (columns by name, JSON-ready values, secrets
    left out), tables without any row left out; in the metadata's order (parents first).
    ``user_id`` None: an address without an account (an invitee who never registered;
    mend22b), whose rows are those that name the address, with the audit events of its
    team rows."""
    out: dict[str, list[dict[str, Any]]] = {}
    for table in metadata.sorted_tables:
        conds = _conditions(table, user_id, email)
        if not conds:
            continue
        stmt = select(table).where(or_(*conds)).order_by(*table.primary_key.columns)
        rows = [_row(row) for row in session.execute(stmt).mappings()]
        if rows:
            out[table.name] = rows
    events = out.get("audit_events", [])
    seen = {e["id"] for e in events}
    found = _team_events(session, out.get("team_members", []))
    stored = auditlog.AuditEvent.__table__
    for name, entity in _INVITATION_EVENTS.items():
        ids = [str(r["id"]) for r in out.get(name, [])]
        if ids:
            stmt = select(stored).where(stored.c.entity == entity, stored.c.entity_id.in_(ids))
            found += [_row(row) for row in session.execute(stmt).mappings()]
    more = list({e["id"]: e for e in found if e["id"] not in seen}.values())
    if more:
        out["audit_events"] = sorted([*events, *more], key=lambda e: e["id"])
    return out


# ------------------------------------------------------------------ erasure (trialop22)

#: the name an erased account and its team rows show wherever a name was
ERASED_NAME = "Erased account"

#: a team member's proposal in these states is still being decided: a PI or co-investigator
#: of one is not erased (its conflicts are found from the team's names and institutions)
_OPEN_PROPOSAL = ("submitted", "under_review")

#: a review assignment in these states is a duty still to be done
_OPEN_ASSIGNMENT = ("assigned", "accepted")

#: a call in these states still reads its reviews (an unfinished assignment of a call
#: past them is moot)
_REVIEWING_CALL = ("closed", "review", "ranking")

#: rows of the person that go: secrets, sign-in state, the reviewer's profile and
#: declarations, roles (tables found by their foreign key to ``users.id``)
_DELETED = (
    "user_sessions",
    "api_tokens",
    "email_tokens",
    "role_grants",
    "node_staff",
    "expertise_profiles",
    "reviewer_publications",
    "reviewer_languages",
    "reviewer_load_limits",
    "reviewer_year_limits",
    "declared_relations",
)


#: the tables whose column names the person by address, not by id
_NAMING = {
    "declared_relations": "other_email",
    "review_invitations": "email",
    "role_invitations": "email",
    "email_sends": "email",
    "login_attempts": "email",
}


def _count(result: Any) -> int:
    return int(getattr(result, "rowcount", 0) or 0)


def erased_email(user_id: int) -> str:
    """The address an erased account keeps: unique, and never deliverable (``.invalid``)."""
    return f"erased-{user_id}@erased.invalid"


def open_duties(session: Session, user_id: int) -> list[str]:
    """What keeps the person from being erased now: the codes of the proposals under
    review they are on the team of, and of those they have a review still to write for."""
    from opencall.calls.models import Call
    from opencall.proposals.models import Proposal, TeamMember
    from opencall.reviews.models import ReviewAssignment

    team = session.scalars(
        select(Proposal.code)
        .join(TeamMember, TeamMember.proposal_id == Proposal.id)
        .where(
            TeamMember.user_id == user_id,
            TeamMember.status != "declined",
            Proposal.status.in_(_OPEN_PROPOSAL),
        )
        .order_by(Proposal.code)
    ).all()
    reviews = session.scalars(
        select(Proposal.code)
        .join(ReviewAssignment, ReviewAssignment.proposal_id == Proposal.id)
        .join(Call, Call.id == ReviewAssignment.call_id)
        .where(
            ReviewAssignment.reviewer_id == user_id,
            ReviewAssignment.status.in_(_OPEN_ASSIGNMENT),
            Call.status.in_(_REVIEWING_CALL),
        )
        .order_by(Proposal.code)
    ).all()
    return [*dict.fromkeys(team), *(f"review:{c}" for c in dict.fromkeys(reviews))]


def _drop_unsubmitted(session: Session, user_id: int) -> list[str]:
    """Delete the person's proposals that were never submitted (no revision: nobody but
    their team saw them), with every row that refers to them; their codes."""
    from opencall.proposals.models import Proposal, ProposalRevision

    ever = select(ProposalRevision.proposal_id).distinct()
    drafts = session.execute(
        select(Proposal.id, Proposal.code).where(
            Proposal.pi_user_id == user_id,
            Proposal.status.in_(("draft", "withdrawn")),
            Proposal.id.not_in(ever),
        )
    ).all()
    ids = [d.id for d in drafts]
    if ids:
        session.flush()
        for table in reversed(metadata.sorted_tables):
            for fk in table.foreign_keys:
                if fk.column.table.name == "proposals" and fk.column.name == "id":
                    session.execute(table.delete().where(fk.parent.in_(ids)))
        session.execute(delete(Proposal).where(Proposal.id.in_(ids)))
        session.expire_all()
    return [d.code for d in drafts]


def erase_person(
    session: Session, user: Any, *, actor_id: int | None = None, reason: str = ""
) -> dict[str, int]:
    """Anonymise the account ``user`` (a data subject's request for erasure; trialop22):
    its name, address, institution, ORCID, expertise and password go, it can sign in no
    more, its sessions, tokens, roles and reviewer profile are deleted, its team rows
    name nobody, its proposals never submitted are deleted. Kept, under the account's id:
    the submitted proposals and their decisions, the reviews written, and the country of
    the account and of its team rows (the published who-benefits figures count them;
    a country names nobody among a call's applicants). The audit log is not rewritten:
    its events name the id, and the chain stays intact. Refused (nothing changed) while
    the person is on the team of a proposal under review or has a review to write.
    Returns the number of rows changed or deleted, by table."""
    from opencall.people.models import User

    if user.email.endswith("@erased.invalid"):
        raise DomainError("This account was erased already.", code="erased")
    if user.is_site_admin and not session.scalar(
        select(func.count())
        .select_from(User)
        .where(User.is_site_admin.is_(True), User.is_active.is_(True), User.id != user.id)
    ):
        raise DomainError(
            "This is the only site administrator: make another one first (opencall admin create).",
            code="open_duties",
        )
    duties = open_duties(session, user.id)
    if duties:
        raise DomainError(
            "This person still has duties: a proposal under review on their team, or a "
            "review to write (%(codes)s). Withdraw the proposal or remove the assignment "
            "first, or wait for the decision.",
            code="open_duties",
            codes=", ".join(duties),
        )
    email, new = user.email.lower(), erased_email(user.id)
    counts: dict[str, int] = {}

    def note(table: str, n: int) -> None:
        if n:
            counts[table] = counts.get(table, 0) + n

    dropped = _drop_unsubmitted(session, user.id)
    note("proposals", len(dropped))
    by_name = {t.name: t for t in metadata.sorted_tables}
    for name in _DELETED:
        table = by_name[name]
        fk = next(fk.parent for fk in table.foreign_keys if fk.column.table.name == "users")
        note(name, _count(session.execute(table.delete().where(fk == user.id))))
    members = by_name["team_members"]
    mine = or_(members.c.user_id == user.id, func.lower(members.c.email) == email)
    blank = {"name": ERASED_NAME, "email": new, "institution_id": None, "institution_name": ""}
    note("team_members", _count(session.execute(members.update().where(mine).values(blank))))
    # others' declarations and invitations naming the person keep pointing at the erased
    # rows; the throttles' records of the address go
    for name, column in _NAMING.items():
        table = by_name[name]
        named = func.lower(table.c[column]) == email
        if name in ("email_sends", "login_attempts"):
            note(name, _count(session.execute(table.delete().where(named))))
        else:
            note(name, _count(session.execute(table.update().where(named).values({column: new}))))
    session.execute(
        update(User)
        .where(User.id == user.id)
        .values(
            email=new,
            name=ERASED_NAME,
            password_hash="",
            is_active=False,
            is_site_admin=False,
            email_verified_at=None,
            institution_id=None,
            orcid=None,
            expertise="",
            time_zone=None,
        )
    )
    note("users", 1)
    session.expire_all()
    auditlog.record(
        session,
        "person.erased",
        "user",
        user.id,
        actor_id=actor_id,
        reason=reason,
        data={"rows": counts, "drafts_deleted": dropped},
    )
    return counts


def erase_address(
    session: Session, email: str, *, actor_id: int | None = None, reason: str = ""
) -> dict[str, int]:
    """Anonymise what is held about an address without an account (an invitee who never
    registered; mend22b): its team rows name nobody (as an erased account's), others'
    invitations and declarations naming it point at an undeliverable address, the
    throttles' records of it go. The audit log is not rewritten (a hash chain; its team
    events name the row by id, which now names nobody). Refused (nothing changed) while
    the address is on the team of a proposal under review, or when nothing is held.
    Returns the number of rows changed or deleted, by table."""
    from opencall.proposals.models import Proposal, TeamMember

    email = email.strip().lower()
    if session.scalar(
        select(func.count())
        .select_from(TeamMember)
        .join(Proposal, Proposal.id == TeamMember.proposal_id)
        .where(
            func.lower(TeamMember.email) == email,
            TeamMember.status != "declined",
            Proposal.status.in_(_OPEN_PROPOSAL),
        )
    ):
        raise DomainError(
            "This address is on the team of a proposal under review: withdraw the "
            "proposal or wait for the decision first.",
            code="open_duties",
        )
    counts: dict[str, int] = {}
    by_name = {t.name: t for t in metadata.sorted_tables}
    members = by_name["team_members"]
    for (mid,) in session.execute(
        select(members.c.id).where(func.lower(members.c.email) == email)
    ).all():
        session.execute(
            members.update()
            .where(members.c.id == mid)
            .values(
                name=ERASED_NAME,
                email=f"erased-member-{mid}@erased.invalid",
                institution_id=None,
                institution_name="",
            )
        )
        counts["team_members"] = counts.get("team_members", 0) + 1
    for name, column in _NAMING.items():
        table = by_name[name]
        named = func.lower(table.c[column]) == email
        if name in ("email_sends", "login_attempts"):
            n = _count(session.execute(table.delete().where(named)))
        else:
            n = _count(
                session.execute(
                    table.update().where(named).values({column: "erased@erased.invalid"})
                )
            )
        if n:
            counts[name] = n
    if not counts:
        raise DomainError("Nothing is held about this address.", code="not_found")
    session.expire_all()
    auditlog.record(
        session,
        "person.erased",
        "address",
        "",
        actor_id=actor_id,
        reason=reason,
        data={"rows": counts},
    )
    return counts
