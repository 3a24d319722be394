"""Retrieval quality of the affinity on the demo world: does a reviewer written
for an area rank that area's proposals first?

    .venv/bin/python bench/bench_demo_retrieval.py [--seed 1]

Builds the demo world (seed given) in a temporary SQLite database, then for
each of its four calls scores every reviewer of the call against every
proposal with ``optim.affinity.tfidf_affinity`` (reviewer text: the expertise
statement, as the service uses) and reports ``retrieval_quality`` against the
areas the demo generator used (the proposal's area; the reviewer's area is the
one whose expertise sentence opens the statement).
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

from sqlalchemy import select

from opencall import migrate
from opencall.calls.models import Call
from opencall.db import make_engine, make_sessionmaker
from opencall.demo import world
from opencall.demo.texts import AREAS
from opencall.optim.affinity import retrieval_quality, tfidf_affinity
from opencall.proposals.models import Proposal
from opencall.reviews.queries import reviewers_of_call


def area_of_statement(text: str) -> str:
    for key, area in AREAS.items():
        if any(text.startswith(sentence) for sentence in area.expertise):
            return key
    return "?"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        engine = make_engine(f"sqlite:///{Path(tmp) / 'demo.sqlite3'}")
        migrate.upgrade(engine)
        with make_sessionmaker(engine)() as s:
            world.build(s, seed=args.seed, anchor=dt.date(2026, 11, 29))
            s.flush()
            label = {a.label: k for k, a in AREAS.items()}
            print(
                "| call | proposals x reviewers | areas | precision@10 | chance | MRR | top-1 | proposals whose best reviewer shares their area | time s |"
            )
            print("|---|---|---|---|---|---|---|---|---|")
            for call in s.scalars(select(Call).order_by(Call.id)):
                props = list(s.scalars(select(Proposal).where(Proposal.call_id == call.id)))
                revs = reviewers_of_call(s, call)
                t0 = time.perf_counter()
                res = tfidf_affinity(
                    [r.expertise for r in revs],
                    [f"{p.title}. {p.abstract} {p.keywords} {p.science_case}" for p in props],
                )
                dt_s = time.perf_counter() - t0
                q = retrieval_quality(
                    res,
                    [area_of_statement(r.expertise) for r in revs],
                    [label.get(p.area, "?") for p in props],
                    k=10,
                )
                n_areas = len({label.get(p.area) for p in props})
                print(
                    f"| {call.code} | {len(props)} x {len(revs)} | {n_areas} | "
                    f"{q['precision_at_k']:.3f} | {q['chance_precision']:.3f} | {q['mrr']:.3f} | "
                    f"{q['top1']:.3f} | {q['proposal_top1_same_area']:.3f} | {dt_s:.2f} |"
                )


if __name__ == "__main__":
    main()
