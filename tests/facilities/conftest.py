"""The web fixture for the resource-model tests."""

from tests.web.conftest import web  # noqa: F401  (re-exported fixture)
