"""The test client against an in-loop client, on the leak oracle's SQLite walk
(tests/security/test_leak_oracle.py): every GET route, every persona, at one stage of
its world, read by

* ``testclient``: the tests' client now (starlette's ``TestClient``, every request
  handed through :meth:`tests.web.conftest.Web.one_loop`'s portal to one event loop in
  another thread), as ``walk`` reads them;
* ``inloop``: ``httpx.AsyncClient`` over ``httpx.ASGITransport``, the requests awaited
  in the app's own event loop (``asyncio.run`` of the whole walk): no portal.

Both in one process, alternating (each first every other round), CPU of the process (``time.process_time``: the app's
worker threads included) a walk. Each round checks first that both read the same
answers (status and body, but the request id and the session cookie's new value).

    PYTHONPATH=. .venv/bin/python bench/bench_inloop_client.py --stage review --rounds 3
"""

from __future__ import annotations

import argparse
import asyncio
import re
import time
from typing import Any

import httpx
from tests import factories as F
from tests.security import test_leak_oracle as oracle
from tests.web.conftest import Web, sqlite_world

from opencall.scheduling import slot_services


def diff(a: str, b: str) -> str:
    import difflib

    return "".join(list(difflib.unified_diff(a.splitlines(True), b.splitlines(True), n=0))[2:8])


# a token's "last used" time on the account's token page (the API's GETs write it), and
# the one-time key of a form (the after-award forms: a new one each time the page is read)
WHEN = re.compile(r'<time datetime=[^>]*>[^<]*</time>|name="once" value="\w+"')


def answer(r: Any) -> tuple[int, str, str]:
    return r.status_code, r.headers.get("content-type", ""), WHEN.sub("<time>", r.text)


async def inloop_walk(web: Web, w: oracle.Leaky, by: dict[str, tuple[Any, Any]]) -> list[Any]:
    """The walk's requests (``oracle._responses``) with an in-loop client a persona."""
    out = []
    transport = httpx.ASGITransport(app=web.app, client=("testclient", 50000))
    for page_tc, api_tc in by.values():
        page = httpx.AsyncClient(transport=transport, base_url=oracle.BASE, cookies=page_tc.cookies)
        api = httpx.AsyncClient(transport=transport, base_url=oracle.BASE, headers=api_tc.headers)
        for _template, path in oracle.paths(web, w):
            r = await (api if path.startswith("/api/") else page).get(path)
            out.append(answer(r))
            html = r.headers.get("content-type", "").startswith("text/html")
            if r.status_code == 200 and html and path.startswith(oracle.CSV_PAGES):
                csv = await page.get(path + "?format=csv")
                if csv.headers.get("content-type", "").startswith("text/csv"):
                    out.append(answer(csv))
        await page.aclose()
        await api.aclose()
    return out


def testclient_walk(web: Web, w: oracle.Leaky, by: dict[str, tuple[Any, Any]]) -> list[Any]:
    return [
        answer(r) for page, api in by.values() for _t, _p, r in oracle._responses(web, w, page, api)
    ]


def advanced(prefix: str, stage: str) -> tuple[Web, oracle.Leaky]:
    """The leak oracle's world on SQLite (outside pytest), taken to ``stage`` as the test
    takes it (slots booked from the factories' clock)."""
    slot_services.utcnow = lambda: F.NOW  # as the test does
    web, w = sqlite_world(prefix, oracle.build_open)
    for step in oracle.STAGES[: oracle.STAGES.index(stage) + 1]:
        if step in oracle.ADVANCE:
            with web.factory() as s:
                oracle.ADVANCE[step](s, w)
                s.commit()
    return web, w


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--stage", default="review", choices=oracle.STAGES)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    web, w = advanced("bench-inloop-", args.stage)
    with web.one_loop():
        by = oracle.clients(web, w)
        testclient_walk(web, w, by)  # (each persona's token used once before: see WHEN)
        rows: dict[str, list[float]] = {"testclient": [], "inloop": []}
        n = 0
        walks = {
            "testclient": lambda: testclient_walk(web, w, by),
            "inloop": lambda: asyncio.run(inloop_walk(web, w, by)),
        }
        for i in range(args.rounds):
            got = {}
            for name in sorted(walks, reverse=i % 2 == 1):  # each first every other round
                t = time.process_time()
                got[name] = walks[name]()
                rows[name].append(time.process_time() - t)
            before, after = got["testclient"], got["inloop"]
            n = len(before)
            differ = [
                (a[:2], b[:2], diff(a[2], b[2]))
                for a, b in zip(before, after, strict=True)
                if a != b
            ]
            assert not differ, f"not the same answers: {len(differ)} of {n}: {differ}"
    print(
        f"stage {args.stage}: {n} requests a walk (7 personas), CPU s a walk, {args.rounds} rounds"
    )
    for name, xs in rows.items():
        print(
            f"{name:11} least {min(xs):7.2f}  all {' '.join(f'{x:.2f}' for x in xs)}"
            f"  ms a request {1000 * min(xs) / n:.2f}"
        )


if __name__ == "__main__":
    main()
