"""A big facility's call tried end to end, in one process, on PostgreSQL: the demo
world built at a scale (bulk path), then the FAST call's whole cycle through the
services (conflicts, affinity, assignment, simulated reviews, calibration, ranking,
allocation, scheduling, release, publication), the after-award follow-up (the demo's
simulated records, then a BibTeX file of publications imported for each of the
first awards), the outcomes report in its four forms, and the public pages and paged
API lists read through the app (TestClient). Prints each step's wall time, CPU time
and peak RSS (sampled every 0.1 s) as a JSON line.

    .venv/bin/python bench/bench_trial.py \
        --database-url postgresql://postgres@127.0.0.1:5432/test_trialscale_big --scale 20

The database is emptied first (DROP SCHEMA public CASCADE): use a scratch one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import resource
import sys
import time
from collections.abc import Callable
from typing import Any

from sqlalchemy import update

from bench_conference import Peak, postgres_engine  # this folder is on sys.path when run
from opencall import jobs
from opencall.allocation import services as al
from opencall.calls.queries import call_by_slug
from opencall.cycle.services import transition_call
from opencall.db import make_sessionmaker
from opencall.demo import world
from opencall.demo.postaward import record_postaward
from opencall.demo.simulate import simulate_reviews
from opencall.outcomes import queries as oq
from opencall.outcomes.report import report_pdf
from opencall.people.queries import user_by_email
from opencall.people.services import create_api_token, load_countries
from opencall.proposals.services import SCAN_JOB, close_call
from opencall.results import queries as resq
from opencall.results import services as res
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.scheduling import services as sc
from opencall.settings import Settings

SLUG = "fast-2027"
OFFICE = "manager@fast.example"


def bibtex(n: int, tag: str) -> str:
    return "\n".join(
        f"@article{{{tag}{i},\n  title = {{Result {i} of {tag}}},\n  author = {{Doe, Jane}},\n"
        f"  journal = {{J. Test}},\n  year = {{2027}},\n  doi = {{10.5555/{tag}.{i}}}\n}}\n"
        for i in range(n)
    )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", required=True)
    ap.add_argument("--scale", type=float, default=20.0)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--import-awards", type=int, default=200)
    ap.add_argument("--entries", type=int, default=20, help="BibTeX entries per imported file")
    ap.add_argument("--start-at", default="")
    args = ap.parse_args()
    url = args.database_url
    skipping = bool(args.start_at)
    engine = postgres_engine(url, fresh=not skipping)
    factory = make_sessionmaker(engine)
    rows: list[dict[str, Any]] = []

    def step(name: str, fn: Callable[[], Any]) -> Any:
        nonlocal skipping
        if skipping and name != args.start_at:
            return None
        skipping = False
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        with Peak(engine.url.database or "") as peak:
            t0 = time.perf_counter()
            got = fn()
            wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        rows.append(
            {
                "step": name,
                "wall_s": round(wall, 2),
                "cpu_s": round(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 2),
                "peak_mib": round(peak.peak_main / 2**20),
                **({"info": got} if isinstance(got, dict) else {}),
            }
        )
        print(json.dumps(rows[-1]), flush=True)
        return got

    def direct(fn: Callable[[Any, Any], Any]) -> Callable[[], Any]:
        def run() -> Any:
            with factory() as s:
                call = call_by_slug(s, SLUG)
                got = fn(s, call)
                s.commit()
            return got

        return run

    def build() -> dict[str, Any]:
        with factory() as s:
            load_countries(s)
            counts = world.build(s, seed=args.seed, anchor=dt.date(2026, 11, 29), scale=args.scale)
            held = s.execute(
                update(jobs.Job)
                .where(jobs.Job.status == "queued", jobs.Job.kind == SCAN_JOB)
                .values(status="held", message="held by bench_trial.py")
            ).rowcount
            s.commit()
        return {
            "proposals": counts.proposals,
            "by_call": counts.proposals_by_call,
            "applicants": counts.applicants,
            "countries": counts.applicant_countries,
            "reviewers": counts.reviewers,
            "scans_held": held,
        }

    step("demo build (bulk)", build)

    def close(s: Any, call: Any) -> dict[str, Any]:
        if call.status == "open":
            close_call(s, call, reason="bench")
        transition_call(s, call, "review")
        return {
            "under_review": len(rq.proposals_for_review(s, call)),
            "reviewers": len(rq.reviewers_of_call(s, call)),
        }

    step("close, to review", direct(close))
    step("conflicts", direct(lambda s, c: rv.compute_conflicts(s, c) and None))
    step("affinity", direct(lambda s, c: rv.run_affinity(s, c) and None))

    def assign(s: Any, c: Any) -> dict[str, Any]:
        run = rv.run_assignment(s, c, seed=0)
        return {"status": getattr(run, "status", None), "summary": getattr(run, "summary", None)}

    step("assignment", direct(assign))
    step("simulated reviews", direct(lambda s, c: simulate_reviews(s, c, seed=0) and None))

    def calibrate(s: Any, c: Any) -> dict[str, Any]:
        run = rv.run_calibration(s, c, seed=0)
        return {"status": getattr(run, "status", None), "wall": getattr(run, "wall_s", None)}

    step("calibration", direct(calibrate))

    def to_allocation(s: Any, c: Any) -> None:
        transition_call(s, c, "ranking")
        rv.freeze_ranking(s, c)
        transition_call(s, c, "allocation")

    step("freeze ranking", direct(to_allocation))

    def allocate(s: Any, c: Any) -> dict[str, Any]:
        run = al.run_allocation(s, c, seed=0)
        return {
            "status": getattr(run, "status", None),
            "gap": getattr(run, "gap", None),
            "wall": getattr(run, "wall_s", None),
        }

    step("allocation", direct(allocate))

    def schedule(s: Any, c: Any) -> dict[str, Any]:
        transition_call(s, c, "scheduling")
        run = sc.run_schedule(s, c, seed=0, days=120)
        return {
            "status": getattr(run, "status", None),
            "wall": getattr(run, "wall_s", None),
            "summary": {
                k: (len(v) if k == "unscheduled" else v)
                for k, v in (getattr(run, "summary", None) or {}).items()
                if k != "items"
            },
        }

    step("scheduling", direct(schedule))

    def publish(s: Any, c: Any) -> None:
        al.release_decisions(s, c)
        transition_call(s, c, "published")

    step("release, publish", direct(publish))
    step(
        "post-award records (demo)",
        direct(lambda s, c: {"made": record_postaward(s, c, seed=0, today=dt.date(2028, 6, 1))}),
    )

    def imports(s: Any, c: Any) -> dict[str, Any]:
        office = user_by_email(s, OFFICE)
        n = 0
        for p in resq.awarded_proposals(s, c)[: args.import_awards]:
            made, _skipped = res.import_outputs(
                s, p, "refs.bib", bibtex(args.entries, f"p{p.id}"), actor_id=office.id
            )
            n += len(made)
        return {"imported": n}

    step("outputs imported (BibTeX)", direct(imports))
    report: dict[str, Any] = {}

    def rep(s: Any, c: Any) -> dict[str, Any]:
        report.update(oq.report(s, c))
        return {"n_applications": report["n_applications"]}

    step("report (data)", direct(rep))
    step("report JSON", lambda: {"bytes": len(oq.report_json(report))})
    step("report CSV", lambda: {"bytes": len(oq.report_csv(report))})
    step("report PDF", lambda: {"bytes": len(report_pdf(report))})

    # the pages and API lists, through the app
    from fastapi.testclient import TestClient

    from opencall.app import create_app
    from opencall.demo.accounts import DEMO_PASSWORD

    settings = Settings(
        database_url=url, mail_backend="file", mail_dir=f"/tmp/bench-trial-mail-{os.getpid()}"
    )
    app = create_app(settings)
    anon = TestClient(app, base_url="http://testserver", follow_redirects=False)
    office = TestClient(app, base_url="http://testserver", follow_redirects=False)
    m = re.search(r'name="csrf_token" value="([^"]+)"', office.get("/login").text)
    r = office.post(
        "/login",
        data={"csrf_token": m.group(1) if m else "", "email": OFFICE, "password": DEMO_PASSWORD},
    )
    assert r.status_code == 303, r.text[:500]
    with factory() as s:
        _t, token = create_api_token(s, user_by_email(s, OFFICE), "bench")
        s.commit()
    auth = {"Authorization": f"Bearer {token}"}

    def page_with(
        client: TestClient, path: str, headers: dict[str, str] | None = None
    ) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            r = client.get(path, headers=headers or {})
            return {"status": r.status_code, "bytes": len(r.content)}

        return run

    for path, client in [
        ("/calls", anon),
        (f"/calls/{SLUG}", anon),
        (f"/calls/{SLUG}/awarded", anon),
        (f"/calls/{SLUG}/figures", anon),
        (f"/calls/{SLUG}/after-award", anon),
        (f"/manage/calls/{SLUG}/postaward", office),
        (f"/manage/calls/{SLUG}/decisions", office),
        (f"/manage/calls/{SLUG}/schedule", office),
        (f"/manage/calls/{SLUG}/report", office),
        (f"/manage/calls/{SLUG}/report.csv", office),
        (f"/manage/calls/{SLUG}/report.json", office),
        (f"/manage/calls/{SLUG}/report.pdf", office),
    ]:
        step(f"GET {path}", page_with(client, path))

    def walk(path: str) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            n, pages, cursor, worst = 0, 0, None, 0.0
            while True:
                t0 = time.perf_counter()
                params: dict[str, Any] = {"limit": 200}
                if cursor:
                    params["cursor"] = cursor
                r = anon.get(path, params=params, headers=auth)
                worst = max(worst, time.perf_counter() - t0)
                if r.status_code != 200:
                    return {"status": r.status_code, "body": r.text[:200]}
                body = r.json()
                pages += 1
                n += len(body.get("items", []))
                cursor = (body.get("page") or {}).get("next_cursor")
                if not cursor:
                    return {"rows": n, "pages": pages, "slowest_page_s": round(worst, 3)}

        return run

    for path in (
        f"/api/v1/calls/{SLUG}/proposals",
        f"/api/v1/calls/{SLUG}/assignments",
        f"/api/v1/calls/{SLUG}/ranking",
        f"/api/v1/calls/{SLUG}/decisions",
        f"/api/v1/calls/{SLUG}/awards",
        f"/api/v1/calls/{SLUG}/schedule",
    ):
        step(f"API {path} (all pages of 200)", walk(path))
    step(
        f"API /api/v1/calls/{SLUG}/postaward",
        page_with(anon, f"/api/v1/calls/{SLUG}/postaward", auth),
    )
    print(json.dumps({"steps": rows}), file=sys.stderr)


if __name__ == "__main__":
    main()
