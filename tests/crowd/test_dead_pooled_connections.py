"""PostgreSQL restarted, or the app's connections ended by an administrator
(``pg_terminate_backend``): the connections waiting in the app's pool are dead. Each
request must still be answered (mend22): before, the next request to check a dead one out
failed with a 500, and SQLAlchemy only then renewed the pool (``pool_pre_ping`` was off).
Now the pool pings a connection as it hands it out and replaces a dead one."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, text

from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

PAGES = ("/calls", "/api/v1/calls", "/login", "/calls", "/api/v1/calls", "/")


def _terminate_others(engine: Engine) -> int:
    """End every other backend of the test database (the app's pooled connections), as a
    restart would; the number ended."""
    with engine.connect() as conn:
        ended = conn.execute(
            text(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        ).scalar_one()
        conn.commit()
    engine.dispose()  # the test's own pool held none but this one; start it afresh
    return int(ended)


def test_requests_after_the_backends_were_ended_are_answered(web: Web, engine: Engine) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("PostgreSQL's server processes")
    c = web.client()
    c.headers["Accept-Language"] = "en"
    for path in PAGES:  # the app's pool now holds open connections
        assert c.get(path).status_code == 200, path
    assert web.app.state.engine.pool.checkedin() >= 1
    assert _terminate_others(engine) >= 1
    answers = [(path, c.get(path).status_code) for path in PAGES]
    assert answers == [(path, 200) for path in PAGES]
