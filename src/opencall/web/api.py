"""The JSON API's plumbing, shared by every feature's ``api.py``: personal
tokens, errors, scopes and pagination.

Every route uses :func:`get_api`: one database session (the request's unit of
work), the account behind ``Authorization: Bearer <token>`` (or None:
anonymous, public data only), and the same policies as the pages. A refusal is
404 (existence does not leak); a bad, revoked or expired token is 401. A token
carries scopes: ``read`` (every token; every GET), ``apply`` (an applicant's own
proposals and awards), ``review`` (submitting reviews) and ``manage`` (a call's
management data); a route that needs a scope the token lacks answers 403
(:func:`needs`, :func:`needs_any`). A token that carries ``read`` alone writes nothing,
whatever scope a write route declares (or forgot to declare): :func:`get_api` refuses
its POST, PUT, PATCH and DELETE before the route runs.

This package sits below the features: the token lookup (``people``) is
injected by ``app.py`` through :func:`install` (see docs/adr/0008-shared-web-layer.md).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
import math
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

from fastapi import Depends, FastAPI, Path, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exception_handlers import request_validation_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field
from sqlalchemy import literal, tuple_
from sqlalchemy.orm import Session

from opencall.errors import DomainError, escaped
from opencall.inputs import control_char, error_message
from opencall.logging_setup import set_user
from opencall.web.i18n import error_json, negotiate
from opencall.web.idempotency import TOKEN_ACCEPTED
from opencall.web.pages import MAX_ID as MAX_ID  # ids are 32-bit columns
from opencall.web.pages import WRONG_ACCOUNT, one_file_each
from opencall.web.paging import count_of


class _Found(Protocol):
    @property
    def user(self) -> Any: ...
    @property
    def scopes(self) -> frozenset[str]: ...


TokenLoader = Callable[[Session, str], "_Found | None"]

bearer = HTTPBearer(auto_error=False, description="A personal API token (see /account/tokens)")
MAX_LIMIT = 200
#: the methods that only read; every other one is a write
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: the scopes that allow some write (``read`` allows none)
WRITE_SCOPES = frozenset({"apply", "review", "manage"})


def slug_param() -> Any:
    """A path parameter that is a slug (of a call, a provider, a facility), fresh for
    every use where it is not named ``slug`` (FastAPI binds one to its name)."""
    return Path(min_length=1, max_length=80)


SLUG = slug_param()


def id_param() -> Any:
    """A path parameter that is an id (a positive number the database can hold), fresh
    for every use (FastAPI binds one to its name)."""
    return Path(ge=1, le=MAX_ID)


NOT_FOUND: dict[int | str, dict[str, Any]] = {
    404: {"description": "not found (or not yours to see)"}
}
ERRORS: dict[int | str, dict[str, Any]] = {
    **NOT_FOUND,
    400: {"description": "refused by a rule (message says why)"},
}
#: the documented refusals of a manager's routes (a provider's roles, a call's reviewer
#: invitations): what is not theirs is not found
MANAGE_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"description": "not found (or not yours to manage)"},
    400: {"description": "bad input (the message says which)"},
}
# a write's documented refusals (a service's refusal changes nothing)
WRITE_ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "refused: the message says why (nothing changed)"},
    404: {"description": "not found (or not yours)"},
}
#: a write under an hourly per-account limit: its 429 and when to try again (trialapi23)
LIMITED: dict[int | str, dict[str, Any]] = {
    429: {
        "description": "over the hourly limit: nothing done; retry after `Retry-After` "
        "seconds (the same Idempotency-Key runs again, a 429 is not kept)",
        "headers": {
            "Retry-After": {
                "description": "seconds until the request may succeed",
                "schema": {"type": "integer", "minimum": 1},
            }
        },
    }
}
T = TypeVar("T")
R = TypeVar("R")  # a row of some table


class ApiError(Exception):
    """An API error: ``detail`` in English, or, from a service's ``DomainError``
    (``error``), its message translated into the client's Accept-Language with
    ``message_id`` and ``params`` beside it (``prefix`` names the field)."""

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        error: DomainError | None = None,
        prefix: str = "",
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.error = error
        self.prefix = prefix
        self.headers = headers or {}


@dataclass
class Api:
    db: Session
    user: Any | None
    request: Request
    scopes: frozenset[str] = frozenset()

    def require_scope(self, scope: str) -> None:
        if self.user is not None and scope not in self.scopes:
            raise ApiError(403, f"this token lacks the {scope!r} scope")

    def require_user(self) -> Any:
        if self.user is None:
            raise ApiError(401, "authentication required (Authorization: Bearer <token>)")
        return self.user

    def not_found(self) -> ApiError:
        return ApiError(404, "not found")

    def found(self, row: R | None) -> R:
        """``row``, or 404 when it is None (a lookup that found nothing the caller may
        have)."""
        if row is None:
            raise self.not_found()
        return row

    def get_visible(self, model: type[R], row_id: int, visible: Callable[[R], bool]) -> R:
        """The ``model`` row ``row_id`` when it exists and ``visible(row)`` holds, else
        404 either way (whether it exists does not leak)."""
        row = self.db.get(model, row_id)
        if row is None or not visible(row):
            raise self.not_found()
        return row

    @property
    def actor_id(self) -> int | None:
        """The account this request's writes are recorded as done by (None when anonymous)."""
        return self.user.id if self.user else None

    @contextmanager
    def refusing(self, *, commit: bool = False) -> Iterator[None]:
        """A write whose service refusal rolls back and answers as :func:`refused` says
        (400 naming the field, 404, or 409 for a stale version): nothing is changed.
        With ``commit``, the write is committed when the block succeeds (build the
        answer inside the block, from the rows as they are before the commit)."""
        try:
            yield
        except DomainError as exc:
            self.db.rollback()
            raise refused(exc) from exc
        if commit:
            self.db.commit()

    @contextmanager
    def saving(self) -> Iterator[None]:
        """A write, committed when it succeeds; a service's refusal rolls back and answers
        as :func:`domain_error` says (400 with its message, 404 for what may not be seen)."""
        try:
            yield
        except DomainError as exc:
            self.db.rollback()
            raise domain_error(exc) from exc
        self.db.commit()


def get_api(
    request: Request, creds: HTTPAuthorizationCredentials | None = Depends(bearer)
) -> Iterator[Api]:
    db: Session = request.app.state.sessions()
    try:
        user = None
        scopes: frozenset[str] = frozenset()
        if creds is not None:
            found = request.app.state.token_user(db, creds.credentials)
            if found is None:
                raise ApiError(401, "invalid or revoked token")
            user, scopes = found.user, found.scopes
            # the Idempotency-Key layer keeps refusals only of requests a token sent
            request.scope[TOKEN_ACCEPTED] = True
            set_user(user.id)
            db.commit()  # last_used_at
        api = Api(db, user, request, scopes)
        api.require_scope("read")
        if user is not None and request.method not in READ_METHODS and not scopes & WRITE_SCOPES:
            raise ApiError(403, _lacks(_declared_scopes(request) or sorted(WRITE_SCOPES)))
        # after the token's 401 and 403, as FastAPI's own 422s come after them; before
        # the route runs: nothing is read for it or changed
        _refuse_unknown_query(request)
        yield api
    finally:
        db.close()


def _refuse_unknown_query(request: Request) -> None:
    """A query parameter the matched route does not declare (in it or its dependencies)
    is a 422 naming it, as a body's unknown key is: a filter or sort the API does not
    have (``?status=``, ``?sort=``) must not answer every row as if it had filtered them
    (trialapi23). FastAPI's own list of the route's parameters is read, so a parameter
    added to a route is known at once."""
    if getattr(request.scope.get("route"), "dependant", None) is None:
        return
    known = {p.alias for dep in _dependants(request) for p in dep.query_params}
    unknown = [k for k in dict.fromkeys(request.query_params.keys()) if k not in known]
    if unknown:
        raise RequestValidationError(
            [
                {"type": "unknown_query", "loc": ("query", k), "msg": "Unknown query parameter"}
                for k in unknown
            ]
        )


def _lacks(scopes: Sequence[str]) -> str:
    return f"this token lacks the {' or '.join(repr(sc) for sc in scopes)} scope"


def _dependants(request: Request) -> Iterator[Any]:
    """The matched route's FastAPI ``Dependant`` and those of all its dependencies."""
    return _dependants_of(getattr(request.scope.get("route"), "dependant", None))


def _dependants_of(root: Any) -> Iterator[Any]:
    """``root`` (a FastAPI ``Dependant``, or None) and all its dependencies."""
    todo = [root]
    while todo:
        dep = todo.pop()
        if dep is not None:
            yield dep
            todo += dep.dependencies


def _declared_scopes(request: Request) -> list[str]:
    """The scopes the matched route asks for (through :func:`needs`/:func:`needs_any`)."""
    found: list[str] = []
    for dep in _dependants(request):
        found += [sc for sc in getattr(dep.call, "scopes", ()) if sc not in found]
    return found


def needs(scope: str) -> Any:
    """A route dependency: the token must carry ``scope`` (anonymous calls are left to
    the route, which answers 401 or shows public data)."""
    return needs_any(scope)


def needs_any(*scopes: str) -> Any:
    """A route dependency: the token must carry one of ``scopes`` (a route two kinds of
    people write through, each with their own scope, names both)."""

    def check(api: Api = Depends(get_api)) -> None:
        if api.user is not None and not api.scopes & set(scopes):
            raise ApiError(403, _lacks(scopes))

    check.scopes = scopes  # type: ignore[attr-defined]  # read by _declared_scopes
    return Depends(check)


REVIEW = needs("review")
MANAGE = needs("manage")
APPLY = needs("apply")  # an applicant's writes to their own proposals
# an award's post-award records and results: its team (apply) or the user office (manage)
APPLY_OR_MANAGE = needs_any("apply", "manage")


#: the problems a 422 says at most (the rest are counted), and the longest input (as JSON)
#: it repeats under ``errors``: a body of 60,000 unknown keys was answered with each, and
#: its missing field with the whole body, 9.9 MB for 829 kB sent (trialcrowd14)
MAX_ERRORS = 20
MAX_INPUT_CHARS = 1000


def _short_inputs(errors: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """pydantic's errors without the inputs longer than ``MAX_INPUT_CHARS`` as JSON (a
    missing field's error repeats the whole object it is missing from)."""
    return [
        {k: v for k, v in e.items() if k != "input"}
        if len(json.dumps(e.get("input"), default=str)) > MAX_INPUT_CHARS
        else e
        for e in errors
    ]


def install(app: FastAPI, token_user: TokenLoader) -> None:
    """JSON errors for the API (the HTML pages keep their own error pages), and the
    function that finds a token's account and scopes (``people.services.token_user``,
    injected by ``app.py`` so that this package imports no feature)."""
    app.state.token_user = token_user

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> Response:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else {}
        headers.update(exc.headers)
        body: dict[str, Any] = {"detail": exc.detail}
        if exc.error is not None:
            lang = negotiate(request.headers.get("accept-language")) or "en"
            body = error_json(exc.error, lang, exc.prefix)
        return JSONResponse(body, status_code=exc.status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> Response:
        # the API answers "field: message" as docs/api.md says (pydantic's list kept
        # under ``errors`` for clients that read it); the pages keep FastAPI's answer
        if not request.url.path.startswith("/api/"):
            return await request_validation_exception_handler(request, exc)
        every = exc.errors()
        errors = _escaped_all(jsonable_encoder(_short_inputs(list(every[:MAX_ERRORS]))))
        said = [validation_message(e) for e in errors]
        if len(every) > MAX_ERRORS:
            said.append(f"and {len(every) - MAX_ERRORS} more problems")
        body = {"detail": "; ".join(said), "errors": errors}
        return JSONResponse(body, status_code=422)

    plain_openapi = app.openapi

    def openapi() -> dict[str, Any]:
        """FastAPI's document, its 422 answer as ``invalid_request`` gives it."""
        doc = plain_openapi()
        said = doc.get("components", {}).get("schemas", {}).get("HTTPValidationError")
        if said is not None:
            said["properties"] = {
                "detail": {"type": "string", "title": "Detail", "description": "field: message"},
                "errors": {
                    "type": "array",
                    "title": "Errors",
                    "items": {"$ref": "#/components/schemas/ValidationError"},
                },
            }
            said["required"] = ["detail", "errors"]
        _document_refusals(doc, app)
        return doc

    app.openapi = openapi  # type: ignore[method-assign]


#: the body of every refusal but a 422 (``api_error``): a generated client reads it
ERROR_BODY: dict[str, Any] = {
    "type": "object",
    "title": "ApiErrorBody",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "description": "why, in the Accept-Language asked"},
        "message_id": {"type": "string", "description": "the message's id, to translate"},
        "params": {"type": "object", "description": "the values the message names"},
        "request_id": {"type": "string", "description": "a 500's line in the server log"},
    },
}
#: the refusals every operation of the API may answer (``web.guard``, ``get_api``)
TOKEN_REFUSALS: dict[str, str] = {
    "400": "refused: the message says why (nothing changed); on every operation, a control "
    "character in the address, or a body that is not UTF-8 or nested too deeply",
    "401": "the token is unknown, revoked or expired (or the route needs one)",
    "403": "the token lacks the scope this operation needs (nothing changed)",
}


def _document_refusals(doc: dict[str, Any], app: FastAPI) -> None:
    """Every ``/api/v1`` operation of ``doc`` lists the 400 of the layers before it (a
    control character in the address: ``web.guard``), the 401 a bad token gets, the 403
    of a token without the scope (every write: a ``read`` token writes nothing; a read
    that declares a scope), and each of its refusals but the 422 says its body
    (``ApiErrorBody``). Before, 3 of 135 operations listed 401, none 403, 28 no 400, and
    no 400, 404 or 409 had a body (trialapi24)."""
    doc.setdefault("components", {}).setdefault("schemas", {})["ApiErrorBody"] = ERROR_BODY
    body = {"application/json": {"schema": {"$ref": "#/components/schemas/ApiErrorBody"}}}
    scoped = {
        (method.lower(), route.path)
        for route in app.routes
        if isinstance(route, APIRoute)
        and any(getattr(d.call, "scopes", ()) for d in _dependants_of(route.dependant))
        for method in route.methods or ()
    }
    for path, ops in doc.get("paths", {}).items():
        if not path.startswith("/api/v1/") or path == "/api/v1/openapi.json":
            continue
        for method, op in ops.items():
            said = op.setdefault("responses", {})
            said.setdefault("400", {"description": TOKEN_REFUSALS["400"]})
            said.setdefault("401", {"description": TOKEN_REFUSALS["401"]})
            if method not in ("get", "head") or (method, path) in scoped:
                said.setdefault("403", {"description": TOKEN_REFUSALS["403"]})
            for code, answer in said.items():
                if code.startswith("4") and code != "422" and "content" not in answer:
                    answer["content"] = body


def _escaped_all(value: Any) -> Any:
    """Every text of pydantic's list of errors (the field path, the message, the input
    it repeats) :func:`~opencall.errors.escaped`."""
    if isinstance(value, str):
        return escaped(value)
    if isinstance(value, list):
        return [_escaped_all(v) for v in value]
    if isinstance(value, dict):
        return {k: _escaped_all(v) for k, v in value.items()}
    return value


def validation_message(error: dict[str, Any]) -> str:
    """One of pydantic's errors as "field: message": the field is its location past
    where it was read (``body``, ``query``...), dotted (``fields.0.max``); the body as a
    whole (bad JSON, a list for an object) is named ``body``; what was typed is repeated
    :func:`~opencall.errors.escaped`."""
    loc = [str(part) for part in error.get("loc", ())]
    where = loc[1:] if loc[:1] and loc[0] in ("body", "query", "path", "header", "cookie") else loc
    if error.get("type") == "json_invalid":
        where = []
    return escaped(f"{'.'.join(where) or (loc[0] if loc else 'body')}: {error_message(error)}")


class Pagination(BaseModel):
    limit: int
    offset: int = Field(description="rows skipped (0 when paging by cursor)")
    total: int = Field(description="rows in the whole list")
    next_cursor: str | None = Field(
        default=None,
        description="pass as `cursor` for the next page; null on the last page",
    )


class Paged(BaseModel, Generic[T]):
    """A page of a list, the answer of every paged route: its rows and where it stands.
    A route's answer subclasses it with its row model (``class CallList(Paged[CallOut])``)
    and adds what it says of the whole list after these two fields."""

    items: list[T]
    page: Pagination


M = TypeVar("M", bound=BaseModel)


def from_row(model: type[M], row: object, **given: Any) -> M:
    """An answer ``model`` read from ``row``: each field is the row's attribute of the
    same name, but for those ``given`` (named otherwise on the row, computed, or read
    from another row)."""
    own = {name: getattr(row, name) for name in model.model_fields if name not in given}
    return model(**own, **given)


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


@dataclass(frozen=True)
class ListRequest:
    """One of the API's paged lists asked for: the request and the page; a subclass adds
    what the list is of, found by a route's dependency (``calls.access.call_list``,
    ``facilities.access.provider_list``)."""

    api: Api
    page: PageRequest

    def rows(
        self, stmt: Any, keys: Sequence[tuple[Any, type]], key_of: Callable[[Any], tuple[Any, ...]]
    ) -> tuple[list[Any], Pagination]:
        """This page of ``stmt``, paged in SQL (:func:`keyset_page`)."""
        return keyset_page(self.api.db, stmt, keys, self.page, key_of)


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
            elif kind is str and isinstance(v, str) and control_char(v) is None:
                values.append(v)  # no NUL or lone surrogate (JSON may spell them)
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
    total = count_of(session, stmt)
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


async def one_file_per_field(request: Request) -> None:
    """A route's dependency: a file field sent with several files is refused (400,
    nothing read further or stored; mend22b), as on the pages."""
    form = await request.form()  # the form FastAPI already read for the route
    try:
        one_file_each(form.multi_items())
    except DomainError as exc:
        raise domain_error(exc) from exc


def domain_error(exc: DomainError) -> ApiError:
    if exc.code in ("not_found", "forbidden"):
        return ApiError(404, "not found")
    return ApiError(403 if exc.code == WRONG_ACCOUNT else 400, exc.message, error=exc)


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
        return ApiError(400, f"{field}: {exc.message}", error=exc, prefix=f"{field}: ")
    return ApiError(400, exc.message, error=exc)
