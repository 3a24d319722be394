"""The web fixtures of tests/web, re-exported for the security tests, and the awarded
samples call of tests/results (``aw``)."""

from tests.results.conftest import aw  # noqa: F401
from tests.web.conftest import web, world  # noqa: F401
