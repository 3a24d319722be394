"""Application logging: one configuration for the web app, the worker and the CLI.

Every line of the ``opencall`` loggers carries the context it was written in:
``request_id`` and ``user_id`` on the lines of a web request (set by
:class:`opencall.web.requestlog.RequestLog` and the page/API dependencies),
``job_id`` on the lines of a job (set by ``jobs.run_one``); ``-`` where there is
none. Quiet by default (warnings and errors only). The ``uvicorn`` loggers of
``opencall serve`` share the configuration (its access log is off: the
``opencall.web.request`` line is the one line a request).

Environment:

- ``OPENCALL_LOG_LEVEL``: ``DEBUG``, ``INFO`` (one line per request and per job),
  ``WARNING`` (the default) or ``ERROR``;
- ``OPENCALL_LOG_FORMAT``: ``text`` (the default) or ``json`` (one JSON object a
  line, via python-json-logger).
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import IO, Any

FIELDS = ("request_id", "user_id", "job_id")
TEXT_FORMAT = (
    "%(asctime)s %(levelname)s %(name)s "
    "[request=%(request_id)s user=%(user_id)s job=%(job_id)s] %(message)s"
)
JSON_FIELDS = "%(asctime)s %(levelname)s %(name)s %(message)s " + " ".join(
    f"%({f})s" for f in FIELDS
)
LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")

# One mutable dict per request or job: a sync route or dependency runs in a worker
# thread on a *copy* of the context, so it adds the user to the same dict in place.
_context: contextvars.ContextVar[dict[str, Any] | None] = contextvars.ContextVar(
    "opencall_log_context", default=None
)


@contextmanager
def bound(**values: Any) -> Iterator[dict[str, Any]]:
    """Lines written inside carry ``values`` (and the enclosing context's)."""
    ctx = {**(_context.get() or {}), **values}
    token = _context.set(ctx)
    try:
        yield ctx
    finally:
        _context.reset(token)


def set_user(user_id: int | None) -> None:
    """The account of the current request (no-op outside a bound context)."""
    ctx = _context.get()
    if ctx is not None and user_id is not None:
        ctx["user_id"] = user_id


def current(name: str) -> str | None:
    """The current request's or job's ``name`` (``request_id``...), None outside one."""
    value = (_context.get() or {}).get(name)
    return None if value is None else str(value)


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        ctx = _context.get() or {}
        record.__dict__.pop("color_message", None)  # uvicorn's copy with terminal colours
        for name in FIELDS:
            if not hasattr(record, name):
                setattr(record, name, ctx.get(name, "-"))
        return True


class _Stderr(logging.StreamHandler):  # type: ignore[type-arg]
    """Writes to whatever ``sys.stderr`` is at the time (test runners swap it)."""

    @property
    def stream(self) -> IO[str]:
        return sys.stderr

    @stream.setter
    def stream(self, _value: IO[str]) -> None:
        pass


def _formatter(fmt: str) -> logging.Formatter:
    formatter: logging.Formatter
    if fmt == "json":
        from pythonjsonlogger.json import JsonFormatter

        formatter = JsonFormatter(JSON_FIELDS)
    else:
        formatter = logging.Formatter(TEXT_FORMAT)
    # times in UTC, ISO 8601 with its Z, as the audit log and the job table keep them: not
    # the server's local time without its zone (trialop24)
    formatter.converter = time.gmtime
    formatter.default_time_format = "%Y-%m-%dT%H:%M:%S"
    formatter.default_msec_format = "%s.%03dZ"
    return formatter


def configure(
    level: str | None = None, fmt: str | None = None, stream: IO[str] | None = None
) -> logging.Logger:
    """Set up the ``opencall`` and ``uvicorn`` loggers (idempotent: a second call replaces the first
    handler). Arguments override the environment."""
    level = (level or os.environ.get("OPENCALL_LOG_LEVEL") or "WARNING").upper()
    fmt = (fmt or os.environ.get("OPENCALL_LOG_FORMAT") or "text").lower()
    if level not in LEVELS:
        raise ValueError(f"OPENCALL_LOG_LEVEL must be one of {', '.join(LEVELS)}, not {level!r}")
    if fmt not in ("text", "json"):
        raise ValueError(f"OPENCALL_LOG_FORMAT must be text or json, not {fmt!r}")
    handler: logging.Handler = logging.StreamHandler(stream) if stream else _Stderr()
    handler.opencall = True  # type: ignore[attr-defined]
    handler.addFilter(ContextFilter())
    handler.setFormatter(_formatter(fmt))
    # uvicorn's own lines (`opencall serve` leaves it no logging configuration of its own)
    for name in ("uvicorn", "opencall"):
        logger = logging.getLogger(name)
        for old in [h for h in logger.handlers if getattr(h, "opencall", False)]:
            logger.removeHandler(old)
        logger.addHandler(handler)
        logger.setLevel(level)
    logging.getLogger("uvicorn").propagate = False
    # uvicorn's children follow the level set here: a uvicorn.Config made earlier in the
    # process (a server in a thread at log_level="critical") left its own level on
    # uvicorn.error, which silenced the warnings this configuration lets through
    for name in ("uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    return logger


# ---------------------------------------------------------------- paths without their secrets

#: path parameters that hold a one-time secret (a password-reset, verification or
#: invitation link's token): the link mailed is the credential
SECRET_PATH_PARAMS = ("token",)
#: a token in a path the router has not matched (a refusal before it ran): a run of 32 or
#: more characters of the URL-safe alphabet (``secrets.token_urlsafe(32)`` makes 43; a
#: long slug there is hidden too, harmlessly)
_SECRET_RUN = re.compile(r"[A-Za-z0-9_-]{32,}")
#: characters that would forge or turn a log line: control characters (a newline starts
#: a line of the caller's making) and the bidi controls
_UNLOGGABLE = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def logged_path(scope: Any) -> str:
    """The request's path as the logs say it: a secret of the path (a one-time link's
    token) written as ``{token}``, a control character as its code point (``U+000A``).
    A log line, a log shipper and whoever reads them were handed live links before
    (trialcrowd15): ``GET /password/reset/<token> 200``; and a path with ``%0A`` wrote a
    line of its sender's making."""
    path = str(scope.get("path") or "")
    params = scope.get("path_params")
    if isinstance(params, dict) and "route" in scope:
        for name in SECRET_PATH_PARAMS:
            value = params.get(name)
            if isinstance(value, str) and value:
                path = path.replace(value, "{" + name + "}")
    else:
        path = _SECRET_RUN.sub("{token}", path)
    return _UNLOGGABLE.sub(lambda m: f"U+{ord(m.group()):04X}", path)
