"""What the applicant's pages share: labels of statuses and roles, the messages of
the forms, the limits on text fields."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from opencall.calls.domain import CALL_STATE_WORDS
from opencall.facilities.labels import unit_labels
from opencall.proposals.models import Proposal
from opencall.proposals.queries import batch_info, submission_dues
from opencall.web.i18n import N_
from opencall.web.labels import FIELD_LABELS, labeller
from opencall.web.labels import REQUEST_KINDS as KINDS
from opencall.web.pages import Page

STATUS = {
    "draft": N_("draft"),
    "submitted": N_("submitted"),
    "withdrawn": N_("withdrawn"),
    "under_review": N_("under review"),
    "accepted": N_("accepted"),
    "rejected": N_("not accepted"),
    "set_aside": N_("set aside"),
}
MEMBER_STATUS = {"invited": N_("invited"), "accepted": N_("accepted"), "declined": N_("declined")}
ROLES = {"pi": N_("Principal investigator"), "coi": N_("Co-investigator")}
WHERE_LABELS = {k: FIELD_LABELS[k] for k in ("title", "abstract", "science_case", "keywords")}
# a finding in a request's details (queries.REQUESTS_WHERE): shown to reviewers as typed,
# as the text fields are (trialrev21)
REQUESTS_WHERE_LABEL = N_("Requests")
# where in a PDF an anonymity finding lies (metadata and the rest are removed from
# the copy reviewers receive; the page text is not)
PDF_WHERE = {
    "pdf_text": N_("the PDF"),
    "pdf_metadata": N_("the PDF's properties (metadata)"),
    "pdf_embedded": N_("a file embedded in the PDF"),
    "pdf_annotation": N_("a comment in the PDF"),
    "pdf_form": N_("a form field in the PDF"),
    "pdf_javascript": N_("a script in the PDF"),
    "pdf_outline": N_("a bookmark in the PDF"),
    "pdf_structure": N_("a figure's alternate text in the PDF"),
    "pdf_layer": N_("a layer name in the PDF"),
    "pdf_page_label": N_("a page label in the PDF"),
}
SCAN_NOTES = {
    "page_too_large": N_(
        "Page %(n)s of the PDF is too complex to check automatically; check it yourself."
    ),
    "time_limit": N_(
        "The PDF was checked up to page %(n)s only (time limit); check the rest yourself."
    ),
    "page_limit": N_("Pages from %(n)s on were not checked; check them yourself."),
    "text_limit": N_("The PDF was checked up to page %(n)s only; check the rest yourself."),
    "too_complex": N_(
        "The PDF was checked up to page %(n)s only (too complex); check the rest yourself."
    ),
    "page_error": N_("Page %(n)s of the PDF could not be read for the check; check it yourself."),
}
MSG_MIN = N_("Must be at least %(limit)s.")
MSG_ABOVE = N_("Must be more than %(limit)s.")
MSG_MAX = N_("Must be at most %(limit)s.")
MSG_BELOW = N_("Must be less than %(limit)s.")
MSG_NO_ROWS = N_("Add at least one line.")
MSG_NO_FILE = N_("Choose a PDF file.")
MSG_STALE = N_(
    "This proposal was changed elsewhere since you opened it; your text is kept below — "
    "review the latest version and save again."
)
# the title's limit is the call's, checked by the service (services.title_limit)
TEXT_LIMITS = {"keywords": 300, "abstract": 20000, "science_case": 200000}


def label_helpers(page: Page, proposals: Iterable[Proposal] = ()) -> dict[str, Any]:
    """The labels and helpers of the applicant's pages; ``proposals``: those the page
    shows, whose own deadlines ``due_of`` reads at once."""
    return {
        "status_label": labeller(page, STATUS),
        "call_status_label": labeller(page, CALL_STATE_WORDS),
        "member_status_label": labeller(page, MEMBER_STATUS),
        "role_label": labeller(page, ROLES),
        "kind_label": labeller(page, KINDS),
        **unit_labels(page),
        # a continuous call: the review batch a proposal is in, or enters next
        "batch_of": batch_info,
        # the proposal's own deadline: its call's, or later where the user office
        # extended it for this proposal alone (trialop21b)
        "due_of": _due_of(page, proposals),
    }


def _due_of(page: Page, proposals: Iterable[Proposal]) -> Any:
    """A proposal's own deadline for the page: the extensions of the page's ``proposals``
    read in one statement on the first ask (mend22: the list pages make no statement per
    proposal, and read no other proposal's); a proposal the page did not list is read
    with any other not yet read."""
    listed = {p.id for p in proposals}
    known: set[int] = set()
    dues: dict[int, dt.datetime] = {}

    def due(p: Proposal) -> dt.datetime:
        if p.id not in known:
            todo = (listed | {p.id}) - known
            dues.update(submission_dues(page.db, todo))
            known.update(todo)
        return dues.get(p.id, p.call.closes_at)

    return due


#: the languages a proposal may be said to be written in, besides the site's own: the
#: common languages of science (any other ISO 639 code goes through the API)
COMMON_LANGUAGES = ("ar", "de", "hi", "it", "ja", "ko", "nl", "pl", "pt", "ru", "tr")


def language_options(page: Page, current: str | None) -> list[tuple[str, str]]:
    """The editor's "Language of the proposal" choices as (code, name in the reader's
    language), by name: the site's languages and the common ones, and ``current``
    when it is another."""
    from opencall.inputs import language_name
    from opencall.people.domain import LANGUAGES

    codes = {*LANGUAGES, *COMMON_LANGUAGES, *([current] if current else [])}
    return sorted(((c, language_name(c, page.lang)) for c in codes), key=lambda o: o[1].lower())
