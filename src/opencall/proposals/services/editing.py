"""How every change to a proposal is made: under the write lock, against the
version the editor saw, flushed (a row changed meanwhile is a stale edit) and
recorded in the audit log. Shared by the services of this package."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.exc import StaleDataError

from opencall import auditlog
from opencall.calls.domain import is_open_at, require_open
from opencall.calls.models import Call
from opencall.db import begin_write as begin_write
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.inputs import error_text, first_error
from opencall.proposals.models import Attachment, Proposal, Request, TeamMember
from opencall.proposals.queries import submission_extension
from opencall.proposals.services.scans import request_anonymity_scans

M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: dict[str, Any], prefix: str = "") -> M:
    """``data`` as ``model``; its first problem as a refusal naming the field (under
    ``prefix``, where the data is part of a larger document)."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        where, _msg = first_error(exc, prefix)
        raise DomainError.composed(error_text(exc, prefix), field=where or None) from exc


CALL_DEADLINE = ["status", "opens_at", "closes_at"]
PROPOSAL_STATE = ["status", "version", "current_revision_id"]
# the proposal's collections (its team, requests and files): a service that adds or
# removes a row of one reloads that one (``session.refresh(proposal, [name])``), not the
# whole proposal with its call (a joined load) and all three collections
MEMBERS, REQUESTS, ATTACHMENTS = "members", "requests", "attachments"
COLLECTIONS = [MEMBERS, REQUESTS, ATTACHMENTS]


def lock_for_write(session: Session, proposal: Proposal) -> None:
    """Serialise a write to ``proposal`` against the close of its call and against other
    writes to it, then re-read what the checks use (the call's status and dates, the
    proposal's status and version) inside the write transaction.

    PostgreSQL: the call row ``FOR SHARE`` (many writers at once; a close takes it
    exclusively and waits for them, and they wait for it) and the proposal row
    ``FOR UPDATE``. SQLite: ``BEGIN IMMEDIATE`` (one writer at a time).
    """
    if session.get_bind().dialect.name == "postgresql":
        session.refresh(proposal.call, CALL_DEADLINE, with_for_update={"read": True})
        session.refresh(proposal, PROPOSAL_STATE, with_for_update=True)
    else:
        begin_write(session)
        session.refresh(proposal.call, CALL_DEADLINE)
        session.refresh(proposal, PROPOSAL_STATE)


def lock_call_for_close(session: Session, call: Call) -> None:
    """The close's side of :func:`lock_for_write`: the call row exclusively (PostgreSQL
    ``FOR NO KEY UPDATE``; SQLite ``BEGIN IMMEDIATE``), waiting for writes in flight."""
    if session.get_bind().dialect.name == "postgresql":
        session.refresh(call, CALL_DEADLINE, with_for_update={"key_share": True})
    else:
        begin_write(session)
        session.refresh(call, CALL_DEADLINE)


def require_editable(
    proposal: Proposal, now: dt.datetime | None = None, *, session: Session | None = None
) -> None:
    if session is not None:
        lock_for_write(session, proposal)
    if proposal.status not in ("draft", "submitted"):
        raise DomainError(
            "This proposal is %(status)s and can no longer be edited.",
            code="locked",
            status=proposal.status,
        )
    require_proposal_open(proposal, now)


def require_proposal_open(proposal: Proposal, now: dt.datetime | None = None) -> None:
    """Refused unless ``proposal``'s PI may edit and submit it at ``now``: its call takes
    proposals, or the user office extended this proposal's own deadline past ``now``
    (``SubmissionExtension``) and its call has not moved on from closed to review."""
    now = now or utcnow()
    call = proposal.call
    session = object_session(proposal)
    ext = submission_extension(session, proposal) if session is not None else None
    if ext is None or is_open_at(call.status, call.opens_at, call.closes_at, now):
        require_call_open(call, now)
        return
    if (
        call.status in ("open", "closed")
        and call.opens_at <= now.replace(microsecond=0) < ext.until
    ):
        return
    require_open(call.status, call.opens_at, ext.until, now)


def require_call_open(call: Call, now: dt.datetime | None = None) -> None:
    """Refused unless ``call`` takes proposals at ``now`` (when the request came; the
    present when None): open, between its opening and its deadline."""
    require_open(call.status, call.opens_at, call.closes_at, now or utcnow())


STALE = (
    "This proposal was changed elsewhere since you opened it; your text is kept "
    "below — review the latest version and save again."
)


def stale_edit() -> DomainError:
    """The refusal of an edit made against an older version (the editor keeps the text)."""
    return DomainError(
        "This proposal was changed elsewhere since you opened it; your text is "
        "kept below — review the latest version and save again.",
        code="stale",
    )


def touch(proposal: Proposal, expected_version: int | None) -> None:
    """Check the version the editor saw (read again under the write lock), and mark the
    proposal changed: its row is updated, and the mapper's ``version_id_col`` makes that
    ``UPDATE ... SET version = v + 1 WHERE id = :id AND version = :v``."""
    if expected_version is not None and expected_version != proposal.version:
        raise stale_edit()
    proposal.updated_at = utcnow()


def flush_edit(session: Session) -> None:
    """Flush a versioned change; a row changed meanwhile is a stale edit, not a 500."""
    try:
        session.flush()
    except StaleDataError as exc:
        raise stale_edit() from exc


def audit(
    session: Session,
    proposal: Proposal,
    action: str,
    *,
    actor_id: int | None = None,
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> None:
    """Record ``action`` in the audit log as an event of ``proposal`` (and its call)."""
    auditlog.record(
        session,
        action,
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        reason=reason,
        data=data,
    )


def save_edit(
    session: Session,
    proposal: Proposal,
    expected_version: int | None,
    action: str,
    *,
    actor_id: int | None,
    data: dict[str, Any] | Callable[[], dict[str, Any]] | None = None,
    refresh: list[str] | None = None,
) -> None:
    """Save an edit of the proposal's draft: check the version, flush (a row changed
    meanwhile is a stale edit), reload the proposal's collections named in ``refresh``
    (those the edit added a row to or removed one from), and record the edit in the
    audit log (``data`` a function when it names a row's id, which exists only after
    the flush)."""
    touch(proposal, expected_version)
    flush_edit(session)
    if refresh:
        session.refresh(proposal, refresh)
    audit(session, proposal, action, actor_id=actor_id, data=data() if callable(data) else data)


def _not_ours(row: Request | TeamMember | Attachment) -> DomainError:
    if isinstance(row, Request):
        return DomainError("Not a request of this proposal.", code="not_found")
    if isinstance(row, Attachment):
        return DomainError("Not an attachment of this proposal.", code="not_found")
    return DomainError("Not a member of this proposal.", code="not_found")


#: the audit action of removing each kind of row from a draft
REMOVED = {Request: "request.removed", TeamMember: "team.removed", Attachment: "attachment.removed"}


def remove_from_draft(
    session: Session,
    proposal: Proposal,
    row: Request | TeamMember | Attachment,
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> None:
    """Delete a row of the draft (a request, a file, a team member) and save that as an
    edit. Refused (nothing changes) when the row is another proposal's, or is the
    principal investigator. A file's row only: its bytes stay until ``opencall storage
    sweep`` finds no row and no submitted revision referring to them."""
    require_editable(proposal, now, session=session)
    if row.proposal_id != proposal.id:
        raise _not_ours(row)
    if isinstance(row, TeamMember) and row.role == "pi":
        raise DomainError("The principal investigator cannot be removed.")
    session.delete(row)
    save_edit(
        session,
        proposal,
        expected_version,
        REMOVED[type(row)],
        actor_id=actor_id,
        data={"sha256": row.sha256} if isinstance(row, Attachment) else None,
        refresh=COLLECTIONS,
    )
    if isinstance(row, Request):  # its text left the version the scan reads (trialrev21)
        request_anonymity_scans(session, proposal, actor_id=actor_id)
