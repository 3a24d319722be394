"""The review engine's writes, one module an aggregate:

=============== ==============================================================
``conflicts``   computed conflicts of a call, declared relations, a reviewer's
                declared conflict
``affinity``    reviewer-proposal affinity scores (``optim.affinity``)
``assignment``  the optimiser's assignment (``optim.assignment``), assignments
                added or removed by hand
``reviewing``   a reviewer's answer to an assignment, the review and its grade
``technical``   technical (feasibility) reviews
``safety``      safety reviews of the samples: hazard class and decision
``triage``      proposals set aside before the review, and returned to it
``load``        a reviewer's own limit on the proposals they review at once
                across calls
``calibration`` calibrated grades, the ranking (``optim.calibration``,
                ``optim.bias``) and its freeze
``common``      the proposals' current revisions, the latest run of a step
=============== ==============================================================

Each optimiser step builds its problem from the database, calls ``opencall.optim``,
checks the result and records a solver run (inputs hash, parameters, seed, version,
objective, time). The names below stay importable from ``opencall.reviews.services``.
"""

from opencall.proposals.services import lifecycle as _withdrawal
from opencall.reviews.services.affinity import AFFINITY_TOP_K, run_affinity
from opencall.reviews.services.assignment import (
    Uncovered,
    add_assignment,
    build_assignment_problem,
    remove_assignment,
    remove_open_assignments,
    run_assignment,
    uncovered_proposals,
)
from opencall.reviews.services.calibration import (
    freeze_ranking,
    ranking_is_current,
    run_calibration,
    unfreeze_ranking,
    unfreeze_refusal,
)
from opencall.reviews.services.common import latest_run_or_fail, load_revisions, revision_content
from opencall.reviews.services.conflicts import (
    compute_conflicts,
    declare_conflict,
    declare_relation,
    declared_before,
)
from opencall.reviews.services.consensus import record_consensus
from opencall.reviews.services.languages import set_review_languages
from opencall.reviews.services.load import set_load_limit, set_year_limit
from opencall.reviews.services.reviewing import (
    ReviewInput,
    ask_for_more_time,
    extend_review_deadline,
    respond_to_assignment,
    review_version,
    submit_review,
    submit_reviews,
    submitted_as,
)
from opencall.reviews.services.safety import submit_safety_review
from opencall.reviews.services.technical import submit_technical_review
from opencall.reviews.services.triage import return_to_review, set_aside, triage_of
from opencall.runs import VERSION, inputs_hash  # importable here as before

# a withdrawal in review (proposals, below this feature in the layers) takes the
# proposal's reviews still to be written through this feature's service (mend23)
_withdrawal.WITHDRAWAL_STEPS.setdefault("assignments_removed", remove_open_assignments)

__all__ = [
    "set_review_languages",
    "AFFINITY_TOP_K",
    "VERSION",
    "ReviewInput",
    "record_consensus",
    "Uncovered",
    "add_assignment",
    "return_to_review",
    "set_aside",
    "triage_of",
    "ask_for_more_time",
    "build_assignment_problem",
    "compute_conflicts",
    "declare_conflict",
    "declared_before",
    "declare_relation",
    "extend_review_deadline",
    "freeze_ranking",
    "inputs_hash",
    "latest_run_or_fail",
    "load_revisions",
    "remove_assignment",
    "remove_open_assignments",
    "ranking_is_current",
    "respond_to_assignment",
    "revision_content",
    "run_affinity",
    "run_assignment",
    "run_calibration",
    "set_load_limit",
    "set_year_limit",
    "review_version",
    "submit_review",
    "submit_reviews",
    "submitted_as",
    "submit_safety_review",
    "submit_technical_review",
    "unfreeze_ranking",
    "uncovered_proposals",
    "unfreeze_refusal",
]
