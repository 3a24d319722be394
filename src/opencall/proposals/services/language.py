"""The language a proposal is written in (``Proposal.language``, trialrev18): reviewers
who declared the languages they review in are given it only when it is among them."""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.errors import DomainError
from opencall.inputs import language_code, shown
from opencall.proposals.models import Proposal
from opencall.proposals.services.editing import flush_edit, require_editable, touch


def set_language(
    session: Session, proposal: Proposal, language: str | None, *, actor_id: int | None = None
) -> str | None:
    """State (or with ``None`` clear) the language ``proposal`` is written in; audited as
    ``proposal.language_set`` when it changes. A code that is not a language is refused,
    nothing changed."""
    code = _checked(language)
    before = proposal.language
    if before != code:
        proposal.language = code
        session.flush()
        auditlog.record(
            session,
            "proposal.language_set",
            "proposal",
            proposal.id,
            actor_id=actor_id,
            call_id=proposal.call_id,
            data={"before": before, "after": code},
        )
    return code


def _checked(language: str | None) -> str | None:
    """``language`` as a code, None for none stated; a code that is not a language is
    refused."""
    if language is None:
        return None
    code = language_code(language)
    if code is None:
        raise DomainError(
            '"%(value)s" is not a language code (write e.g. en, es, fr, zh).',
            value=shown(language)[:40],
            field="language",
        )
    return code


def edit_language(
    session: Session,
    proposal: Proposal,
    language: str | None,
    *,
    actor_id: int | None = None,
    expected_version: int | None = None,
    now: dt.datetime | None = None,
) -> str | None:
    """The team's change of the language (the editor's select, the API's ``language``):
    only while the proposal is editable, against the version the form or the client
    read; empty or None is "not stated". Refused with nothing changed otherwise."""
    require_editable(proposal, now, session=session)
    code = _checked(language or None)
    touch(proposal, expected_version)
    flush_edit(session)
    return set_language(session, proposal, code, actor_id=actor_id)
