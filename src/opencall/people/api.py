"""The JSON API's plumbing (personal tokens, errors, pagination), ``/api/v1/me``,
and the page where people create and revoke their API tokens.

Every ``api.py`` of a feature uses :func:`get_api`: one database session (the
request's unit of work), the account behind ``Authorization: Bearer <token>``
(or None: anonymous, public data only), and the same policies as the pages.
A refusal is 404 (existence does not leak); a bad or revoked token is 401.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, File, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from opencall.errors import DomainError
from opencall.people import services
from opencall.people.models import ExpertiseProfile, ReviewerPublication, User
from opencall.people.queries import publications_of, roles_of
from opencall.web.i18n import N_
from opencall.web.pages import Page, get_page

router = APIRouter()
api_router = APIRouter(prefix="/api/v1", tags=["people"])
bearer = HTTPBearer(auto_error=False, description="A personal API token (see /account/tokens)")
MAX_LIMIT = 200
MAX_ID = 2**31 - 1
T = TypeVar("T")


class ApiError(Exception):
    def __init__(self, status: int, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


@dataclass
class Api:
    db: Session
    user: User | None
    request: Request

    def require_user(self) -> User:
        if self.user is None:
            raise ApiError(401, "authentication required (Authorization: Bearer <token>)")
        return self.user

    def not_found(self) -> ApiError:
        return ApiError(404, "not found")


def get_api(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Iterator[Api]:
    db: Session = request.app.state.sessions()
    try:
        user = None
        if creds is not None:
            user = services.user_for_api_token(db, creds.credentials)
            if user is None:
                raise ApiError(401, "invalid or revoked token")
            db.commit()  # last_used_at
        yield Api(db, user, request)
    finally:
        db.close()


def install(app: FastAPI) -> None:
    """JSON errors for the API (the HTML pages keep their own error pages)."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)


class Pagination(BaseModel):
    limit: int
    offset: int
    total: int


def paging(
    limit: int = Query(50, ge=1, le=MAX_LIMIT, description=f"at most {MAX_LIMIT}"),
    offset: int = Query(0, ge=0, le=10**7),
) -> tuple[int, int]:
    return limit, offset


def paginate(items: list[T], page: tuple[int, int]) -> tuple[list[T], Pagination]:
    limit, offset = page
    return items[offset : offset + limit], Pagination(limit=limit, offset=offset, total=len(items))


def domain_error(exc: DomainError) -> ApiError:
    if exc.code in ("not_found", "forbidden"):
        return ApiError(404, "not found")
    return ApiError(400, exc.message)


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
    roles: list[Role]


@api_router.get("/me", response_model=Me, responses={401: {"description": "no or bad token"}})
def me(api: Api = Depends(get_api)) -> Me:
    user = api.require_user()
    return Me(
        id=user.id,
        name=user.name,
        email=user.email,
        language=user.language,
        roles=[
            Role(role=g.role, provider_id=g.provider_id, call_id=g.call_id)
            for g in roles_of(api.db, user.id)
        ],
    )


# ---------------------------------------------------------------- token management page

MSG_NAME = N_("Give the token a name.")


def _tokens_page(page: Page, status: int = 200, **extra: Any) -> Response:
    user = page.require_user()
    return page.render(
        "api/tokens.html",
        {
            "tokens": services.api_tokens_of(page.db, user.id),
            "new_token": extra.get("new_token"),
            "errors": extra.get("errors", {}),
        },
        status=status,
    )


@router.get("/account/tokens", response_class=HTMLResponse, include_in_schema=False)
def tokens(page: Page = Depends(get_page)) -> Response:
    return _tokens_page(page)


@router.post("/account/tokens", response_class=HTMLResponse, include_in_schema=False)
def create_token(page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    try:
        _tok, raw = services.create_api_token(page.db, user, page.form.get("name", ""))
        page.commit()
    except DomainError as exc:
        page.db.rollback()
        return _tokens_page(page, 400, errors={"name": page.t.message(exc.message)})
    # shown once, on this response only (never stored in clear, never in a URL)
    return _tokens_page(page, new_token=raw)


@router.post(
    "/account/tokens/{token_id}/revoke", response_class=HTMLResponse, include_in_schema=False
)
def revoke_token(token_id: int, page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    try:
        services.revoke_api_token(page.db, user, token_id if token_id <= MAX_ID else 0)
        page.commit()
    except DomainError:
        page.db.rollback()
        page.not_found()
    return page.redirect("/account/tokens", "removed")


SERVICE_MESSAGES = (
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


def _pub_out(p: ReviewerPublication) -> PublicationOut:
    return PublicationOut(
        id=p.id, title=p.title, doi=p.doi, year=p.year, authors=list(p.authors), source=p.source
    )


def _expertise_out(api: Api, user: User) -> ExpertiseOut:
    prof = api.db.get(ExpertiseProfile, user.id)
    return ExpertiseOut(
        keywords=prof.keywords if prof else "",
        statement=user.expertise,
        publications=[_pub_out(p) for p in publications_of(api.db, user.id)],
    )


ERRORS: dict[int | str, dict[str, Any]] = {400: {"description": "bad input"}}


@api_router.get("/me/expertise", response_model=ExpertiseOut)
def api_expertise(api: Api = Depends(get_api)) -> ExpertiseOut:
    """Your expertise profile (keywords, statement, publications)."""
    return _expertise_out(api, api.require_user())


@api_router.put("/me/expertise", response_model=ExpertiseOut, responses=ERRORS)
def api_save(body: ExpertiseIn, api: Api = Depends(get_api)) -> ExpertiseOut:
    user = api.require_user()
    try:
        services.update_expertise(api.db, user, keywords=body.keywords, statement=body.statement)
    except DomainError as exc:
        api.db.rollback()
        raise domain_error(exc) from exc
    api.db.commit()
    return _expertise_out(api, user)


@api_router.post(
    "/me/publications", response_model=PublicationOut, status_code=201, responses=ERRORS
)
def api_add(body: PublicationIn, api: Api = Depends(get_api)) -> PublicationOut:
    user = api.require_user()
    try:
        pub = services.add_publication(api.db, user, **body.model_dump())
    except DomainError as exc:
        api.db.rollback()
        raise domain_error(exc) from exc
    out = _pub_out(pub)
    api.db.commit()
    return out


@api_router.post(
    "/me/publications/import", response_model=Imported, status_code=201, responses=ERRORS
)
def api_import(
    file: UploadFile = File(description="BibTeX, ORCID works JSON or CSL-JSON, 2 MB at most"),
    api: Api = Depends(get_api),
) -> Imported:
    user = api.require_user()
    data = file.file.read(services.MAX_IMPORT_BYTES + 1)
    if len(data) > services.MAX_IMPORT_BYTES:
        raise ApiError(400, "The file is too large (2 MB at most).")
    try:
        n = services.import_publications(api.db, user, data)
    except DomainError as exc:
        api.db.rollback()
        raise domain_error(exc) from exc
    api.db.commit()
    return Imported(added=n)


@api_router.delete("/me/publications/{pub_id}", status_code=204, responses={404: {}})
def api_remove(pub_id: int = Path(ge=1, le=2**31 - 1), api: Api = Depends(get_api)) -> Response:
    user = api.require_user()
    try:
        services.remove_publication(api.db, user, pub_id)
    except DomainError as exc:
        api.db.rollback()
        raise domain_error(exc) from exc
    api.db.commit()
    return Response(status_code=204)
