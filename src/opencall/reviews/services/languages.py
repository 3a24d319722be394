"""The languages a reviewer reviews in (``ReviewerLanguages``, trialrev18), held by each
call's assignment (``assignment``): a reviewer who declared some is not given a proposal
whose stated language is not among them."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.inputs import language_code, shown
from opencall.people.models import User
from opencall.reviews.models import ReviewerLanguages
from opencall.reviews.services.load import save_own_row

#: the most languages one reviewer declares
MAX_LANGUAGES = 20


def checked_languages(raw: Iterable[str]) -> list[str]:
    """``raw`` as sorted unique ISO 639 codes; a ``DomainError`` naming the first entry
    that is not a language (nothing else checked or changed)."""
    items = list(raw)
    if len(items) > MAX_LANGUAGES:
        raise DomainError(
            "Declare at most %(n)s languages.", n=MAX_LANGUAGES, field="review_languages"
        )
    codes = set()
    for item in items:
        code = language_code(item) if isinstance(item, str) else None
        if code is None:
            raise DomainError(
                '"%(value)s" is not a language code (write e.g. en, es, fr, zh).',
                value=shown(str(item))[:40],
                field="review_languages",
            )
        codes.add(code)
    return sorted(codes)


def set_review_languages(session: Session, user: User, languages: Iterable[str]) -> list[str]:
    """Set ``user``'s review languages (an empty list lifts the restriction); audited as
    ``review.languages_set`` when they change. A code that is not a language is refused,
    nothing changed. Assignments already made stay: the languages hold for later ones."""
    after = checked_languages(languages)
    # stored joined ("en,es"), audited as lists
    save_own_row(
        session,
        user,
        ReviewerLanguages,
        "languages",
        ",".join(after) or None,
        "review.languages_set",
        audited=lambda v: v.split(",") if v else [],
    )
    return after
