"""Choices offered by forms of several features (registration, the account, a
proposal's team and site)."""

from __future__ import annotations

from opencall.people import queries
from opencall.web.i18n import country_name
from opencall.web.pages import Page


def country_options(page: Page) -> list[tuple[str, str]]:
    opts = [(c.iso3, country_name(page.lang, c.iso2, c.name)) for c in queries.countries(page.db)]
    return sorted(opts, key=lambda o: o[1])
