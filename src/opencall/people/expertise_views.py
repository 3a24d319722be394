"""A reviewer's expertise profile: keywords, a statement and publications
(typed in, or imported from a BibTeX, ORCID-works or CSL-JSON file). Affinity
reads the profile; co-authorship conflicts read the publications' authors.
The JSON API of the same is in ``people.api`` (``/api/v1/me/expertise``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, Response

from opencall.people import services
from opencall.people.models import ExpertiseProfile
from opencall.people.queries import publications_of
from opencall.web.i18n import N_
from opencall.web.pages import MAX_ID, Page, Refusal, get_page

router = APIRouter()
MAX_IMPORT = services.MAX_IMPORT_BYTES
MSG_NO_FILE = N_("Choose a file.")
MSG_TOO_BIG = N_("The file is too large (2 MB at most).")
MSG_YEAR = N_("Enter a year, e.g. 2024.")
SERVICE_MESSAGES = (
    N_("Keywords are too long (%(n)s characters at most)."),
    N_("The statement is too long (%(n)s characters at most)."),
    N_("A publication needs a title."),
    N_("The title is too long (1000 characters at most)."),
    N_("The year is not plausible."),
    N_("This is not a DOI (it starts with 10.)."),
    N_("This DOI is already on your profile."),
    N_("A profile holds at most %(n)s publications."),
    N_("The file is not UTF-8 text."),
    N_("This JSON file could not be read."),
    N_("Expected an ORCID works export or a CSL-JSON list."),
    N_("Expected a BibTeX file, an ORCID works export or CSL-JSON."),
    N_("The file has no publication with a title."),
    N_("An entry of the file has more than %(n)s fields."),
)


def _page(page: Page, status: int = 200, **extra: Any) -> Response:
    user = page.require_user()
    prof = page.db.get(ExpertiseProfile, user.id)
    return page.render(
        "people/expertise.html",
        {
            "keywords": prof.keywords if prof else "",
            "statement": user.expertise,
            "publications": publications_of(page.db, user.id),
            "form": extra.get("form", {}),
            "errors": extra.get("errors", {}),
            "message": extra.get("message", ""),
        },
        status=status,
    )


def _refused(page: Page, refused: Refusal, field: str = "form", **extra: Any) -> Response:
    """The page again with the service's reason for refusing (nothing was changed)."""
    return _page(page, 400, errors={refused.field or field: refused.message}, **extra)


def _saved(page: Page, write: Callable[[], object], back_to: str) -> Response:
    """Run ``write`` and commit, then back to ``back_to``; a refusal shows the form again."""
    with page.attempt() as refused:
        write()
    if refused:
        return _refused(page, refused, form=page.form)
    return page.redirect(back_to, "saved")


@router.get("/account/expertise", response_class=HTMLResponse)
def expertise(page: Page = Depends(get_page)) -> Response:
    return _page(page)


@router.post("/account/expertise", response_class=HTMLResponse)
def save(page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    f = page.form
    return _saved(
        page,
        lambda: services.update_expertise(
            page.db, user, keywords=f.get("keywords", ""), statement=f.get("statement", "")
        ),
        "/account/expertise",
    )


@router.post("/account/expertise/publications", response_class=HTMLResponse)
def add(page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    f = page.form
    raw_year = f.get("year", "").strip()
    if raw_year and not (raw_year.isdecimal() and len(raw_year) == 4):
        return _page(page, 400, form=f, errors={"year": page._(MSG_YEAR)})
    return _saved(
        page,
        lambda: services.add_publication(
            page.db,
            user,
            title=f.get("title", ""),
            doi=f.get("doi", ""),
            abstract=f.get("abstract", ""),
            year=int(raw_year) if raw_year else None,
            authors=[a for a in f.get("authors", "").split(";") if a.strip()],
        ),
        "/account/expertise#publications",
    )


@router.post("/account/expertise/import", response_class=HTMLResponse)
def import_file(page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    upload = page.files.get("file")
    if upload is None:
        return _page(page, 400, errors={"file": page._(MSG_NO_FILE)})
    data = upload.file.read(MAX_IMPORT + 1)  # a sync route: runs in the threadpool
    if len(data) > MAX_IMPORT:
        return _page(page, 400, errors={"file": page._(MSG_TOO_BIG)})
    with page.attempt() as refused:
        n = services.import_publications(page.db, user, data)
    if refused:
        return _refused(page, refused, "file")
    added = page.t.ngettext("%(num)s publication was added.", "%(num)s publications were added.", n)
    return _page(page, message=added)


@router.post("/account/expertise/publications/{pub_id}/remove", response_class=HTMLResponse)
def remove(pub_id: int, page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    if not 0 < pub_id <= MAX_ID:
        page.not_found()
    with page.attempt() as refused:
        services.remove_publication(page.db, user, pub_id)
    if refused:
        page.not_found()
    return page.redirect("/account/expertise#publications", "removed")
