"""Two requests that race: the same confirmed form posted by two signed-in clients at
once (a double click, two officers), each held just before a service call until both
have reached it, so that both have read the state before either writes."""

from __future__ import annotations

import threading
from typing import Any

import pytest

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
