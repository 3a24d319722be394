"""What a request costs: CPU a request of typical pages through the real app (the test
world of tests/web: a FAST call of 24 resources, a PI signed in), with the numbers
written as before speed15 (Babel given a locale's name and a pattern's text, parsed at
every number) and as now (parsed once per process), alternating in one process; and the
number formatting alone.

    PYTHONPATH=. .venv/bin/python bench/bench_request_cost.py --rounds 5 --n 40

"Before" is the same code with ``opencall.inputs._pattern`` and ``_babel_locale``
replaced by what main passed to Babel (the texts themselves): the same words, checked.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.web.conftest import Web, build_world, web_settings

from opencall import inputs, migrate
from opencall.app import create_app
from opencall.db import make_engine, make_sessionmaker
from opencall.people.services import load_countries


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

    tmp = Path(tempfile.mkdtemp(prefix="bench-request-"))
    engine = make_engine(f"sqlite:///{tmp}/db.sqlite3")
    migrate.upgrade(engine)
    factory = make_sessionmaker(engine)
    with factory() as s:
        load_countries(s)
        world = build_world(s)
        s.commit()
    settings = web_settings(engine, tmp)
    web = Web(create_app(settings), settings, factory, tmp)
    pages = [
        f"/calls/{world.slugs['call']}",
        "/calls",
        "/dashboard",
        f"/proposals/{world.ids['proposal']}",
        "/api/v1/calls",
        "/healthz",
    ]
    rows: dict[tuple[str, str], list[float]] = {}
    with web.one_loop():
        client = web.login(world.emails["pi"], lang=args.lang)
        for path in pages:
            with parsed_per_number():
                before = client.get(path)
            after = client.get(path)
            assert before.status_code == after.status_code == 200, path
            if not path.startswith("/api/"):  # (the API's JSON has no formatted numbers)
                assert before.text == after.text.replace(*_csrf(after.text, before.text)), (
                    f"{path}: not the same page"
                )
        counts = {path: numbers_written(lambda p=path: client.get(p)) for path in pages}  # type: ignore[misc]
        for _ in range(args.rounds):
            for name, f in fmt.items():
                with parsed_per_number():
                    rows.setdefault((name + " x200", "before"), []).append(cpu_per_call(f, 20))
                rows.setdefault((name + " x200", "after"), []).append(cpu_per_call(f, 20))
            for path in pages:
                with parsed_per_number():
                    b = cpu_per_call(lambda p=path: client.get(p), args.n)  # type: ignore[misc]
                rows.setdefault((path, "before"), []).append(b)
                a = cpu_per_call(lambda p=path: client.get(p), args.n)  # type: ignore[misc]
                rows.setdefault((path, "after"), []).append(a)
    print(f"{'what':32s} {'numbers':>7s} {'before ms':>10s} {'after ms':>10s} {'ratio':>6s}")
    for what in dict.fromkeys(k for k, _ in rows):
        b, a = min(rows[(what, "before")]) * 1000, min(rows[(what, "after")]) * 1000
        n = counts.get(what, 200)
        print(f"{what:32s} {n:7d} {b:10.2f} {a:10.2f} {b / a:6.2f}")
    print(f"(CPU ms a call, least of {args.rounds} rounds of {args.n}; numbers: written a call)")


def _csrf(after: str, before: str) -> tuple[str, str]:
    """The CSRF token differs between two renderings of a form: compare the rest."""
    import re

    a = re.search(r'name="csrf_token" value="([^"]+)"', after)
    b = re.search(r'name="csrf_token" value="([^"]+)"', before)
    return (a.group(1), b.group(1)) if a and b else ("", "")


if __name__ == "__main__":
    main()
