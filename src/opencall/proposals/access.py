"""Finding a proposal (or a row of one) for the person asking (pages of proposals
and outcomes)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from opencall.proposals import policies
from opencall.proposals.models import Proposal
from opencall.web.pages import Page

T = TypeVar("T")


def found_for(page: Page, model: type[T], row_id: int, allowed: Callable[[T], bool]) -> T:
    """The signed-in person's row of ``model`` if it exists and ``allowed`` says they may
    have it; otherwise 404 (existence does not leak)."""
    page.require_user()
    return page.get_visible(model, row_id, allowed)


def proposal_for(page: Page, proposal_id: int) -> Proposal:
    """The proposal if this person may see it; otherwise 404 (existence does not leak)."""
    return found_for(page, Proposal, proposal_id, lambda p: policies.may_see_proposal(page.user, p))


def outcome_for(page: Page, proposal_id: int) -> Proposal:
    """The proposal if this person may see its outcome (``policies.may_see_outcome``: its
    team, once the decisions are released); otherwise 404."""
    return found_for(page, Proposal, proposal_id, lambda p: policies.may_see_outcome(page.user, p))
