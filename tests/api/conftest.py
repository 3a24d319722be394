"""Fixtures of the API tests: the web app over the test database, the small world
of an open FAST call (``tests.web.conftest``) and the dual-anonymous cycle with a
persona for every role (``tests.web2.conftest``)."""

from __future__ import annotations

from tests.web.conftest import Web, World, web, world  # noqa: F401
from tests.web2.conftest import Cycle, cycle  # noqa: F401  (re-exported fixtures)

__all__ = ["Cycle", "Web", "World", "cycle", "web", "world"]
