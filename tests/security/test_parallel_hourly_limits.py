"""The hourly limits sent at once (trialcrowd22). Every hourly limit of ``email_sends``
(reset requests and registrations from one client, e-mails to one mailbox, a team's
invitations from one account, uploads) read the hour's count, then recorded the send, and
the request committed it when it ended (a registration hashes its password meanwhile):
requests sent at the same moment all read the count before any was committed, and all
passed. Here each request is held after the limit let it through, until all have been let
through or a second has passed, on SQLite and PostgreSQL: no more pass than the limit."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session, sessionmaker

from opencall.people import services

PER_HOUR = 2
N = 4


def _at_once(factory: sessionmaker[Session], ask: Callable[[Session], Any]) -> list[bool]:
    """``ask`` in N sessions at once, each held (uncommitted) once let through; which passed."""
    passed: list[bool] = []
    lock = threading.Lock()
    through = [0]
    everyone = threading.Event()

    def one() -> None:
        with factory() as s:
            ok = bool(ask(s))
            with lock:
                passed.append(ok)
                through[0] += 1
                if through[0] == N:
                    everyone.set()
            everyone.wait(timeout=1.0)
            s.commit()

    threads = [threading.Thread(target=one) for _ in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return sorted(passed)


def test_reset_requests_from_one_client_at_once_pass_no_more_than_the_limit(
    factory: sessionmaker[Session],
) -> None:
    passed = _at_once(
        factory,
        lambda s: services.reset_request_wait(s, "198.51.100.7", per_hour=PER_HOUR) == 0,
    )
    assert passed == [False] * (N - PER_HOUR) + [True] * PER_HOUR


def test_mails_to_one_mailbox_at_once_are_no_more_than_the_limit(
    factory: sessionmaker[Session],
) -> None:
    passed = _at_once(
        factory,
        lambda s: services.may_send_email(s, "victim@example.org", "verify", per_hour=PER_HOUR),
    )
    assert passed == [False] * (N - PER_HOUR) + [True] * PER_HOUR
