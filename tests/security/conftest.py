"""The web fixtures of tests/web, re-exported for the security tests."""

from tests.web.conftest import web, world  # noqa: F401
