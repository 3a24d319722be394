"""Finding a provider for the person asking who may manage it (the provider's pages
and API, and the pages and API of its people and roles in ``calls``)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Depends

from opencall.facilities import policies
from opencall.facilities.models import Provider
from opencall.web.api import SLUG, Api, ListRequest, PageRequest, get_api, paging
from opencall.web.pages import Page


def managed_provider(page: Page, slug: str) -> Provider:
    """The provider of ``slug`` if the signed-in person may manage it; otherwise 404."""
    return page.found(policies.managed_provider(page.db, page.require_user(), slug))


def api_managed_provider(api: Api, slug: str) -> Provider:
    """The provider of ``slug`` if the caller may manage it; otherwise 404 (JSON API)."""
    return api.found(policies.managed_provider(api.db, api.require_user(), slug))


@dataclass(frozen=True)
class ProviderListRequest(ListRequest):
    """One of a provider's paged lists in the API (its roles, its pending invitations,
    its node staff) asked for: the request, the page, the provider."""

    provider: Provider


def provider_list(
    slug: str = SLUG, api: Api = Depends(get_api), page: PageRequest = Depends(paging)
) -> ProviderListRequest:
    """A route's dependency: the provider ``slug`` that the caller manages (else 401 or
    the API's 404, as :func:`api_managed_provider`), looked up only once the slug and the
    paging are valid (else 422)."""
    return ProviderListRequest(api=api, page=page, provider=api_managed_provider(api, slug))
