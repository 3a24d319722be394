"""Application logging: one configuration, request and user ids on web lines, the
job id on worker lines, every unhandled error with its traceback, quiet by default."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs, logging_setup
from opencall.people.queries import user_by_email
from tests.web.conftest import Web, World, session_cookie
from tests.web.conftest import web as web  # noqa: F401  (fixtures)
from tests.web.conftest import world as world  # noqa: F401


@pytest.fixture
def out() -> Iterator[io.StringIO]:
    buf = io.StringIO()
    logging_setup.configure(level="INFO", fmt="text", stream=buf)
    yield buf
    logging_setup.configure(level="WARNING")  # back to the quiet default


def test_web_lines_carry_the_request_and_the_user(web: Web, world: World, out: io.StringIO) -> None:
    c = web.client()
    c.cookies.set("oc_session", session_cookie(web, "pi@example.org", uuid.uuid4().hex))
    r = c.get("/dashboard", headers={"X-Request-ID": "req-abc.123"})
    assert r.status_code == 200
    assert r.headers["x-request-id"] == "req-abc.123"
    with web.factory() as s:
        user = user_by_email(s, "pi@example.org")
        assert user is not None
        uid = user.id
    lines = [ln for ln in out.getvalue().splitlines() if "GET /dashboard 200" in ln]
    assert len(lines) == 1, out.getvalue()
    assert "request=req-abc.123" in lines[0] and f"user={uid}" in lines[0]


def test_a_bad_request_id_is_replaced(web: Web, out: io.StringIO) -> None:
    r = web.client().get("/healthz", headers={"X-Request-ID": "no spaces\tor tabs"})
    rid = r.headers["x-request-id"]
    assert rid != "no spaces\tor tabs" and len(rid) == 16
    assert f"request={rid} user=- job=-" in out.getvalue()


def test_an_unhandled_error_is_logged_with_its_traceback(web: Web, out: io.StringIO) -> None:
    def boom() -> None:
        raise RuntimeError("kaboom in a route")

    web.app.add_api_route("/boom-for-test", boom)
    r = web.client().get("/boom-for-test", headers={"X-Request-ID": "r500"})
    assert r.status_code == 500
    text = out.getvalue()
    assert "ERROR opencall.web" in text and "request=r500" in text
    assert "Traceback (most recent call last)" in text and "kaboom in a route" in text


def test_worker_lines_carry_the_job_id(factory: sessionmaker[Session], out: io.StringIO) -> None:
    def ok(_s: Session, _job: jobs.Job, _p: object) -> None:
        logging.getLogger("opencall.test").info("inside the job")

    def broken(_s: Session, _job: jobs.Job, _p: object) -> None:
        raise ZeroDivisionError("job blew up")

    registry = jobs.JobRegistry()
    registry.register("test.ok", ok)
    registry.register("test.broken", broken)
    with factory() as s:
        good = jobs.enqueue(s, "test.ok", {})
        bad = jobs.enqueue(s, "test.broken", {}, max_attempts=1)
        s.commit()
        good_id, bad_id = good.id, bad.id
    jobs.run_pending(factory, registry, ids=[good_id, bad_id])
    text = out.getvalue()
    assert f"job={good_id}] inside the job" in text
    assert f"job={good_id}] job test.ok done" in text
    failed = text[text.index(f"request=- user=- job={bad_id}] job test.broken failed") :]
    assert "Traceback (most recent call last)" in failed and "job blew up" in failed


def test_json_lines(out: io.StringIO) -> None:
    buf = io.StringIO()
    logging_setup.configure(level="INFO", fmt="json", stream=buf)
    with logging_setup.bound(request_id="r1", user_id=7):
        logging.getLogger("opencall.test").info("hello %s", "world")
    line = json.loads(buf.getvalue().splitlines()[-1])
    assert line["message"] == "hello world"
    assert (line["request_id"], line["user_id"], line["job_id"]) == ("r1", 7, "-")
    assert line["levelname"] == "INFO" and line["name"] == "opencall.test"


def test_quiet_by_default_and_set_by_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    buf = io.StringIO()
    monkeypatch.delenv("OPENCALL_LOG_LEVEL", raising=False)
    logger = logging_setup.configure(stream=buf)
    logging.getLogger("opencall.test").info("not shown")
    assert logger.level == logging.WARNING and buf.getvalue() == ""
    monkeypatch.setenv("OPENCALL_LOG_LEVEL", "debug")
    monkeypatch.setenv("OPENCALL_LOG_FORMAT", "json")
    logging_setup.configure(stream=buf)
    logging.getLogger("opencall.test").debug("shown")
    assert json.loads(buf.getvalue())["message"] == "shown"
    monkeypatch.setenv("OPENCALL_LOG_LEVEL", "LOUD")
    with pytest.raises(ValueError, match="OPENCALL_LOG_LEVEL"):
        logging_setup.configure(stream=buf)
    monkeypatch.delenv("OPENCALL_LOG_LEVEL")
    monkeypatch.delenv("OPENCALL_LOG_FORMAT")
    logging_setup.configure()
    assert len([h for h in logger.handlers if getattr(h, "opencall", False)]) == 1


def test_the_servers_own_lines_follow_the_same_configuration(
    tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`opencall serve`'s uvicorn lines go through OpenCall's configuration: in JSON when
    OPENCALL_LOG_FORMAT=json (a log shipper reads every line), quiet below the level, and
    no second line per request beside opencall.web.request's (uvicorn's access log)."""
    import uvicorn
    from typer.testing import CliRunner

    from opencall.cli import app as cli_app

    given: dict = {}
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: given.update(kw))
    env = {"OPENCALL_DATABASE_URL": f"sqlite:///{tmp_path / 'log.sqlite3'}"}
    assert CliRunner().invoke(cli_app, ["serve"], env=env).exit_code == 0
    keys = ("log_config", "log_level", "access_log")
    config = uvicorn.Config(
        "opencall.app:app_from_environment", **{k: given[k] for k in keys if k in given}
    )
    buf = io.StringIO()
    try:
        logging_setup.configure(level="WARNING", fmt="json", stream=buf)  # as the app does
        logging.getLogger("uvicorn.error").info("Started server process")
        logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
        assert not config.access_log
        lines = [json.loads(line) for line in buf.getvalue().splitlines()]
        assert [(x["name"], x["message"]) for x in lines] == [
            ("uvicorn.error", "Invalid HTTP request received.")
        ]
    finally:
        logging_setup.configure(level="WARNING")


def test_a_level_uvicorn_left_earlier_does_not_silence_the_configuration() -> None:
    """A uvicorn.Config made earlier in the process (a server in a thread at
    log_level="critical", as tests/web/threaded.py starts) sets uvicorn.error's own level;
    OpenCall's configuration still decides what uvicorn's lines reach (make test failed
    when such a test ran before the one above in the same worker)."""
    import uvicorn

    uvicorn.Config("opencall.app:app_from_environment", log_level="critical")
    buf = io.StringIO()
    try:
        logging_setup.configure(level="WARNING", fmt="json", stream=buf)
        logging.getLogger("uvicorn.error").warning("Invalid HTTP request received.")
        logging.getLogger("uvicorn.error").info("Started server process")
        lines = [json.loads(line) for line in buf.getvalue().splitlines()]
        assert [(x["name"], x["message"]) for x in lines] == [
            ("uvicorn.error", "Invalid HTTP request received.")
        ]
    finally:
        logging_setup.configure(level="WARNING")


def test_the_500_answer_gives_its_request_id_to_quote(web: Web, out: io.StringIO) -> None:
    """trialop24: the error page said only "Something went wrong on our side" and the API
    only ``{"detail": "internal error"}``: the request id was in the log line and in a
    response header no user sees, so the operator could not find the line of a user's
    report. Now the page and the API's answer give it, to quote."""

    def boom() -> None:
        raise RuntimeError("kaboom in a route")

    web.app.add_api_route("/boom-page", boom)
    web.app.add_api_route("/api/v1/boom-api", boom)
    page = web.client().get("/boom-page", headers={"X-Request-ID": "page500ref"})
    assert page.status_code == 500
    assert "page500ref" in page.text, page.text
    assert "kaboom" not in page.text and "Traceback" not in page.text
    api = web.client().get("/api/v1/boom-api", headers={"X-Request-ID": "api500ref"})
    assert api.status_code == 500
    assert api.json() == {"detail": "internal error", "request_id": "api500ref"}
    fr = web.client().get("/boom-page", headers={"Accept-Language": "fr"})
    rid = fr.headers["x-request-id"]
    assert rid in fr.text and "Référence" in fr.text, fr.text
    assert f"request={rid}" in out.getvalue()


def test_the_times_are_utc_whatever_the_servers_zone(monkeypatch: pytest.MonkeyPatch) -> None:
    """trialop24: a line's time was the server's local time, without its zone: a machine
    set to Asia/Shanghai (or moved to another zone, or through a summer-time change) wrote
    times 8 hours off the audit log's and the job table's (UTC), which the lines' ids send
    the reader to. Now UTC, marked Z, in the text and the JSON lines alike."""
    import time

    at = dt.datetime(2026, 12, 4, 17, 20, 1, 512000, tzinfo=dt.UTC).timestamp()
    monkeypatch.setenv("TZ", "Asia/Shanghai")
    time.tzset()
    try:
        for fmt in ("text", "json"):
            buf = io.StringIO()
            logger = logging_setup.configure(level="INFO", fmt=fmt, stream=buf)
            record = logger.makeRecord("opencall", logging.INFO, __file__, 1, "hello", (), None)
            record.created = at
            record.msecs = 512.0
            logger.handle(record)
            line = buf.getvalue()
            assert "2026-12-04T17:20:01.512Z" in line, (fmt, line)
    finally:
        monkeypatch.delenv("TZ")
        time.tzset()
        logging_setup.configure(level="WARNING")
