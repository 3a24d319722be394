"""Fixtures of the API tests: the web app over the test database, and the small
dual-anonymous cycle with a persona for every role (``tests.web2.conftest``)."""

from __future__ import annotations

from tests.web.conftest import Web, web  # noqa: F401
from tests.web2.conftest import Cycle, cycle  # noqa: F401  (re-exported fixtures)

__all__ = ["Cycle", "Web", "cycle", "web"]
