"""Steps of the proposals feature that both write (``services``) and tell someone
(``notify``), two modules of one layer that import neither the other: one function a
step, which every page and API route taking it calls, so they cannot drift apart.

* :func:`extend_submission_deadline` (mend23): the cockpit's form and ``PUT
  /api/v1/proposals/{id}/deadline`` each granted the extension and then queued the PI's
  mail themselves, so granting the same deadline again (a second click, an API call
  retried) mailed the PI again."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from opencall.proposals import notify
from opencall.proposals.models import Proposal, SubmissionExtension
from opencall.proposals.queries import submission_extension
from opencall.proposals.services import grant_submission_extension


def _utc(at: dt.datetime | None) -> dt.datetime | None:
    if at is None or at.tzinfo is not None:
        return at.astimezone(dt.UTC) if at is not None else None
    return at.replace(tzinfo=dt.UTC)


def extend_submission_deadline(
    session: Session,
    proposal: Proposal,
    until: dt.datetime,
    *,
    reason: str,
    actor_id: int | None,
    base_url: str,
    now: dt.datetime | None = None,
) -> tuple[SubmissionExtension, bool]:
    """Give ``proposal`` its own submission deadline ``until`` (as
    :func:`~opencall.proposals.services.grant_submission_extension`: refused, nothing
    changed, where that refuses) and tell its PI (:func:`~opencall.proposals.notify.mail_deadline_extended`)
    when the deadline is new or moved: the same deadline granted again (a new reason,
    recorded and audited) mails nobody. Returns the extension and whether a mail was queued."""
    earlier = submission_extension(session, proposal)
    before = _utc(earlier.until) if earlier is not None else None
    ext = grant_submission_extension(
        session, proposal, until, reason=reason, actor_id=actor_id, now=now
    )
    if _utc(ext.until) == before:
        return ext, False
    return ext, notify.mail_deadline_extended(session, proposal, ext.until, base_url=base_url)
