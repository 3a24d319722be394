"""Two requests that race: the same confirmed form posted by two signed-in clients at
once (a double click, two officers), each held just before a service call until both
have reached it, so that both have read the state before either writes."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.orm import Session, sessionmaker

from opencall.errors import DomainError
from tests.web.conftest import Web, csrf


def post_held_together(
    web: Web,
    monkeypatch: pytest.MonkeyPatch,
    module: Any,
    name: str,
    *,
    email: str,
    form_page: str,
    path: str,
) -> list[int]:
    """``email`` posts ``path`` (its CSRF token read from ``form_page``) from two clients,
    ``module.name`` held until both requests call it; the answers' status codes, sorted."""
    both = threading.Barrier(2, timeout=20)
    real = getattr(module, name)

    def at_once(*args: Any, **kw: Any) -> Any:
        both.wait()
        return real(*args, **kw)

    monkeypatch.setattr(module, name, at_once)
    clients = [web.login(email) for _ in range(2)]
    tokens = [csrf(c, form_page) for c in clients]
    answers: list[int] = []

    def post(i: int) -> None:
        r = clients[i].post(path, data={"csrf_token": tokens[i], "confirm": "yes"})
        answers.append(r.status_code)

    threads = [threading.Thread(target=post, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    return sorted(answers)


def waits_on_a_lock(factory: sessionmaker[Session], pid: int) -> bool:
    """Whether the PostgreSQL backend ``pid`` comes to wait on a lock (a row's, an
    advisory lock) within about 30 s, polled from a connection of its own."""
    with factory() as probe:
        for _ in range(3000):
            state = probe.scalar(
                text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            )
            if state == "Lock":
                return True
            probe.rollback()
            time.sleep(0.01)
    return False


@contextmanager
def beside(work: Callable[[], None]) -> Iterator[None]:
    """``work`` in a thread of its own while the block runs (another request, another
    connection), joined after it."""
    t = threading.Thread(target=work)
    t.start()
    try:
        yield
    finally:
        t.join(120)


def meet(both: threading.Barrier) -> None:
    """Wait at ``both`` for the other request; go on alone when it gives up (the other
    waits on a lock this one holds: the fix at work)."""
    try:
        both.wait()
    except threading.BrokenBarrierError:
        pass


def recorded(
    factory: sessionmaker[Session],
    outcome: dict[str, str],
    name: str,
    work: Callable[[Session], Any],
) -> None:
    """Run ``work`` in a session of its own and commit; ``outcome[name]`` is "done", or the
    refusal's message (rolled back), or the name of any other exception (a 500)."""
    with factory() as s:
        try:
            work(s)
            s.commit()
            outcome[name] = "done"
        except DomainError as exc:
            s.rollback()
            outcome[name] = exc.message
        except Exception as exc:  # what a request would answer with a 500
            s.rollback()
            outcome[name] = type(exc).__name__
