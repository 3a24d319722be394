"""Fixtures for the resource-model tests (the web client, the browser)."""

import pytest

from tests.web.conftest import web  # noqa: F401  (re-exported fixture)
from tests.web.test_browser import browser  # noqa: F401  (re-exported fixture)


@pytest.fixture(autouse=True)
def _dated_worlds(request: pytest.FixtureRequest) -> None:
    """The resources here have periods in 2027 and 2028, and a call offers only the slots
    that have not begun: the tests run on a pinned clock (tests/conftest.py), not the real
    date, which will one day pass those periods. Not the browser tests: the browser keeps
    the real time (a cookie dated on a pinned clock would expire there)."""
    if request.node.get_closest_marker("browser") is None:
        request.getfixturevalue("pinned_clock")
