"""Fixtures of the API tests: the web app over the test database, the small world
of an open FAST call (``tests.web.conftest``) and the dual-anonymous cycle with a
persona for every role (``tests.cycle``)."""

from __future__ import annotations

from tests.review_cycle import Cycle, cycle  # noqa: F401  (re-exported fixtures)
from tests.web.conftest import Web, World, web, world  # noqa: F401

__all__ = ["Cycle", "Web", "World", "cycle", "web", "world"]
