"""Fixtures for the resource-model tests (the web client, the browser)."""

from tests.web.conftest import web  # noqa: F401  (re-exported fixture)
from tests.web.test_browser import browser  # noqa: F401  (re-exported fixture)
