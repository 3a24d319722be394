"""The language a proposal is written in (``Proposal.language``, trialrev18): reviewers
who declared the languages they review in are given it only when it is among them."""

from __future__ import annotations

from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.errors import DomainError
from opencall.inputs import language_code, shown
from opencall.proposals.models import Proposal


def set_language(
    session: Session, proposal: Proposal, language: str | None, *, actor_id: int | None = None
) -> str | None:
    """State (or with ``None`` clear) the language ``proposal`` is written in; audited as
    ``proposal.language_set`` when it changes. A code that is not a language is refused,
    nothing changed."""
    code = None
    if language is not None:
        code = language_code(language)
        if code is None:
            raise DomainError(
                '"%(value)s" is not a language code (write e.g. en, es, fr, zh).',
                value=shown(language)[:40],
                field="language",
            )
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
