"""Labels shown by the pages of several features (translated where shown).

One place for the words of a call's status, a pool's unit, a call's anonymity
and a job's status and kind, so that every feature's templates say the same.
"""

from __future__ import annotations

from typing import Any

from opencall.web.i18n import N_

CALL_STATUS = {
    "draft": N_("draft"),
    "open": N_("open"),
    "closed": N_("closed"),
    "review": N_("in review"),
    "ranking": N_("ranking"),
    "allocation": N_("allocation"),
    "scheduling": N_("scheduling"),
    "published": N_("results published"),
    "archived": N_("archived"),
}
UNITS = {
    "h": N_("hours"),
    "berths": N_("berths"),
    "dives": N_("dives"),
    "mg": N_("mg"),
    "seats": N_("seats"),
    "packages": N_("packages"),
}
ANONYMITY = {
    "dual": N_(
        "Dual-anonymous review: reviewers do not see who you are, and you do not see who they are."
    ),
    "single": N_("Single-anonymous review: reviewers see the team; you do not see who reviewed."),
    "open": N_("Open review: names are visible on both sides."),
}
JOB_STATUS = {
    "queued": N_("queued"),
    "running": N_("running"),
    "done": N_("done"),
    "failed": N_("failed"),
}
JOB_KINDS = {
    "review.conflicts": N_("Conflict detection"),
    "review.affinity": N_("Reviewer affinity"),
    "review.assign": N_("Reviewer assignment"),
    "review.calibrate": N_("Calibration and ranking"),
    "allocation.run": N_("Allocation"),
    "schedule.run": N_("Scheduling"),
    "mail": N_("E-mail"),
}


def _label(page: Any, words: dict[str, str]) -> Any:
    return lambda key: page._(words[key]) if key in words else key


def call_labels(page: Any) -> dict[str, Any]:
    """``status_label`` and ``unit_label`` for the public pages."""
    return {"status_label": _label(page, CALL_STATUS), "unit_label": _label(page, UNITS)}


def status_labels(page: Any) -> dict[str, Any]:
    """``status_label``, ``job_status_label`` and ``job_kind_label`` for managers' pages."""
    return {
        "status_label": _label(page, CALL_STATUS),
        "job_status_label": _label(page, JOB_STATUS),
        "job_kind_label": _label(page, JOB_KINDS),
    }
