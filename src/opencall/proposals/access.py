"""Finding a proposal for the person asking (pages of proposals and outcomes)."""

from __future__ import annotations

from opencall.proposals import policies
from opencall.proposals.models import Proposal
from opencall.web.pages import Page


def proposal_for(page: Page, proposal_id: int) -> Proposal:
    """The proposal if this person may see it; otherwise 404 (existence does not leak)."""
    page.require_user()
    proposal = page.db.get(Proposal, proposal_id)
    if proposal is None or not policies.may_see_proposal(page.user, proposal):
        page.not_found()
    return proposal
