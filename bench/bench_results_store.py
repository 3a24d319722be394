"""Storing the results of an import on SQLite (trialout10, item 5, tried and not kept):
50,000 results of one award stored as the imports store them, the ORM's ``add_all`` +
``flush`` (one INSERT ... RETURNING per result on SQLite), against one executemany
INSERT read back by id (``bulk``: what an import would need to hand its results back),
in the same run, on the same database, each rolled back, alternated ``--repeat`` times.
Prints one JSON line per run and the ratio of the medians (ORM / bulk).

    .venv/bin/python bench/bench_results_store.py --n 50000     # SQLite in /tmp
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT / "src"), str(ROOT)]

from sqlalchemy import func, insert, select  # noqa: E402
from tests.results.conftest import build  # noqa: E402

from opencall import migrate  # noqa: E402
from opencall.db import make_engine, make_sessionmaker, utcnow  # noqa: E402
from opencall.people.services import load_countries  # noqa: E402
from opencall.proposals.models import Proposal  # noqa: E402
from opencall.results.models import ResearchOutput  # noqa: E402


def outputs(p: Proposal, n: int) -> list[ResearchOutput]:
    return [
        ResearchOutput(call_id=p.call_id, proposal_id=p.id, kind="publication",
                       doi=f"10.5555/b.{i}", title=f"Result {i}", year=2028,
                       authors=["Doe, Jane", "Li, Bo"], countries=[], source="bibtex")
        for i in range(n)
    ]  # fmt: skip


def orm(s: object, new: list[ResearchOutput]) -> list[ResearchOutput]:
    s.add_all(new)  # type: ignore[attr-defined]
    s.flush()  # type: ignore[attr-defined]
    return new


def bulk(s: object, new: list[ResearchOutput]) -> list[ResearchOutput]:
    columns = [c.key for c in ResearchOutput.__table__.columns if c.key != "id"]
    now = utcnow()
    rows = [{k: (now if k == "created_at" else getattr(o, k)) for k in columns} for o in new]
    for r in rows:
        r.update({k: v for k, v in DEFAULTS.items() if r[k] is None})
    s.execute(insert(ResearchOutput), rows)  # type: ignore[attr-defined]
    last = s.scalar(select(func.max(ResearchOutput.id)))  # type: ignore[attr-defined]
    query = select(ResearchOutput).where(ResearchOutput.id > last - len(rows))
    return list(s.scalars(query.order_by(ResearchOutput.id)))  # type: ignore[attr-defined]


DEFAULTS = {"abstract": "", "acknowledgement": "", "acknowledges": False}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=50_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    path = Path(tempfile.mkdtemp()) / "store.sqlite3"
    engine = make_engine(f"sqlite:///{path}")
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as s:
        load_countries(s)
        a = build(s)
        s.commit()
    cpus: dict[str, list[float]] = {"orm add_all": [], "bulk": []}
    times: dict[str, list[float]] = {"orm add_all": [], "bulk": []}
    for _ in range(args.repeat):
        for name, fn in (("orm add_all", orm), ("bulk", bulk)):
            with make_sessionmaker(engine)() as s:
                p = s.get(Proposal, a.awarded)
                assert p is not None
                new = outputs(p, args.n)
                t0, c0 = time.perf_counter(), time.process_time()
                stored = fn(s, new)
                wall, cpu = time.perf_counter() - t0, time.process_time() - c0
                assert len(stored) == args.n and stored[-1].id is not None
                s.rollback()
            times[name].append(wall)
            cpus[name].append(cpu)
            print(json.dumps({"step": name, "n": args.n, "wall_s": round(wall, 3),
                              "cpu_s": round(cpu, 3)}), flush=True)  # fmt: skip
    med = {k: statistics.median(v) for k, v in times.items()}
    cpu_med = {k: statistics.median(v) for k, v in cpus.items()}
    print(json.dumps({"median_wall_s": {k: round(v, 3) for k, v in med.items()},
                      "median_cpu_s": {k: round(v, 3) for k, v in cpu_med.items()},
                      "wall_ratio": round(med["orm add_all"] / med["bulk"], 2),
                      "cpu_ratio": round(cpu_med["orm add_all"] / cpu_med["bulk"], 2)}))  # fmt: skip


if __name__ == "__main__":
    main()
