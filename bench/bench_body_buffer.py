"""Slow uploads and the admission line (``opencall.web.serving.Admission``).

Two figures, in one process, no server:

1. What buffering a body before admission costs: a body of ``--mb`` MiB handed to the
   application in 64 KiB pieces, read back whole by the application (Starlette's
   ``Request.body``), through ``Admission`` and straight (no middleware): wall and CPU
   seconds per run, the best of ``--repeat``.
2. What slow uploads do to everyone else: ``--places`` places, ``--slow`` uploads each
   trickling ``--pieces`` pieces ``--pause`` seconds apart, and, once they are all on
   their way, ``--quick`` quick requests: how long each quick request took, with the
   bodies read before admission (now) and with the place taken on arrival (the code
   before: ``--before`` imports the class from another checkout's ``src``).

    PYTHONPATH=. .venv/bin/python bench/bench_body_buffer.py
    PYTHONPATH=. .venv/bin/python bench/bench_body_buffer.py --before /path/to/main/src
"""

from __future__ import annotations

import argparse
import importlib.util
import resource
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import anyio
from starlette.requests import Request
from tests.crowd.test_slow_upload import trickle
from tests.web.test_slow_bodies import _scope


def _cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def _app(scope: Any, receive: Any, send: Any) -> None:
    await Request(scope, receive).body()
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"ok"})


async def _sink(message: Any) -> None:
    return None


def _admission_class(src: str | None) -> Any:
    if src is None:
        from opencall.web.serving import Admission

        return Admission
    spec = importlib.util.spec_from_file_location(
        "serving_before", Path(src) / "opencall" / "web" / "serving.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.Admission


def buffering(mb: int, repeat: int) -> None:
    from opencall.web.serving import Admission

    data = b"%PDF" * (mb * 1024 * 1024 // 4)
    pieces = [data[i : i + 65536] for i in range(0, len(data), 65536)]
    admission = Admission(_app, limit=4, body_timeout_s=60, max_body_bytes=len(data) + 1)
    for name, app in (("straight", _app), ("Admission", admission)):
        best_wall = best_cpu = float("inf")
        for _ in range(repeat):
            w, c = time.perf_counter(), _cpu()
            anyio.run(app, _scope("/upload", len(data)), trickle(pieces, 0), _sink)
            best_wall = min(best_wall, time.perf_counter() - w)
            best_cpu = min(best_cpu, _cpu() - c)
        print(f"{mb} MiB body, {name:9s}: {best_wall:.3f} s wall, {best_cpu:.3f} s CPU")


def crowd(args: argparse.Namespace, src: str | None, label: str) -> None:
    admission_class = _admission_class(src)
    admission = admission_class(_app, limit=args.places, body_timeout_s=60)
    piece = b"x" * 65536
    waits: list[float] = []

    async def quick() -> None:
        began = time.perf_counter()
        await admission(_scope("/upload", 10), trickle([b"0123456789"], 0), _sink)
        waits.append(time.perf_counter() - began)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            for _ in range(args.slow):
                body = [piece] * args.pieces
                tg.start_soon(
                    admission,
                    _scope("/upload", len(piece) * args.pieces),
                    trickle(body, args.pause),
                    _sink,
                )
            await anyio.sleep(0.05)
            async with anyio.create_task_group() as quick_group:
                for _ in range(args.quick):
                    quick_group.start_soon(quick)

    began = time.perf_counter()
    anyio.run(main)
    print(
        f"{label}: {args.slow} uploads of {args.pieces} x 64 KiB, {args.pause} s apart, "
        f"{args.places} places: {args.quick} quick requests answered in median "
        f"{statistics.median(waits):.3f} s, max {max(waits):.3f} s "
        f"(all done in {time.perf_counter() - began:.2f} s)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=20)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--places", type=int, default=4)
    parser.add_argument("--slow", type=int, default=8)
    parser.add_argument("--pieces", type=int, default=20)
    parser.add_argument("--pause", type=float, default=0.1)
    parser.add_argument("--quick", type=int, default=20)
    parser.add_argument("--before", help="the src folder of the code before, to compare")
    args = parser.parse_args()
    buffering(args.mb, args.repeat)
    crowd(args, None, "now   ")
    if args.before:
        crowd(args, args.before, "before")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
