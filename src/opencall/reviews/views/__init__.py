"""The review engine's pages, one module a persona:

===================== ========================================================
``reviewer``          a reviewer's workspace, assignment and review
``technical``         a technical reviewer's list and technical review
``chair``             the chair's cockpit: phases, the cycle's steps as jobs
``chair_assignments`` the chair's assignment table, pairs added or removed
``chair_ranking``     the ranking and its freeze
``common``            form messages, the reviewer's copy of a PDF, refusals
``audit``             the call's audit log (the office's), less withheld proposals
``batches``           a continuous call's batches, and the cut of those due
``triage``            the chair's triage: proposals set aside before the review
===================== ========================================================

Thin routes over ``reviews.services``; every route asks ``reviews.policies``
(or ``calls.policies``) and answers 404 when the answer is no. Long steps are
job rows written in the request's transaction (``opencall.jobs.enqueue``) and
run after commit (inline in the demo, else by ``opencall worker``); the job
page shows their progress. The invitation and reminder mails are in
``reviews.notify``, the job handlers in ``reviews.jobs``.

Dual-anonymous calls: reviewers see the frozen revision without the team (no
names, institutions, countries, e-mails, attachment file names, team size);
the chair sees identities only once the ranking is frozen.
"""

from __future__ import annotations

from fastapi import APIRouter

from opencall.reviews.views import (
    audit,
    batches,
    chair,
    chair_assignments,
    chair_ranking,
    reviewer,
    technical,
    triage,
)
from opencall.reviews.views.reviewer import review_deadline
from opencall.web.i18n import N_

router = APIRouter()
# in this order (the routes' and the API schema's order as before the split)
for _module in (
    reviewer,
    technical,
    chair,
    chair_assignments,
    chair_ranking,
    audit,
    batches,
    triage,
):
    router.include_router(_module.router)

__all__ = ["SERVICE_MESSAGES", "review_deadline", "router"]

# Messages the review services compose in English, catalogued for Translator.message.
SERVICE_MESSAGES = (
    N_("This review was already submitted."),
    N_("Please say briefly why you are conflicted."),
    N_("This reviewer is conflicted with this proposal; the pair is refused."),
    N_("This person is not a reviewer of this call."),
    N_("A team member cannot review their own proposal."),
    N_("This reviewer already has the maximum load of %(n)s."),
    N_("This reviewer is already assigned to this proposal."),
    N_("A submitted review cannot be unassigned."),
    N_("This invitation was already %(status)s."),
    N_("Reviews are accepted only while the call is in review."),
    N_("The grade must be a number."),
    N_("The grade must lie between %(lo)s and %(hi)s."),
    N_("Confidence is 1 (low) to 5 (high)."),
    N_("Comments are limited to 20,000 characters."),
    N_("Please write comments to the applicants."),
    N_("Verdict is feasible, feasible with changes or not feasible."),
    N_("The amount judged necessary cannot be negative."),
    N_("Calibrate the grades before freezing the ranking."),
    N_("A call cannot move from '%(a)s' to '%(b)s'; from '%(c)s' it can go to: %(next)s."),
    N_("A call must offer at least one capacity pool before it opens."),
    N_("Closing before the deadline needs a reason (it cuts applicants short)."),
)
