"""Finding a call for the person asking, for every feature's pages and API:
the call if this person may see (or run, or administer) it, otherwise 404
(existence does not leak)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from fastapi import Depends
from sqlalchemy.orm import Session

from opencall.calls import policies
from opencall.calls.models import Call
from opencall.calls.queries import call_by_slug
from opencall.people.models import User
from opencall.web.api import SLUG, Api, ListRequest, PageRequest, get_api, paging
from opencall.web.pages import Page


def visible_call(page: Page, slug: str) -> Call:
    call = call_by_slug(page.db, slug)
    if call is None or not policies.may_see_call(page.db, page.user, call):
        page.not_found()
    return call


def visible_call_api(api: Api, slug: str, *, resources: bool = True) -> Call:
    """:func:`visible_call` for the JSON API (raises the API's 404); ``resources``: as
    :func:`call_by_slug`."""
    call = call_by_slug(api.db, slug, resources=resources)
    if call is None or not policies.may_see_call(api.db, api.user, call):
        raise api.not_found()
    return call


def signed_in_call(
    page: Page, slug: str, may: Callable[[Session, User | None, Call], bool]
) -> Call:
    """The call, for a signed-in person the rule ``may`` lets in; otherwise 404."""
    page.require_user()
    call = call_by_slug(page.db, slug)
    if call is None or not may(page.db, page.user, call):
        page.not_found()
    return call


def signed_in_call_api(
    api: Api, slug: str, may: Callable[[Session, User | None, Call], bool]
) -> Call:
    """:func:`signed_in_call` for the JSON API (401 without a token, else the API's 404)."""
    user = api.require_user()
    call = call_by_slug(api.db, slug)
    if call is None or not may(api.db, user, call):
        raise api.not_found()
    return call


@dataclass(frozen=True)
class CallListRequest(ListRequest):
    """One of a call's paged lists in the API (the chair's proposals, assignments,
    ranking, decisions, schedule, conflicts and reviewer pool; a technical reviewer's
    proposals; the staff's reviewer invitations) asked for: the request, the page, the
    call."""

    call: Call


def call_list(may: Callable[[Session, User | None, Call], bool]) -> Callable[..., CallListRequest]:
    """A route's dependency: the call ``slug`` that a signed-in person the rule ``may``
    lets in asks a list of (else 401 or the API's 404, as :func:`signed_in_call_api`),
    looked up only once the slug and the paging are valid (else 422)."""

    def dependency(
        slug: str = SLUG, api: Api = Depends(get_api), page: PageRequest = Depends(paging)
    ) -> CallListRequest:
        return CallListRequest(api=api, page=page, call=signed_in_call_api(api, slug, may))

    return dependency


def office_call_api(api: Api, slug: str) -> Call:
    """:func:`office_call` for the JSON API."""
    return signed_in_call_api(api, slug, policies.may_administer)


def staff_call_api(api: Api, slug: str) -> Call:
    """:func:`staff_call` for the JSON API."""
    return signed_in_call_api(api, slug, policies.may_manage_call)


def office_call(page: Page, slug: str) -> Call:
    """A call this person administers (user office); otherwise 404."""
    return signed_in_call(page, slug, policies.may_administer)


def staff_call(page: Page, slug: str) -> Call:
    """A call this person runs (user office or chair); otherwise 404."""
    return signed_in_call(page, slug, policies.may_manage_call)
