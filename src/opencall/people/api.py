"""``/api/v1/me`` (the account, its expertise and publications) and the page
where people create and revoke their API tokens. The API's plumbing (tokens,
scopes, errors, pagination) is in :mod:`opencall.web.api`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, File, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from opencall.db import utcnow
from opencall.people import services
from opencall.people.models import ExpertiseProfile, User
from opencall.people.queries import publications_of, roles_of
from opencall.web.api import (
    MANAGE,
    MAX_ID,
    MAX_LIMIT,
    REVIEW,
    Api,
    ApiError,
    PageRequest,
    Pagination,
    domain_error,
    from_row,
    get_api,
    id_param,
    keyset_page,
    needs,
    one_file_per_field,
    paginate,
    paging,
    refused,
)
from opencall.web.i18n import N_
from opencall.web.pages import Page, get_page

# the API plumbing moved to opencall.web.api; its names stay importable here
__all__ = [
    "MANAGE",
    "MAX_ID",
    "MAX_LIMIT",
    "REVIEW",
    "Api",
    "ApiError",
    "PageRequest",
    "Pagination",
    "domain_error",
    "get_api",
    "keyset_page",
    "needs",
    "paginate",
    "paging",
    "refused",
]

router = APIRouter()
api_router = APIRouter(prefix="/api/v1", tags=["people"])


# ---------------------------------------------------------------- /api/v1/me


class Role(BaseModel):
    role: str
    provider_id: int | None
    call_id: int | None


class Me(BaseModel):
    id: int
    name: str
    email: str
    language: str
    #: the IANA zone the account reads times in beside UTC (null: UTC only); every time
    #: the API answers is in UTC
    time_zone: str | None
    #: the account's ORCID iD ("0000-0002-1825-0097"; null: none given)
    orcid: str | None = None
    roles: list[Role]


@api_router.get("/me", response_model=Me, responses={401: {"description": "no or bad token"}})
def me(api: Api = Depends(get_api)) -> Me:
    user = api.require_user()
    return from_row(Me, user, roles=[from_row(Role, g) for g in roles_of(api.db, user.id)])


# ---------------------------------------------------------------- token management page


def _tokens_page(page: Page, status: int = 200, **extra: Any) -> Response:
    user = page.require_user()
    return page.render(
        "api/tokens.html",
        {
            "tokens": services.api_tokens_of(page.db, user.id),
            "new_token": extra.get("new_token"),
            "errors": extra.get("errors", {}),
            "scopes": services.SCOPES,
            "days": services.TOKEN_DAYS,
            "now": utcnow(),
        },
        status=status,
    )


@router.get("/account/tokens", response_class=HTMLResponse, include_in_schema=False)
def tokens(page: Page = Depends(get_page)) -> Response:
    return _tokens_page(page)


@router.post("/account/tokens", response_class=HTMLResponse, include_in_schema=False)
def create_token(page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    with page.attempt() as refused:
        scopes = [sc for sc in services.SCOPES if page.form.get(f"scope_{sc}")]
        days = page.form.get("days", "90")
        _tok, raw = services.create_api_token(
            page.db,
            user,
            page.form.get("name", ""),
            scopes=scopes,
            days=int(days) if days.isdecimal() and len(days) < 4 else 0,
        )
    if refused:
        return _tokens_page(page, 400, errors={"name": refused.message})
    # shown once, on this response only (never stored in clear, never in a URL)
    return _tokens_page(page, new_token=raw)


@router.post(
    "/account/tokens/{token_id}/revoke", response_class=HTMLResponse, include_in_schema=False
)
def revoke_token(token_id: int, page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    with page.attempt() as refused:
        services.revoke_api_token(page.db, user, token_id if token_id <= MAX_ID else 0)
    if refused:
        page.not_found()
    return page.redirect("/account/tokens", "removed")


SERVICE_MESSAGES = (
    N_("Unknown scope %(scope)s."),
    N_("A token lasts 30, 90 or 365 days."),
    N_("Give the token a name."),
    N_("The name is too long (100 characters at most)."),
    N_("At most %(n)s active tokens; revoke one first."),
)


# ---------------------------------------------------------------- JSON API


class PublicationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    title: str = Field(min_length=1, max_length=1000)
    doi: str = Field("", max_length=200)
    abstract: str = Field("", max_length=5000)
    year: int | None = Field(None, ge=1800, le=2200)
    authors: list[str] = Field(default_factory=list, max_length=500)


class PublicationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)  # read from the ReviewerPublication row

    id: int
    title: str
    doi: str
    year: int | None
    authors: list[str]
    source: str


class ExpertiseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    keywords: str = Field("", max_length=services.KEYWORDS_MAX)
    statement: str = Field("", max_length=services.EXPERTISE_MAX)


class ExpertiseOut(BaseModel):
    keywords: str
    statement: str
    publications: list[PublicationOut]


class Imported(BaseModel):
    added: int


def _expertise_out(api: Api, user: User) -> ExpertiseOut:
    prof = api.db.get(ExpertiseProfile, user.id)
    return ExpertiseOut(
        keywords=prof.keywords if prof else "",
        statement=user.expertise,
        publications=[PublicationOut.model_validate(p) for p in publications_of(api.db, user.id)],
    )


ERRORS: dict[int | str, dict[str, Any]] = {400: {"description": "bad input"}}
# a reviewer's own write: the review scope, refused with a 400
REVIEWER: dict[str, Any] = {"responses": ERRORS, "dependencies": [REVIEW]}


@api_router.get("/me/expertise", response_model=ExpertiseOut)
def api_expertise(api: Api = Depends(get_api)) -> ExpertiseOut:
    """Your expertise profile (keywords, statement, publications)."""
    return _expertise_out(api, api.require_user())


@api_router.put("/me/expertise", response_model=ExpertiseOut, **REVIEWER)
def api_save(body: ExpertiseIn, api: Api = Depends(get_api)) -> ExpertiseOut:
    user = api.require_user()
    with api.saving():
        services.update_expertise(api.db, user, keywords=body.keywords, statement=body.statement)
    return _expertise_out(api, user)


@api_router.post("/me/publications", response_model=PublicationOut, status_code=201, **REVIEWER)
def api_add(body: PublicationIn, api: Api = Depends(get_api)) -> PublicationOut:
    user = api.require_user()
    with api.saving():
        pub = services.add_publication(api.db, user, **body.model_dump())
        out = PublicationOut.model_validate(pub)
    return out


@api_router.post("/me/publications/import", response_model=Imported, status_code=201, **REVIEWER)
def api_import(
    file: UploadFile = File(description="BibTeX, ORCID works JSON or CSL-JSON, 2 MB at most"),
    api: Api = Depends(get_api),
    _one: None = Depends(one_file_per_field),
) -> Imported:
    user = api.require_user()
    data = file.file.read(services.MAX_IMPORT_BYTES + 1)
    if len(data) > services.MAX_IMPORT_BYTES:
        raise ApiError(400, "The file is too large (2 MB at most).")
    with api.saving():
        n = services.import_publications(api.db, user, data)
    return Imported(added=n)


@api_router.delete(
    "/me/publications/{pub_id}", status_code=204, responses={404: {}}, dependencies=[REVIEW]
)
def api_remove(pub_id: int = id_param(), api: Api = Depends(get_api)) -> Response:
    user = api.require_user()
    with api.saving():
        services.remove_publication(api.db, user, pub_id)
    return Response(status_code=204)
