"""The JSON API's plumbing (personal tokens, errors, pagination), ``/api/v1/me``,
and the page where people create and revoke their API tokens.

Every ``api.py`` of a feature uses :func:`get_api`: one database session (the
request's unit of work), the account behind ``Authorization: Bearer <token>``
(or None: anonymous, public data only), and the same policies as the pages.
A refusal is 404 (existence does not leak); a bad, revoked or expired token is
401. A token carries scopes: ``read`` (every token; every GET), ``review``
(submitting reviews) and ``manage`` (a call's management data); a route that
needs a scope the token lacks answers 403 (:func:`needs`).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from fastapi import APIRouter, Depends, FastAPI, File, Path, Query, Request, UploadFile
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, literal, select, tuple_
from sqlalchemy.orm import Session

from opencall.db import utcnow
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
    scopes: frozenset[str] = frozenset()

    def require_scope(self, scope: str) -> None:
        if self.user is not None and scope not in self.scopes:
            raise ApiError(403, f"this token lacks the {scope!r} scope")

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
        scopes: frozenset[str] = frozenset()
        if creds is not None:
            found = services.token_user(db, creds.credentials)
            if found is None:
                raise ApiError(401, "invalid or revoked token")
            user, scopes = found.user, found.scopes
            db.commit()  # last_used_at
        api = Api(db, user, request, scopes)
        api.require_scope("read")
        yield api
    finally:
        db.close()


def needs(scope: str) -> Any:
    """A route dependency: the token must carry ``scope`` (anonymous calls are left to
    the route, which answers 401 or shows public data)."""

    def check(api: Api = Depends(get_api)) -> None:
        api.require_scope(scope)

    return Depends(check)


REVIEW = needs("review")
MANAGE = needs("manage")
APPLY = needs("apply")  # an applicant's writes to their own proposals


def install(app: FastAPI) -> None:
    """JSON errors for the API (the HTML pages keep their own error pages)."""

    @app.exception_handler(ApiError)
    async def api_error(_request: Request, exc: ApiError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
        return JSONResponse({"detail": exc.detail}, status_code=exc.status, headers=headers)


class Pagination(BaseModel):
    limit: int
    offset: int = Field(description="rows skipped (0 when paging by cursor)")
    total: int = Field(description="rows in the whole list")
    next_cursor: str | None = Field(
        default=None,
        description="pass as `cursor` for the next page; null on the last page",
    )


@dataclass(frozen=True)
class PageRequest:
    limit: int
    offset: int = 0
    cursor: str | None = None


def paging(
    limit: int = Query(50, ge=1, le=MAX_LIMIT, description=f"at most {MAX_LIMIT}"),
    offset: int = Query(
        0,
        ge=0,
        le=10**7,
        description="rows to skip; prefer `cursor`, which stays fast and stable on long lists",
    ),
    cursor: str | None = Query(
        None,
        max_length=500,
        description="keyset cursor: the `page.next_cursor` of the previous page (opaque)",
    ),
) -> PageRequest:
    return PageRequest(limit=limit, offset=0 if cursor else offset, cursor=cursor)


def paginate(items: list[T], page: PageRequest) -> tuple[list[T], Pagination]:
    """In-memory paging, for short lists built in Python (prefer :func:`keyset_page`)."""
    if page.cursor:
        raise ApiError(400, "this list pages by offset only")
    limit, offset = page.limit, page.offset
    rest = items[offset : offset + limit]
    return rest[:limit], Pagination(limit=limit, offset=offset, total=len(items))


def _encode_cursor(values: tuple[Any, ...]) -> str:
    out = [{"t": v.isoformat()} if isinstance(v, dt.datetime) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(out).encode()).decode().rstrip("=")


def _decode_cursor(cursor: str, kinds: list[type]) -> list[Any]:
    try:
        raw = json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
        if not isinstance(raw, list) or len(raw) != len(kinds):
            raise ValueError("wrong length")
        values: list[Any] = []
        for v, kind in zip(raw, kinds, strict=True):
            if kind is dt.datetime:
                when = dt.datetime.fromisoformat(v["t"])
                if when.tzinfo is None:
                    raise ValueError("naive time")
                values.append(when)
            elif kind is int and isinstance(v, int) and not isinstance(v, bool):
                if not -(2**31) <= v < 2**31:  # ids and ranks are 32-bit columns
                    raise ValueError("out of range")
                values.append(v)
            elif (
                kind is float
                and isinstance(v, int | float)
                and not isinstance(v, bool)
                and math.isfinite(v)
            ):
                values.append(float(v))
            elif kind is str and isinstance(v, str):
                values.append(v)
            else:
                raise ValueError("wrong type")
        return values
    except (ValueError, TypeError, KeyError, binascii.Error) as exc:
        raise ApiError(400, "invalid cursor") from exc


def keyset_page(
    session: Session,
    stmt: Any,  # a Select of one entity or several columns
    keys: Sequence[tuple[Any, type]],
    page: PageRequest,
    key_of: Callable[[Any], tuple[Any, ...]],
    *,
    descending: bool = False,
) -> tuple[list[Any], Pagination]:
    """One page of ``stmt`` done in SQL: ordered by ``keys`` (columns with their
    Python type; the last must be unique), continued after the cursor with a row
    comparison (``(a, b) > (:a, :b)``), at most ``limit`` rows fetched plus one to
    know whether more follow. Two queries whatever the size: the page and the
    total. ``key_of(row)`` gives a row's key values for the next cursor."""
    cols = [c for c, _kind in keys]
    total = session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    q = stmt.order_by(None).order_by(*[c.desc() if descending else c.asc() for c in cols])
    if page.cursor:
        values = _decode_cursor(page.cursor, [k for _c, k in keys])
        after = tuple_(*[literal(v, type_=c.type) for v, c in zip(values, cols, strict=True)])
        q = q.where(tuple_(*cols) < after if descending else tuple_(*cols) > after)
    elif page.offset:
        q = q.offset(page.offset)
    rows = list(session.execute(q.limit(page.limit + 1)))
    single = len(stmt.column_descriptions) == 1
    items = [r[0] if single else tuple(r) for r in rows[: page.limit]]
    more = len(rows) > page.limit
    return items, Pagination(
        limit=page.limit,
        offset=page.offset,
        total=total,
        next_cursor=_encode_cursor(key_of(items[-1])) if more and items else None,
    )


def domain_error(exc: DomainError) -> ApiError:
    if exc.code in ("not_found", "forbidden"):
        return ApiError(404, "not found")
    return ApiError(400, exc.message)


def refused(exc: DomainError) -> ApiError:
    """A service's refusal as an API error that names the field: 409 for a stale
    ``version`` (someone saved in between), 404 for what may not be seen, else 400."""
    if exc.code in ("not_found", "forbidden"):
        return ApiError(404, "not found")
    if exc.code == "stale":
        return ApiError(
            409,
            "version: this was changed since you read it; read it again and send its "
            "current version.",
        )
    field = (exc.field or "").strip()
    if field and not exc.message.startswith(field):
        return ApiError(400, f"{field}: {exc.message}")
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
    try:
        scopes = [sc for sc in services.SCOPES if page.form.get(f"scope_{sc}")]
        days = page.form.get("days", "90")
        _tok, raw = services.create_api_token(
            page.db,
            user,
            page.form.get("name", ""),
            scopes=scopes,
            days=int(days) if days.isdecimal() and len(days) < 4 else 0,
        )
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


@api_router.put(
    "/me/expertise", response_model=ExpertiseOut, responses=ERRORS, dependencies=[REVIEW]
)
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
    "/me/publications",
    response_model=PublicationOut,
    status_code=201,
    responses=ERRORS,
    dependencies=[REVIEW],
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
    "/me/publications/import",
    response_model=Imported,
    status_code=201,
    responses=ERRORS,
    dependencies=[REVIEW],
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


@api_router.delete(
    "/me/publications/{pub_id}", status_code=204, responses={404: {}}, dependencies=[REVIEW]
)
def api_remove(pub_id: int = Path(ge=1, le=2**31 - 1), api: Api = Depends(get_api)) -> Response:
    user = api.require_user()
    try:
        services.remove_publication(api.db, user, pub_id)
    except DomainError as exc:
        api.db.rollback()
        raise domain_error(exc) from exc
    api.db.commit()
    return Response(status_code=204)
