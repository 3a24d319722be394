"""Labels shown by the pages of several features (translated where shown).

One place for the words of a call's anonymity and a job's status and kind (a
call's status: ``calls.domain.CALL_STATE_WORDS``, labelled by ``calls.presenters``), so that every feature's templates say the same; and
what people read instead of codes: audit actions and entities, and the progress
messages jobs write (composed in English by the services; shown translated through
``Translator.message``, whose templates these lists catalogue).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from opencall.web.i18n import N_, Translator

REQUEST_KINDS = {
    "fast": N_("Telescope time"),
    "berth": N_("Berths on the cruise"),
    "dive": N_("Submersible dives"),
    "sample": N_("Sample loan"),
    "seat": N_("Course seats"),
    "package": N_("Demonstration packages"),
    "custom": N_("Request"),
}
ANONYMITY = {
    "dual": N_(
        "Dual-anonymous review: reviewers do not see who you are, and you do not see who they are."
    ),
    "single": N_("Single-anonymous review: reviewers see the team; you do not see who reviewed."),
    "open": N_("Open review: names are visible on both sides."),
}
#: The roles a person holds at a provider or in a call (``people.models.ROLES``): the
#: people pages of a provider and the reviewer recruitment of a call say the same.
ROLE_LABELS = {
    "provider_admin": N_("Provider administrator"),
    "call_manager": N_("User office (call manager)"),
    "chair": N_("Panel chair"),
    "reviewer": N_("Reviewer"),
    "technical_reviewer": N_("Technical reviewer"),
}
#: The words the forms give their fields (the same msgids as the forms' labels), for the
#: page that shows a form kept after its session or its token ran out (resume.html):
#: there only the posted names are known. A table because the labels live in the
#: templates, not in a form schema; a field not listed is shown by its name.
FIELD_LABELS = {
    "title": N_("Title"),
    "abstract": N_("Abstract"),
    "science_case": N_("Science case"),
    "keywords": N_("Keywords"),
    "email": N_("E-mail"),
    "name": N_("Name"),
    "institution": N_("Institution"),
    "country_iso3": N_("Country"),
    "language": N_("Language"),
    "time_zone": N_("Time zone"),
    "orcid": N_("ORCID iD"),
    "statement": N_("Statement"),
    "expertise": N_("Expertise (for reviewers)"),
    "authors": N_("Authors (separated by ;)"),
    "year": N_("Year"),
}
#: What a kept form was for (resume.html, trialapp23), by the path it was sent to: the
#: page said "POST /proposals/12" before, a technical line for an applicant. The first
#: pattern that matches the whole path gives the words; a path none matches is not said.
FORM_TARGETS: tuple[tuple[re.Pattern[str], str], ...] = tuple(
    (re.compile(pattern), words)
    for pattern, words in (
        (r"/proposals/\d+", N_("the text of your proposal")),
        (r"/proposals/\d+/(attachments|uploads)(/.*)?", N_("your proposal's PDF")),
        (r"/proposals/\d+/(requests|bundle)(/.*)?", N_("what your proposal asks for")),
        (r"/proposals/\d+/team(/.*)?", N_("your proposal's team")),
        (r"/proposals/\d+/language", N_("the language of your proposal")),
        (r"/proposals/\d+/(submit|withdraw)", N_("submitting or withdrawing your proposal")),
        (r"/calls/[^/]+/apply", N_("a new proposal")),
        (r"/invitations/\d+", N_("your answer to an invitation")),
        (r"/review/assignments/\d+(/.*)?", N_("your review")),
        (r"/review/[a-z-]+", N_("what you review")),
        (r"/technical/proposals/\d+", N_("your technical review")),
        (r"/account(/.*)?", N_("your account")),
        (r"/manage/calls/[^/]+(/.*)?", N_("the management of a call")),
    )
)


def form_target(path: str) -> str | None:
    """The words (a msgid) for what a form sent to ``path`` was for, or None."""
    return next((words for pattern, words in FORM_TARGETS if pattern.fullmatch(path)), None)


#: A form's bookkeeping, sent again with the kept form but not shown as typed text: the
#: version it was typed against, its one-time key, which of its buttons was pressed.
BOOKKEEPING_FIELDS = frozenset({"version", "once", "action", "next", "target", "confirm"})
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
    "allocation.notify": N_("Decision e-mails"),
    "schedule.run": N_("Scheduling"),
    "mail": N_("E-mail"),
    "people.password_reset": N_("Password reset e-mails"),
    "proposals.remind_drafts": N_("Draft reminders before the close"),
    "proposal.anonymity_scan": N_("Anonymity check of the PDF"),
    "postaward.remind": N_("Post-award reminders"),
}


def labeller(page: Any, words: dict[str, str]) -> Callable[[str], str]:
    """A template's ``..._label``: ``words``' label of a key in the reader's language,
    the key itself when ``words`` has none."""
    return lambda key: page._(words[key]) if key in words else key


AUDIT_ACTIONS = {
    "api_token.created": N_("API token created"),
    "api_token.revoked": N_("API token revoked"),
    "assignment.added": N_("Reviewer assigned"),
    "assignment.removed": N_("Reviewer unassigned"),
    "attachment.added": N_("PDF uploaded"),
    "attachment.cleaned": N_("PDF cleaned for reviewers"),
    "attachment.removed": N_("PDF removed"),
    "call.created": N_("Call created"),
    "call.partner_accepted": N_("Partner provider accepted the joint call"),
    "call.partner_invited": N_("Partner provider invited into the call"),
    "call.partner_withdrawn": N_("Partner provider left the call"),
    "call.pool_offered": N_("Capacity offered in the call"),
    "call.pool_offer_changed": N_("Capacity offered in the call changed"),
    "call.proposals_frozen": N_("Proposals frozen at the close"),
    "call.published": N_("Results published"),
    "call.transition": N_("Call moved to the next step"),
    "call.updated": N_("Call edited"),
    "conflict.declared": N_("Conflict of interest declared"),
    "conflict.declared_after_review": N_("Conflict of interest declared after the review"),
    "conflict.declared_relation": N_("Relationship declared"),
    "decision.overridden": N_("Decision overridden"),
    "decisions.released": N_("Decisions released"),
    "expertise.publications_imported": N_("Publications imported"),
    "expertise.updated": N_("Expertise updated"),
    "facility.created": N_("Facility created"),
    "node_staff.granted": N_("Node staff given a resource"),
    "node_staff.revoked": N_("Node staff's resource taken back"),
    "pool.created": N_("Capacity pool created"),
    "pool.unavailable_clashes": N_("Unavailable period recorded over booked slots"),
    "postaward.import": N_("Post-award records imported"),
    "postaward.output": N_("Research output recorded"),
    "postaward.record": N_("Post-award record created"),
    "postaward.reminder": N_("Post-award reminder sent"),
    "postaward.update": N_("Post-award record updated"),
    "proposal.created": N_("Proposal created"),
    "proposal.edited": N_("Proposal edited"),
    "proposal.reopened": N_("Proposal reopened"),
    "proposal.submitted": N_("Proposal submitted"),
    "proposal.unreviewed_resolved": N_("Proposal short of reviews resolved"),
    "proposal.withdrawn": N_("Proposal withdrawn"),
    "provider.created": N_("Provider created"),
    "ranking.bias_corrected": N_("Ranking corrected for reviewer bias"),
    "ranking.frozen": N_("Ranking frozen"),
    "ranking.unfrozen": N_("Ranking unfrozen"),
    "request.added": N_("Request added"),
    "request.edited": N_("Request edited"),
    "request.removed": N_("Request removed"),
    "review.deadline_extended": N_("Reviewer's deadline extended"),
    "review.invitation_withdrawn": N_("Invitation to review withdrawn"),
    "review.invited": N_("Invited to review"),
    "role.granted": N_("Role granted"),
    "role.invitation_accepted": N_("Role invitation accepted"),
    "role.invitation_revoked": N_("Role invitation revoked"),
    "role.invited": N_("Invited to a role"),
    "role.revoked": N_("Role revoked"),
    "tac.adjusted": N_("TAC list changed (a move or a band)"),
    "tac.locked": N_("TAC list locked"),
    "tac.unlocked": N_("TAC list reopened by the user office"),
    "tac.reserve_offered": N_("Freed capacity offered to the TAC reserve list"),
    "team.invited": N_("Co-investigator invited"),
    "team.removed": N_("Team member removed"),
    "technical_review.saved": N_("Technical review saved"),
    "user.login": N_("Signed in"),
    "user.login_failed": N_("Failed sign-in"),
    "user.logout": N_("Signed out"),
    "user.password_reset": N_("Password reset"),
    "user.password_reset_requested": N_("Password reset requested"),
    "user.registered": N_("Account created"),
    "user.sessions_revoked": N_("Sessions signed out"),
    "user.site_admin_granted": N_("Site administrator appointed"),
    "user.updated": N_("Account edited"),
    "user.verified": N_("E-mail address verified"),
    "assignment.accepted": N_("Review assignment accepted"),
    "assignment.declined": N_("Review assignment declined"),
    "review.invitation_accepted": N_("Invitation to review accepted"),
    "review.invitation_declined": N_("Invitation to review declined"),
    "review.saved": N_("Review saved"),
    "review.submitted": N_("Review submitted"),
    "team.accepted": N_("Team invitation accepted"),
    "team.declined": N_("Team invitation declined"),
    "solver.affinity": N_("Affinity computed"),
    "solver.allocation": N_("Allocation run"),
    "solver.assignment": N_("Assignment run"),
    "solver.calibration": N_("Calibration run"),
    "solver.conflicts": N_("Conflicts computed"),
    "solver.schedule": N_("Schedule run"),
    "schedule.offer_booked": N_("Award offered after a decline booked on the schedule"),
    "schedule.preempted": N_("Booking taken by an urgent call"),
    "proposal.set_aside": N_("Proposal set aside at triage"),
    "review.consensus_recorded": N_("Panel consensus recorded"),
    "proposal.triage_lifted": N_("Proposal returned to review from triage"),
}
#: why a proposal was set aside at triage (``proposals.domain.TRIAGE_CATEGORIES``): what
#: the applicant, the chair and the API's ``category_label`` say
TRIAGE_CATEGORIES = {
    "out_of_scope": N_("out of the call's scope"),
    "infeasible": N_("technically infeasible"),
    "incomplete": N_("incomplete"),
}
AUDIT_ENTITIES = {
    "api_token": N_("API token"),
    "call": N_("Call"),
    "capacity_pool": N_("Capacity pool"),
    "facility": N_("Facility"),
    "node_staff": N_("Node staff"),
    "postaward_record": N_("Post-award record"),
    "proposal": N_("Proposal"),
    "provider": N_("Provider"),
    "research_output": N_("Research output"),
    "review_assignment": N_("Review assignment"),
    "review_deadline_extension": N_("Reviewer's deadline"),
    "review_invitation": N_("Invitation to review"),
    "role_invitation": N_("Role invitation"),
    "solver_run": N_("Computation"),
    "user": N_("Account"),
}
# progress messages of the jobs (opencall.jobs and the services' progress(...) calls)
JOB_MESSAGES = (
    N_("reading texts"),
    N_("testing reviewer-group x applicant-group effects"),
    N_("affinity done"),
    N_("allocation done"),
    N_("assignment done"),
    N_("calibration done"),
    N_("schedule done"),
    N_("affinity"),
    N_("solving"),
    N_("calibrating %(n)s grades"),
    N_("placing %(n)s blocks over %(days)s days"),
    N_("solving for %(n)s requests over %(m)s pools"),
    N_("assignment"),
    N_("scoring %(n)s proposals x %(m)s reviewers"),
    N_("simulated reviews"),
    N_("building the allocation problem"),
    N_("building the assignment problem"),
    N_("conflicts"),
    N_("calibration"),
    N_("allocation"),
    N_("storing scores"),
    N_("recording decisions"),
    N_("scheduling"),
    N_("storing the assignment"),
    N_("retrying after the worker stopped responding"),
    N_("%(n)s decision e-mails queued"),
    N_("decision e-mails"),
)


def audit_action(t: Translator, code: str) -> str:
    return t.gettext(AUDIT_ACTIONS[code]) if code in AUDIT_ACTIONS else code


def audit_entity(t: Translator, code: str) -> str:
    return t.gettext(AUDIT_ENTITIES[code]) if code in AUDIT_ENTITIES else code


#: The World Bank's income groups and the UN regions, in their order (also the groups of
#: the public figures and the report, ``outcomes``).
INCOME_LABELS = {
    "low": N_("Low income"),
    "lower-middle": N_("Lower-middle income"),
    "upper-middle": N_("Upper-middle income"),
    "high": N_("High income"),
}
REGION_LABELS = {
    "Africa": N_("Africa"),
    "Americas": N_("Americas"),
    "Asia": N_("Asia"),
    "Europe": N_("Europe"),
    "Oceania": N_("Oceania"),
}
GROUP_LABELS = {
    **INCOME_LABELS,
    "unknown": N_("Not classified"),
    "Unknown": N_("Not classified"),
    **REGION_LABELS,
    "LDC": N_("Least developed countries"),
    "non-LDC": N_("Non-LDC countries"),
    "host": N_("Host country"),
    "international": N_("International applicants"),
    "all": N_("All applicants"),
}


def group_label(tr: Callable[..., str], g: str) -> str:
    """A group of the figures (an income group, a UN region, LDC or not, ...) in words."""
    return tr(GROUP_LABELS[g]) if g in GROUP_LABELS else g


#: The groupings the bias model compares, as its "not tested" lines name them.
CUT_LABELS = {
    "income_group": N_("Income group"),
    "un_region": N_("UN region"),
    "ldc": N_("LDC status"),
}


def skipped_line(tr: Callable[..., str], m: Any) -> str:
    """One of the bias model's "not tested" lines (a message, or its stored form: a dict of
    ``msg`` and ``params``) in the reader's language, its groupings and groups named in
    words rather than by their codes (``un_region=Americas``)."""
    msg, params = (m["msg"], m["params"]) if isinstance(m, dict) else (m.msg, m.params)
    named = {
        k: (
            tr(CUT_LABELS[v])
            if k in ("cut", "applicant_cut") and v in CUT_LABELS
            else group_label(tr, v)
            if k in ("group", "reference") and isinstance(v, str)
            else v
        )
        for k, v in dict(params).items()
    }
    return tr(msg, **named)
