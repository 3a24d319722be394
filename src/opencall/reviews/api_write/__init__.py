"""The JSON API of running a call's review, one module a persona:

=============== ===============================================================
``phases``      chair and user office: phase transitions (through
                ``opencall.cycle``), the cycle's steps as jobs (conflicts,
                affinity, assignment, calibration, allocation, scheduling) and
                their progress, the ranking's freeze
``assignments`` chair: assignments by hand
``reviewer``    reviewer: the answer to an assignment, a declared conflict
``pool``        chair: the call's conflicts, the reviewer pool, invitations
``technical``   technical reviewer: technical reviews
``safety``      safety officer (a technical reviewer): safety reviews of the samples
``triage``      chair: proposals set aside before the review, or returned to it
``consensus``   chair: the panel's consensus grade and comment on a proposal
``common``      a row of the chair's call
=============== ===============================================================

Same services and policies as ``reviews.views`` and ``reviews.recruitment_views``:
identities of a dual-anonymous call are shown exactly where the pages show them.
"""

from __future__ import annotations

from fastapi import APIRouter

from opencall.reviews.api_write import (
    assignments,
    consensus,
    phases,
    pool,
    reviewer,
    safety,
    technical,
    triage,
)

router = APIRouter(prefix="/api/v1", tags=["reviews"])
# in this order (the API schema's order as before the split)
for _module in (phases, assignments, reviewer, pool, technical, safety, triage, consensus):
    router.include_router(_module.router)

__all__ = ["router"]
