"""The language a proposal is written in (``Proposal.language``, trialrev18): reviewers
who declared the languages they review in are given it only when it is among them."""

from __future__ import annotations

import enum

from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.errors import DomainError
from opencall.inputs import language_code, shown
from opencall.proposals.models import Proposal


class Keep(enum.Enum):
    """The proposal's language left as it is (an edit of its text only)."""

    KEEP = 0


KEEP = Keep.KEEP


def set_language(
    session: Session, proposal: Proposal, language: str | None, *, actor_id: int | None = None
) -> str | None:
    """State (or with ``None`` clear) the language ``proposal`` is written in; audited as
    ``proposal.language_set`` when it changes. A code that is not a language is refused,
    nothing changed."""
    code = checked_language(language)
    before = proposal.language
    if before != code:
        proposal.language = code
        session.flush()
        record_language(session, proposal, before, actor_id=actor_id)
    return code


def record_language(
    session: Session, proposal: Proposal, before: str | None, *, actor_id: int | None
) -> None:
    """Audit the change of ``proposal``'s language from ``before`` to what it is now
    (``proposal.language_set``), when it changed."""
    if before == proposal.language:
        return
    auditlog.record(
        session,
        "proposal.language_set",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=proposal.call_id,
        data={"before": before, "after": proposal.language},
    )


def checked_language(language: str | None) -> str | None:
    """``language`` as a code, None for none stated; a code that is not a language (or
    empty) is refused."""
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
