"""The authorisation matrices use the personas of tests/web (world) and tests/cycle.py."""

from tests.web.conftest import world  # noqa: F401
