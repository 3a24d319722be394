"""Finding a provider for the person asking who may manage it (the provider's pages
and API, and the pages and API of its people and roles in ``calls``)."""

from __future__ import annotations

from opencall.facilities import policies
from opencall.facilities.models import Provider
from opencall.web.api import Api
from opencall.web.pages import Page


def managed_provider(page: Page, slug: str) -> Provider:
    """The provider of ``slug`` if the signed-in person may manage it; otherwise 404."""
    return page.found(policies.managed_provider(page.db, page.require_user(), slug))


def api_managed_provider(api: Api, slug: str) -> Provider:
    """The provider of ``slug`` if the caller may manage it; otherwise 404 (JSON API)."""
    return api.found(policies.managed_provider(api.db, api.require_user(), slug))
