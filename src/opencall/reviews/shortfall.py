"""Why proposals are short of reviewers, in the reader's words: the chair's assignment
page, the API's ``uncovered`` list and ``opencall review assign`` say the same sentences
(a module of its own so that the command line does not import the page's views)."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from opencall.calls.models import Call
from opencall.proposals.models import Proposal
from opencall.reviews import services
from opencall.web.i18n import N_, Translator

#: why a proposal is short of suitable reviewers (``services.Uncovered.reason``); the
#: two counted ones, singular and plural, are ``SHORT_FREE`` and ``SHORT_POOL``
SHORT_FREE = (
    "Only %(free)s reviewer is free of conflicts with it (and has not declined or "
    "been removed): invite reviewers without a conflict with it.",
    "Only %(free)s reviewers are free of conflicts with it (and have not declined or "
    "been removed): invite reviewers without a conflict with it.",
)
SHORT_POOL = (
    "The call has fewer reviewers than the %(needed)s review it needs: invite reviewers.",
    "The call has fewer reviewers than the %(needed)s reviews it needs: invite reviewers.",
)
SHORT_REASONS = {
    "capacity": N_(
        "The reviewers free of conflicts with it have no room left: invite reviewers, or "
        "raise the maximum load (at %(load)s, the reviewers' capacity would cover every "
        "proposal)."
    ),
    "diversity": N_(
        "The rules on reviewers from one institution or one region leave it too few "
        "reviewers: invite reviewers from other institutions or regions."
    ),
    "language": N_(
        "Too few of the reviewers free of conflicts with it review in its language (they "
        "declared the languages they read): invite reviewers who read its language."
    ),
    "withdrawn": N_(
        "A reviewer withdrew or was removed since it was assigned: run the automatic "
        "assignment again to replace them, or assign a reviewer by hand."
    ),
    "overdue": N_(
        "A reviewer has not submitted by the review deadline: extend their deadline, or "
        "remove the assignment and run the automatic assignment again to replace them."
    ),
    "no_expertise": N_(
        "None of its reviewers has any recorded expertise in its subject: invite reviewers "
        "who know the field."
    ),
}


def short_explanation(t: Translator, u: services.Uncovered) -> str:
    """Why ``u`` is short, in ``t``'s language (counts agree with their nouns)."""
    if u.reason == "conflicts":
        return t.ngettext(*SHORT_FREE, u.free, free=u.free)
    if u.reason == "pool":
        return t.ngettext(*SHORT_POOL, u.needed, needed=u.needed)
    return t(SHORT_REASONS[u.reason], free=u.free, load=u.load_to_cover)


def uncovered_rows(
    db: Session,
    call: Call,
    withheld: frozenset[int],
    t: Translator,
    *,
    now: dt.datetime | None = None,
) -> list[dict[str, Any]]:
    """The proposals short of suitable reviewers (``services.uncovered_proposals``) as the
    page and the API show them: code, title, reviewers assigned of those needed, the
    reason's code and its explanation in the reader's language (``t``). A proposal
    withheld from the reader (``policies.withheld``) is left out."""
    found = services.uncovered_proposals(db, call, withheld=withheld, now=now)
    if not found:
        return []
    props = {
        p.id: p
        for p in db.scalars(select(Proposal).where(Proposal.id.in_([u.proposal_id for u in found])))
    }
    return [
        {
            "proposal_id": u.proposal_id,
            "proposal_code": props[u.proposal_id].code,
            "title": props[u.proposal_id].title,
            "needed": u.needed,
            "assigned": u.assigned,
            "reason": u.reason,
            "explanation": short_explanation(t, u),
        }
        for u in found
    ]
