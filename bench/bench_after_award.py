"""The public after-award page and the report's after-award section of a call with
2,000 awards and 5 to 10 results each (papers with DOIs, datasets, patents, ORCID iDs
on the papers) and trainees reported after a course, bulk-inserted with
``bench_outcomes.build`` (one earlier cycle of the same size beside it, for the trend;
``--cycles 10 --awards 500``: the facility of ``bench_outcomes.py``, 5,000 awards). The figures are
computed with the code as it was (the bootstraps of ``tests/outcomes/bootstrap_before.py``:
500 Kaplan-Meier estimates per group, one replicate at a time, each group's result
shares drawn apart; every award's use and follow-up figures and DOIs computed for the
public page and the earlier cycles) and as it is, alternately, in the same process, and must be the
same to the last bit. Prints one JSON line per measure (CPU seconds of the process,
the TestClient's thread included) and the ratios.

    nice .venv/bin/python bench/bench_after_award.py --repeat 3 --check

``--check`` checks the outputs at that scale: the report's funnels by income group, UN
region and LDC status add up to the call's (and equal a count made apart from the
rows), no count the public page hides can be worked out from its column's total and the
other cells, and no PI's name, e-mail, proposal code or title is in the page, the
report page, its CSV or JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import resource
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import delete, insert, select, update

from opencall.app import create_app
from opencall.calls.models import Call
from opencall.db import make_engine, make_sessionmaker
from opencall.outcomes import after_award as aa
from opencall.outcomes import after_award_data as aad
from opencall.outcomes import queries as oq
from opencall.outcomes.models import PublicRelease
from opencall.proposals.models import Proposal, TeamMember
from opencall.reference.loader import countries
from opencall.results.models import PostAwardRecord, ResearchOutput
from opencall.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))
from tests.outcomes.bootstrap_before import (  # noqa: E402
    result_shares_before,
    time_to_first_result_before,
)

import bench_outcomes as bo  # noqa: E402

#: a handful of PIs from one small country: groups small enough to be suppressed
SMALL = "FJI"


def top_up(url: str, slug: str, seed: int) -> dict[str, int]:
    """Each award of the call 0 to 5 more results (5 to 10 in all with the five
    ``build`` gave it), an ORCID iD on each paper, a course follow-up (people trained)
    for one award in three, and 3 PIs moved to a small country."""
    rng = random.Random(seed)
    engine = make_engine(url)
    with make_sessionmaker(engine)() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        pids = list(
            s.scalars(select(Proposal.id).where(Proposal.call_id == call.id).order_by(Proposal.id))
        )
        year = call.closes_at.year
        outs, recs = [], []
        for i, pid in enumerate(pids):
            for j in range(rng.randrange(6)):
                kind = ("publication", "dataset", "patent")[j % 3]
                outs.append({"call_id": call.id, "proposal_id": pid, "kind": kind,
                             "doi": "" if kind == "patent" else f"10.5555/more.{i}.{j}",
                             "number": f"EP{i:05d}{j}A1" if kind == "patent" else "",
                             "title": f"More {i}.{j}", "year": year + 1 + j % 3,
                             "authors": ["A. Author"], "countries": ["KEN"],
                             "orcids": [f"0000-0002-{i % 10000:04d}-{j:03d}X"]
                             if kind == "publication" else [],
                             "abstract": "", "acknowledgement": "", "acknowledges": True,
                             "source": "typed"})  # fmt: skip
            if i % 3 == 0:
                recs.append({"call_id": call.id, "proposal_id": pid, "kind": "followup",
                             "reminders_sent": 0,
                             "data": {"participant": f"trainee {i}",
                                      "followed_up_on": f"{year + 1}-06-01",
                                      "people_trained": rng.randrange(1, 40),
                                      "people_trained_women": rng.randrange(0, 20),
                                      "demo_sites": rng.randrange(0, 4), "area_ha": 2.5}})  # fmt: skip
        s.execute(insert(ResearchOutput), outs)
        s.execute(insert(PostAwardRecord), recs)
        s.execute(
            update(TeamMember)
            .where(TeamMember.proposal_id.in_(pids[5:8]), TeamMember.role == "pi")
            .values(country_iso3=SMALL)
        )
        s.commit()
    engine.dispose()
    return {"awards": len(pids), "results_added": len(outs), "trainee_reports": len(recs)}


@contextmanager
def before() -> Iterator[None]:
    """The code as it was, wherever the page and the report call it: the bootstraps
    one replicate (one group) at a time, and every award's use and follow-up figures
    and DOIs computed for the public page and the earlier cycles too."""
    kept = aa.time_to_first_result, aa.result_shares, aad.rows_by_call
    rows_by_call = aad.rows_by_call

    def every_figure(*a: Any, figures: bool = True) -> Any:
        return rows_by_call(*a, figures=True)

    aa.time_to_first_result = time_to_first_result_before  # type: ignore[assignment]
    aa.result_shares = result_shares_before  # type: ignore[assignment]
    aad.rows_by_call = every_figure  # type: ignore[assignment]
    try:
        yield
    finally:
        aa.time_to_first_result, aa.result_shares, aad.rows_by_call = kept  # type: ignore[assignment]


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def check(c: TestClient, slug: str, engine: Any) -> dict[str, Any]:
    """The outputs at scale: see the module's docstring. Raises on the first fault."""
    report = c.get(f"/manage/calls/{slug}/report.json").json()
    funnels = report["after_award"]["funnels"]
    with engine.connect() as conn:
        pis = conn.execute(
            select(Proposal.id, Proposal.code, Proposal.title, TeamMember.name,
                   TeamMember.email, TeamMember.country_iso3)
            .join(TeamMember, (TeamMember.proposal_id == Proposal.id) & (TeamMember.role == "pi"))
            .join(Call, Call.id == Proposal.call_id)
            .where(Call.slug == slug)
        ).all()  # fmt: skip
        with_results = set(
            conn.scalars(
                select(ResearchOutput.proposal_id)
                .join(Call, Call.id == ResearchOutput.call_id)
                .where(Call.slug == slug)
            )
        )
    ref = countries()
    cells = 0
    for by, rows in funnels.items():
        expect: dict[str, list[int]] = {}
        for pid, *_x, iso3 in pis:
            c_ = ref[iso3]
            g = {"income_group": c_.income_group or "unknown",
                 "un_region": c_.un_region or "unknown",
                 "ldc": "LDC" if c_.ldc else "non-LDC"}[by]  # fmt: skip
            for key in (g, "all"):
                e = expect.setdefault(key, [0, 0])
                e[0] += 1
                e[1] += pid in with_results
        for stage in aa.AFTER_STAGES:
            at = [r for r in rows if r["stage"] == stage]
            total = next(r for r in at if r["group"] == "all")
            parts = [r for r in at if r["group"] != "all"]
            assert sum(r["count"] for r in parts) == total["count"], (by, stage)
            assert sum(r["awarded"] for r in parts) == total["awarded"] == len(pis), (by, stage)
            for r in at:
                assert r["awarded"] == expect[r["group"]][0], (by, r["group"])
                if stage == "produced_results":
                    assert r["count"] == expect[r["group"]][1], (by, r["group"], r["count"])
                cells += 1
    # the public page's figures (the page renders these): a hidden count is never
    # alone in its column, nor the only one its total leaves out
    with make_sessionmaker(engine)() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        public = oq.public_after_award(s, call)
    hidden = 0
    for by, rows in public["funnels"].items():
        for stage in aa.AFTER_STAGES:
            at = [r for r in rows if r["stage"] == stage]
            gone = [r for r in at if r["count"] is None]
            assert len(gone) != 1, (by, stage, gone)
            # a count under the threshold is never published (each state it sums is
            # under it too, and hidden)
            assert all(r["count"] in (None, 0) or r["count"] >= oq.PUBLIC_MIN_CELL for r in at)
            hidden += len(gone)
    outputs = {
        "page": c.get(f"/calls/{slug}/after-award").text,
        "report": c.get(f"/manage/calls/{slug}/report").text,
        "csv": c.get(f"/manage/calls/{slug}/report.csv").text,
        "json": json.dumps(report),
    }
    for _pid, code, title, name, email, _iso3 in pis:
        for what, text in outputs.items():
            for ident in (code, name, email, title):
                assert not re.search(rf"\b{re.escape(ident)}\b", text), (what, ident)
    return {"cells": cells, "hidden_public": hidden, "identities_checked": len(pis)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--awards", type=int, default=2000, help="awards of the call")
    ap.add_argument("--cycles", type=int, default=2, help="cycles, this call included")
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_after_award_"))
    url = f"sqlite:///{tmp / 'aa.sqlite3'}"
    t0 = cpu()
    n = args.cycles * args.awards
    world = bo.build(url, args.cycles, n, n, args.seed, outputs=5, patents=True)
    slug = world["slugs"][-1]
    info = top_up(url, slug, args.seed)
    print(json.dumps({"step": "build", "cpu_s": round(cpu() - t0, 1), **info}), flush=True)
    settings = Settings(
        database_url=url, secret_key="bench", base_url="http://testserver", secure_cookies=False,
        mail_backend="file", mail_dir=tmp / "mail", upload_dir=tmp / "uploads",
    )  # fmt: skip
    app = create_app(settings)
    c = TestClient(app)
    tok = bo.CSRF.search(c.get("/login").text)
    assert tok
    c.post("/login", data={"csrf_token": tok.group(1), "email": bo.OFFICE, "password": bo.PASSWORD})
    anyone = TestClient(app)
    factory = make_sessionmaker(app.state.engine)

    def section() -> dict[str, Any]:
        with factory() as s:
            call = s.scalars(select(Call).where(Call.slug == slug)).one()
            return aad.section(s, call, oq.applicant_records(s, call), oq.applicant_records)

    def page() -> str:
        oq.PUBLIC_AFTER_AWARD.clear()
        r = anyone.get(f"/calls/{slug}/after-award")
        assert r.status_code == 200
        return r.text

    def report() -> str:
        oq.REPORTS.clear()
        r = c.get(f"/manage/calls/{slug}/report.json")
        assert r.status_code == 200
        return re.sub(r'"generated_at": ?"[^"]*"', "", r.text)

    measures: dict[str, Callable[[], Any]] = {
        "public after-award page (uncached)": page,
        "report's after-award section": section,
        "report JSON (uncached)": report,
    }
    # the page's visits that keep a new release (the first one in the process also
    # imports scipy and statsmodels): computed twice, once before the release is kept
    for visit in ("first in the process, a new release", "a new release", "release kept"):
        if visit == "a new release":
            with app.state.engine.begin() as conn:
                conn.execute(delete(PublicRelease))
        n0, t = oq.PUBLIC_AFTER_AWARD.computed, cpu()
        page()
        print(json.dumps({"visit": visit, "computed": oq.PUBLIC_AFTER_AWARD.computed - n0,
                          "cpu_s": round(cpu() - t, 3)}), flush=True)  # fmt: skip
    report()  # its imports out of the measures
    totals: dict[tuple[str, str], list[float]] = {}
    answers: dict[tuple[str, str], Any] = {}
    for rep in range(args.repeat):
        for peer in ("before", "after") if rep % 2 == 0 else ("after", "before"):
            for name, fn in measures.items():
                t = cpu()
                if peer == "before":
                    with before():
                        got = fn()
                else:
                    got = fn()
                spent = cpu() - t
                totals.setdefault((name, peer), []).append(spent)
                answers.setdefault((name, peer), got)
                print(json.dumps({"measure": name, "peer": peer, "repeat": rep,
                                  "cpu_s": round(spent, 3)}), flush=True)  # fmt: skip
    for name in measures:
        assert answers[(name, "before")] == answers[(name, "after")], f"{name}: answers differ"
        b, a = min(totals[(name, "before")]), min(totals[(name, "after")])
        print(json.dumps({"measure": name, "before_cpu_s": round(b, 3), "after_cpu_s": round(a, 3),
                          "ratio": round(b / a, 2), "same_answer": True}), flush=True)  # fmt: skip
    for fmt in ("csv", "pdf"):
        t = cpu()
        r = c.get(f"/manage/calls/{slug}/report.{fmt}")
        assert r.status_code == 200
        print(json.dumps({"measure": f"report {fmt.upper()} (data cached)",
                          "cpu_s": round(cpu() - t, 3), "bytes": len(r.content)}))  # fmt: skip
    if args.check:
        print(json.dumps({"check": check(c, slug, app.state.engine)}), flush=True)
    app.state.engine.dispose()


if __name__ == "__main__":
    main()
