"""Fixtures of the reviews' page tests: the web app, the open-call world and the
small call in review (re-exported from tests.web / tests.review_cycle)."""

from tests.review_cycle import cycle, web  # noqa: F401
from tests.web.conftest import world  # noqa: F401
