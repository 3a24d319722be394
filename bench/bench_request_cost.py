"""What a request costs: CPU a request of typical pages through the real app (the test
world of tests/web: a FAST call of 24 resources, a PI signed in, pages in French), as
before speed15 and as now, alternating in one process:

* ``numbers``: the numbers written as before (Babel given a locale's name and a
  pattern's text, parsed at every number) and as now (parsed once per process), and the
  number formatting alone; "before" is the same code with ``opencall.inputs._pattern``
  and ``_babel_locale`` replaced by what main passed to Babel (the texts themselves):
  the same words, checked;
* ``layer``: the session cookie and headers written by main's ``BaseHTTPMiddleware``
  (copied below, put in the new layer's place in a second app) and by the plain ASGI
  layer ``SessionAndHeaders``: the same answers, checked.

    PYTHONPATH=. .venv/bin/python bench/bench_request_cost.py --rounds 5 --n 40
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from tests.web.conftest import Web, build_world, sqlite_world

from opencall import inputs
from opencall.app import create_app
from opencall.settings import cookies_secure
from opencall.web import pages as web_pages
from opencall.web import security


@contextmanager
def parsed_per_number() -> Iterator[None]:
    """Main's path: Babel parses the locale's name and the pattern at every number."""
    pattern, locale = inputs._pattern, inputs._babel_locale
    inputs._pattern = lambda text: text  # type: ignore[assignment]
    inputs._babel_locale = inputs._number_locale  # type: ignore[assignment]
    try:
        yield
    finally:
        inputs._pattern, inputs._babel_locale = pattern, locale


def with_main_layer(app: Any) -> Any:
    """``app`` with main's ``@app.middleware("http")`` layer in the new layer's place."""
    hsts = cookies_secure(app.state.settings)

    async def session_and_headers(request: Any, call_next: Any) -> Any:  # main's, as it was
        if not request.url.path.startswith("/api/") and web_pages._id_out_of_range(
            request.url.path
        ):
            response = web_pages._error_page(request, 404)
        else:
            response = await call_next(request)
        if "location" in response.headers:
            response.headers["location"] = web_pages.on_this_site(
                response.headers["location"], request.headers.get("host", "")
            )
        security.write_cookie(request, response)
        for k, v in web_pages.SECURITY_HEADERS.items():
            response.headers.setdefault(k, v)
        if hsts:
            response.headers.setdefault("Strict-Transport-Security", web_pages.HSTS)
        if request.url.path.startswith(("/static/", "/api/docs/assets/")):
            response.headers.setdefault("Cache-Control", "public, max-age=86400")
        else:
            response.headers.setdefault("Cache-Control", "no-store")
        return response

    app.user_middleware = [
        Middleware(BaseHTTPMiddleware, dispatch=session_and_headers)
        if m.cls is web_pages.SessionAndHeaders
        else m
        for m in app.user_middleware
    ]
    return app


def numbers_written(fn: Callable[[], object]) -> int:
    """How many numbers ``fn`` writes in the reader's language."""
    texts: list[str] = []
    pattern = inputs._pattern

    def counting(text: str) -> object:
        texts.append(text)
        return pattern(text)

    inputs._pattern = counting  # type: ignore[assignment]
    try:
        fn()
    finally:
        inputs._pattern = pattern
    return len(texts)


def cpu_per_call(fn: Callable[[], object], n: int) -> float:
    fn()
    t = time.process_time()
    for _ in range(n):
        fn()
    return (time.process_time() - t) / n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--n", type=int, default=40, help="requests of a page a round")
    ap.add_argument("--lang", default="fr")
    args = ap.parse_args()

    numbers = [1250.5 + i * 3.7 for i in range(200)]
    fmt = {
        "local_number": lambda: [inputs.local_number(x, args.lang) for x in numbers],
        "local_decimal": lambda: [inputs.local_decimal(x, args.lang, 2) for x in numbers],
    }
    with parsed_per_number():
        same = {k: f() for k, f in fmt.items()}
    assert same == {k: f() for k, f in fmt.items()}, "not the same words"

    web, world = sqlite_world("bench-request-", build_world)
    old = Web(with_main_layer(create_app(web.settings)), web.settings, web.factory, web.tmp)
    pages = [
        f"/calls/{world.slugs['call']}",
        "/calls",
        "/dashboard",
        f"/proposals/{world.ids['proposal']}",
        "/api/v1/calls",
        "/login",
        "/healthz",
    ]
    rows: dict[tuple[str, str], list[float]] = {}
    with web.one_loop():
        old.portal = web.portal
        client = web.login(world.emails["pi"], lang=args.lang)
        old_client = old.login(world.emails["pi"], lang=args.lang)
        for path in pages:
            with parsed_per_number():
                before = old_client.get(path)
            after = client.get(path)
            assert before.status_code == after.status_code == 200, path
            # (main compressed answers under GZIP_MIN_BYTES too: docs/testing.md, speed15)
            drop = ("x-request-id", "set-cookie", "content-length", "content-encoding", "vary")
            assert [(k, v) for k, v in before.headers.items() if k not in drop] == [
                (k, v) for k, v in after.headers.items() if k not in drop
            ], f"{path}: not the same headers"
            if not path.startswith("/api/"):  # (the API's JSON has no formatted numbers)
                assert before.text == after.text.replace(*_csrf(after.text, before.text)), (
                    f"{path}: not the same page"
                )
        counts = {path: numbers_written(lambda p=path: client.get(p)) for path in pages}  # type: ignore[misc]
        for _ in range(args.rounds):
            for name, f in fmt.items():
                with parsed_per_number():
                    rows.setdefault((name + " x200", "main"), []).append(cpu_per_call(f, 20))
                rows.setdefault((name + " x200", "numbers"), []).append(cpu_per_call(f, 20))
                rows.setdefault((name + " x200", "both"), []).append(cpu_per_call(f, 20))
            for path in pages:
                with parsed_per_number():
                    m = cpu_per_call(lambda p=path: old_client.get(p), args.n)  # type: ignore[misc]
                rows.setdefault((path, "main"), []).append(m)
                n = cpu_per_call(lambda p=path: old_client.get(p), args.n)  # type: ignore[misc]
                rows.setdefault((path, "numbers"), []).append(n)
                b = cpu_per_call(lambda p=path: client.get(p), args.n)  # type: ignore[misc]
                rows.setdefault((path, "both"), []).append(b)
    print(
        f"{'what':26s} {'numbers':>7s} {'main ms':>8s} {'+numbers':>9s} {'+layer':>8s} {'ratio':>6s}"
    )
    for what in dict.fromkeys(k for k, _ in rows):
        m, n, b = (min(rows[(what, c)]) * 1000 for c in ("main", "numbers", "both"))
        print(f"{what:26s} {counts.get(what, 200):7d} {m:8.2f} {n:9.2f} {b:8.2f} {m / b:6.2f}")
    print(
        f"(CPU ms a call, least of {args.rounds} rounds of {args.n} requests each; numbers: "
        "written a call; main: main's layer and numbers; +numbers: the numbers cut; "
        "+layer: and the plain ASGI layer, as now)"
    )


def _csrf(after: str, before: str) -> tuple[str, str]:
    """The CSRF token differs between two renderings of a form: compare the rest."""
    import re

    a = re.search(r'name="csrf_token" value="([^"]+)"', after)
    b = re.search(r'name="csrf_token" value="([^"]+)"', before)
    return (a.group(1), b.group(1)) if a and b else ("", "")


if __name__ == "__main__":
    main()
