"""Guesses sent in parallel (trialcrowd22). The sign-in throttle counted an account's
(and a client's) failures, then verified the password (argon2: tens to hundreds of
milliseconds), then recorded the attempt: guesses sent at the same moment all read the
same count before any was recorded, so each step of the backoff let through as many
guesses as the attacker had connections (every server process's places), not one. Here
the guesses are held at the password check until all have reached it (as a server's
concurrent requests reach it), on SQLite and PostgreSQL: no more are checked than the
counts allow, the others are refused as waiting, and every checked guess is recorded."""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.people import services
from opencall.people.models import LoginAttempt
from tests import factories as F
from tests.web.conftest import PASSWORD

MAX_ATTEMPTS = 5  # per account and client; per client, over all accounts: twice that


def _guess_at_once(
    factory: sessionmaker[Session], monkeypatch: Any, emails: list[str]
) -> dict[str, int]:
    """One guess for each of ``emails``, all from one client, held at the password check
    until every guess has reached it (or a second has passed: a guess that waits on a
    lock before the check never reaches it while the others hold the check); the
    answers."""
    arrived = threading.Semaphore(0)
    real = services.verify_password
    n = len(emails)
    reached = [0]
    lock = threading.Lock()
    go = threading.Event()

    def held(stored: str, password: str) -> bool:
        with lock:
            reached[0] += 1
            if reached[0] == n:
                go.set()
        arrived.release()
        go.wait(timeout=1.0)
        return real(stored, password)

    monkeypatch.setattr(services, "verify_password", held)
    answers: list[str] = []

    def guess(email: str) -> None:
        with factory() as s:
            result = services.authenticate(
                s,
                email,
                "wrong guess 1234",
                max_attempts=MAX_ATTEMPTS,
                window_s=900,
                client="198.51.100.7",
            )
            s.commit()
            answers.append(result.error or "signed in")

    threads = [threading.Thread(target=guess, args=(e,)) for e in emails]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    return dict(Counter(answers))


def _recorded(factory: sessionmaker[Session]) -> int:
    with factory() as s:
        return int(s.scalar(select(func.count()).select_from(LoginAttempt)) or 0)


def test_guesses_at_one_account_at_once_are_no_more_than_its_free_ones(
    factory: sessionmaker[Session], monkeypatch: Any
) -> None:
    with factory() as s:
        email = F.user(s, email="target@example.org").email
        s.commit()
    answers = _guess_at_once(factory, monkeypatch, [email] * 8)
    assert answers == {"bad_credentials": MAX_ATTEMPTS, "throttled": 3}
    assert _recorded(factory) == MAX_ATTEMPTS


def test_guesses_at_many_accounts_from_one_client_at_once_are_no_more_than_its_free_ones(
    factory: sessionmaker[Session], monkeypatch: Any
) -> None:
    emails = [f"sprayed{i}@example.org" for i in range(14)]
    answers = _guess_at_once(factory, monkeypatch, emails)
    assert answers == {"bad_credentials": 2 * MAX_ATTEMPTS, "throttled": 4}
    assert _recorded(factory) == 2 * MAX_ATTEMPTS


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_right_password_after_the_free_guesses_is_refused_while_waiting(
    factory: sessionmaker[Session],
) -> None:
    """Unchanged: guesses one after the other, the sixth (the right password) waits."""
    with factory() as s:
        user = F.user(s, email="owner@example.org")
        s.commit()
        for _ in range(MAX_ATTEMPTS):
            r = services.authenticate(
                s,
                user.email,
                "wrong guess 1234",
                max_attempts=MAX_ATTEMPTS,
                window_s=900,
                client="198.51.100.7",
            )
            assert r.error == "bad_credentials"
            s.commit()
        r = services.authenticate(
            s,
            user.email,
            PASSWORD,
            max_attempts=MAX_ATTEMPTS,
            window_s=900,
            client="198.51.100.7",
        )
        assert (r.user, r.error) == (None, "throttled") and r.retry_after_s > 0
