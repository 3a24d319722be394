"""Web fixtures for the allocation tests (re-exported from tests.web.conftest)."""

from tests.web.conftest import one_loop, web, world  # noqa: F401  (re-exported fixtures)
