"""After the award at a provider's scale: 10 past cycles of one custom facility (a gene
bank lending seed accessions, its resource declaring loans and shipments), ~5,000
awards, ~20,000 post-award records and ~5,000 results, bulk-inserted (the cycle itself
is not what is measured here). Then, through the app (TestClient, signed in as the
provider's user office), the post-award pages, the API lists, the outcomes report
(uncached, then cached) and its PDF, and the imports of 10,000-entry files. Prints one
JSON line per step: wall and CPU seconds, SQL statements, peak RSS so far (MiB).

    .venv/bin/python bench/bench_outcomes.py                     # SQLite in /tmp
    .venv/bin/python bench/bench_outcomes.py --database-url postgresql://.../scratch

The database is created from empty (SQLite: the file is removed; PostgreSQL: DROP
SCHEMA public CASCADE): use a scratch one.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import re
import resource
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import event, insert, select, text

from opencall import migrate
from opencall.app import create_app
from opencall.calls import services as call_services
from opencall.calls.models import Call
from opencall.db import make_engine, make_sessionmaker
from opencall.errors import DomainError
from opencall.facilities import services as fs
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals.models import Proposal, TeamMember
from opencall.results import services as res
from opencall.results.models import PostAwardRecord, ResearchOutput
from opencall.reviews.models import Review, ReviewAssignment
from opencall.settings import Settings

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.scale.bulk_awards import insert_decided  # noqa: E402

PASSWORD = "correct horse battery"
OFFICE = "office@seeds.example"
COUNTRIES = ["KEN", "ETH", "NPL", "BGD", "IND", "BRA", "DEU", "FRA", "CHN", "MWI", "PER", "USA"]
#: with ``--no-income``: countries the World Bank gives no income group (Cook Islands,
#: Western Sahara), one PI in 13 from each
NO_INCOME = ["COK", "ESH"]
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def build(
    url: str,
    cycles: int,
    awards: int,
    records: int,
    seed: int,
    *,
    proposals: int = 0,
    reviews: int = 0,
    outputs: int = 1,
    countries: list[str] = COUNTRIES,
    patents: bool = False,
) -> dict[str, Any]:
    """``proposals`` per facility (0: one per award; the first ``awards`` / ``cycles``
    of each cycle are awarded, the others declined), ``reviews`` submitted reviews per
    proposal (by 1 of 600 reviewers), ``records`` post-award records and about
    ``outputs`` results per award (publications and datasets, one DOI in ten shared with
    the next award; with ``patents``, the fourth of every five a patent, its publication
    number shared as the DOIs are)."""
    rng = random.Random(seed)
    proposals = proposals or awards
    COUNTRIES = countries  # noqa: N806 (the module's list, or the one asked for)
    engine = make_engine(url)
    if engine.dialect.name == "postgresql":
        with engine.begin() as c:
            c.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    migrate.upgrade(engine)
    factory = make_sessionmaker(engine)
    with factory() as s:
        people_services.load_countries(s)
        prov = fs.create_provider(s, name="Seed Bank", slug="seeds", country_iso3="KEN")
        fac = fs.create_facility(s, prov, name="Gene bank", slug="gb", kind="custom", attributes={})
        labels = {
            lg: {"one": "accession", "other": "accessions"} for lg in ("en", "fr", "es", "zh")
        }
        pool = fs.create_resource(
            s, fac, name="Seed accessions", unit="accession", amount=10**6, whole_units=True,
            unit_labels=labels, record_kinds=["loan", "shipment"],
        )  # fmt: skip
        office = people_services.register_user(
            s, email=OFFICE, name="User Office", password_hash=people_services.hash_password(PASSWORD),
            institution="Seed Bank", country_iso3="KEN", verified=True,
        )  # fmt: skip
        people_services.grant_role(s, office.id, "call_manager", provider_id=prov.id)
        s.flush()
        pw = people_services.hash_password(PASSWORD)
        s.execute(insert(User), [
            {"email": f"pi{i}@x.example", "name": f"PI {i}", "password_hash": pw,
             "country_iso3": COUNTRIES[i % len(COUNTRIES)], "institution": f"Inst {i % 300}"}
            for i in range(proposals)
        ])  # fmt: skip
        if reviews:
            s.execute(insert(User), [
                {"email": f"rev{i}@x.example", "name": f"Reviewer {i}", "password_hash": pw,
                 "country_iso3": COUNTRIES[(7 * i) % len(COUNTRIES)], "institution": f"R {i}"}
                for i in range(600)
            ])  # fmt: skip
        users = dict(s.execute(select(User.email, User.id)).all())
        per_call = proposals // cycles
        awarded_per_call = awards // cycles
        slugs, n_rec, n_out = [], 0, 0
        for c in range(cycles):
            year = 2017 + c
            call = call_services.create_call(
                s, fac,
                {"slug": f"gb-{year}", "code": f"GB{year}", "title": f"Seed loans {year}",
                 "cycle": str(year), "opens_at": dt.datetime(year, 1, 1, tzinfo=dt.UTC),
                 "closes_at": dt.datetime(year, 3, 1, tzinfo=dt.UTC)},
            )  # fmt: skip
            call_services.offer_pool(s, call, pool, 10**5)
            call.status = "published"
            call.decisions_released_at = dt.datetime(year, 5, 1, tzinfo=dt.UTC)
            s.flush()
            slugs.append(call.slug)
            base = c * per_call
            s.execute(insert(Proposal), [
                {"call_id": call.id, "code": f"GB{year}-{i:04d}", "pi_user_id": users[f"pi{base + i}@x.example"],
                 "status": "accepted", "title": f"Accessions {i}"}
                for i in range(per_call)
            ])  # fmt: skip
            pids = list(
                s.scalars(
                    select(Proposal.id).where(Proposal.call_id == call.id).order_by(Proposal.id)
                )
            )
            s.execute(insert(TeamMember), [
                {"proposal_id": pid, "role": "pi", "email": f"pi{base + i}@x.example", "name": f"PI {base + i}",
                 "country_iso3": COUNTRIES[(base + i) % len(COUNTRIES)], "user_id": users[f"pi{base + i}@x.example"],
                 "status": "accepted"}
                for i, pid in enumerate(pids)
            ])  # fmt: skip
            won = insert_decided(
                s, call.id, pids, pool.id, awarded=awarded_per_call, kind="custom",
                details={"amount": 5},
            )  # fmt: skip
            if per_call > awarded_per_call:
                s.execute(
                    Proposal.__table__.update()
                    .where(Proposal.id.in_(pids[awarded_per_call:]))
                    .values(status="rejected")
                )
            if reviews:
                s.execute(insert(ReviewAssignment), [
                    {"call_id": call.id, "proposal_id": pid,
                     "reviewer_id": users[f"rev{(7 * i + 11 * k + c) % 600}@x.example"],
                     "status": "submitted", "source": "manual"}
                    for i, pid in enumerate(pids) for k in range(reviews)
                ])  # fmt: skip
                ras = s.execute(
                    select(ReviewAssignment.id, ReviewAssignment.proposal_id).where(
                        ReviewAssignment.call_id == call.id
                    )
                ).all()
                rank = {pid: i for i, pid in enumerate(pids)}
                when = dt.datetime(year, 3, 20, tzinfo=dt.UTC)
                s.execute(insert(Review), [
                    {"assignment_id": aid,
                     "grade": round(min(5.0, max(1.0, 1.5 + 3 * rank[pid] / per_call + rng.gauss(0, 0.6))), 1),
                     "confidence": 3, "submitted_at": when}
                    for aid, pid in ras
                ])  # fmt: skip
            recs, outs = [], []
            for i, pid in enumerate(won):
                for j in range(records // awards):
                    shipped = dt.date(year, 6, 1) + dt.timedelta(days=rng.randrange(60))
                    kind = "loan" if j % 2 == 0 else "shipment"
                    data = (
                        {"sample": f"ACC-{i}-{j}", "mass_mg": 5000.0, "shipped_on": shipped.isoformat(),
                         "received_on": (shipped + dt.timedelta(days=9)).isoformat(),
                         "due_on": (shipped + dt.timedelta(days=365)).isoformat(),
                         "returned_on": None, "consumed": rng.random() < 0.7}
                        if kind == "loan"
                        else {"schedule_entry_id": None, "description": f"Box {j}", "planned_on": None,
                              "shipped_on": shipped.isoformat(),
                              "delivered_on": (shipped + dt.timedelta(days=9)).isoformat(),
                              "tracking_ref": "", "customs_status": "cleared"}
                    )  # fmt: skip
                    recs.append({"call_id": call.id, "proposal_id": pid, "kind": kind, "data": data,
                                 "reminders_sent": 0})  # fmt: skip
                for j in range(outputs if outputs > 1 else int(rng.random() < 0.8)):
                    # one in ten the DOI of the award before (a paper of two awards)
                    k = i - 1 if (j in (0, 3) and i and rng.random() < 0.1) else i
                    patent = patents and j % 5 == 3
                    kind = "dataset" if j % 5 == 4 else "patent" if patent else "publication"
                    outs.append({"call_id": call.id, "proposal_id": pid, "kind": kind,
                                 "doi": "" if patent else f"10.5555/gb.{year}.{k}.{j}",
                                 "number": f"CN{year}{k:05d}{j}A" if patent else "",
                                 "title": f"Trial of accession {k}.{j}",
                                 "year": year + 1, "authors": ["A. Author"], "countries": ["KEN"],
                                 "abstract": "", "acknowledgement": "", "acknowledges": True,
                                 "source": "typed"})  # fmt: skip
            s.execute(insert(PostAwardRecord), recs)
            if outs:
                s.execute(insert(ResearchOutput), outs)
            n_rec += len(recs)
            n_out += len(outs)
        s.commit()
    engine.dispose()
    return {
        "calls": cycles,
        "proposals": per_call * cycles,
        "awards": awarded_per_call * cycles,
        "reviews": reviews * per_call * cycles,
        "records": n_rec,
        "outputs": n_out,
        "slugs": slugs,
    }


def entries(fmt: str, n: int, tag: str) -> str:
    if fmt == "bibtex":
        return "\n".join(
            f"@article{{{tag}{i},\n  title = {{Result {i}}},\n  author = {{Doe, Jane and Li, Bo}},\n"
            f"  year = {{2027}},\n  month = {{mar}},\n  doi = {{10.5555/{tag}.{i}}}\n}}"
            for i in range(n)
        )
    if fmt == "ris":
        return "".join(
            f"TY  - JOUR\nTI  - Result {i}\nAU  - Doe, Jane\nPY  - 2027\nDA  - 2027/03/01\n"
            f"DO  - 10.5555/{tag}.{i}\nER  - \n\n"
            for i in range(n)
        )
    return json.dumps([
        {"id": f"{tag}{i}", "type": "article-journal", "title": f"Result {i}",
         "issued": {"date-parts": [[2027, 3]]}, "author": [{"given": "Jane", "family": "Doe"}],
         "DOI": f"10.5555/{tag}.{i}"}
        for i in range(n)
    ])  # fmt: skip


def expected_results(rows: list[tuple[str, str, str, str]]) -> dict[str, dict[str, dict]]:
    """{grouping: {group: {kind: count}}} from (PI country, kind, DOI, number) rows,
    counted apart from the product: the reference data's groups of the country, each
    DOI or patent number once per group, a result without either each time."""
    from opencall.reference.loader import countries

    ref = countries()
    seen: dict[tuple[str, str, str], set[str]] = {}
    bare: dict[tuple[str, str, str], int] = {}
    for iso3, kind, doi, number in rows:
        c = ref[iso3]
        income = c.income_group or "unknown"
        groups = {"income_group": income, "un_region": c.un_region or "unknown",
                  "ldc": "LDC" if c.ldc else "non-LDC"}  # fmt: skip
        for by, g in groups.items():
            for group in (g, "all"):
                key = (by, group, kind)
                ident = doi or number
                if ident:
                    seen.setdefault(key, set()).add(ident)
                else:
                    bare[key] = bare.get(key, 0) + 1
    out: dict[str, dict[str, dict]] = {}
    for key in set(seen) | set(bare):
        by, group, kind = key
        n = len(seen.get(key, ())) + bare.get(key, 0)
        out.setdefault(by, {}).setdefault(group, {})[kind] = n
    return out


def check_results(engine: Any, slug: str, report: dict[str, Any]) -> dict[str, Any]:
    """The report's results by kind (every grouping and group) against
    :func:`expected_results` over the call's rows; raises on the first difference."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(TeamMember.country_iso3, ResearchOutput.kind, ResearchOutput.doi,
                   ResearchOutput.number)
            .join(Proposal, Proposal.id == ResearchOutput.proposal_id)
            .join(Call, Call.id == Proposal.call_id)
            .join(TeamMember, (TeamMember.proposal_id == Proposal.id) & (TeamMember.role == "pi"))
            .where(Call.slug == slug)
        ).all()  # fmt: skip
    want = expected_results([tuple(r) for r in rows])
    names = {"publication": "publications", "dataset": "datasets", "software": "software",
             "patent": "patents"}  # fmt: skip
    cells = 0
    for by, groups in report["after_award"]["results"].items():
        for row in groups:
            for kind, name in names.items():
                expect = want.get(by, {}).get(row["group"], {}).get(kind, 0)
                assert row[name] == expect, (by, row["group"], name, row[name], expect)
                cells += 1
    return {"cells_checked": cells, "results": len(rows)}


def first_access_step(engine: Any, slug: str) -> dict[str, Any]:
    """``after_award_data.first_access`` over the facility's cycles, alone."""
    from sqlalchemy.orm import Session

    from opencall.outcomes import after_award_data

    with Session(engine) as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        got = after_award_data.first_access(s, after_award_data.facility_cycles(s, call))
    return {"awards": sum(len(v) for v in got.values()),
            "first_time": sum(pi for v in got.values() for pi, _i in v.values())}  # fmt: skip


def old_record_stages(
    session: Any, call_ids: Any, proposal_ids: Any = None
) -> dict[int, tuple[bool, bool]]:
    """The stages as they were read before outscale14: every record's kind and JSON,
    ``domain.proposal_stages`` of each award's records."""
    from collections import defaultdict

    from opencall.results import domain as rd

    recs: dict[int, list[tuple[str, Any]]] = defaultdict(list)
    stmt = select(PostAwardRecord.proposal_id, PostAwardRecord.kind, PostAwardRecord.data).where(
        PostAwardRecord.call_id.in_(call_ids)
    )
    if proposal_ids is not None:
        stmt = stmt.where(PostAwardRecord.proposal_id.in_(proposal_ids))
    for pid, kind, data in session.execute(stmt.order_by(PostAwardRecord.id)):
        recs[pid].append((kind, data))
    out = {}
    for pid, mine in recs.items():
        st = rd.proposal_stages(mine, 0)
        out[pid] = (st["used"], st["completed"])
    return out


def compare(step: Callable[..., Any], get: Callable[..., Any], engine: Any, slug: str) -> None:
    """The public after-award page's first view and the uncached report, by the old code
    path (``old_record_stages``; the public page reading every application as the
    report does) and the new one, on the same data, twice in turn; each view starts
    with the read caches empty and the page's stored releases deleted, but the public
    page's second view, which keeps them (as when a record changed after a view)."""
    from opencall.outcomes import queries as oq
    from opencall.outcomes.models import PublicRelease
    from opencall.results import queries as resq

    new_stages, new_leads = resq.record_stages, oq.lead_records_by_call

    def fresh(releases: bool = False) -> None:
        oq.PUBLIC_AFTER_AWARD.clear()
        oq.REPORTS.clear()
        if not releases:
            with engine.begin() as conn:
                conn.execute(PublicRelease.__table__.delete())

    def path(old: bool) -> None:
        resq.record_stages = old_record_stages if old else new_stages  # type: ignore[assignment]
        oq.lead_records_by_call = oq.applicant_records_by_call if old else new_leads  # type: ignore[assignment]

    try:
        for round_ in (1, 2):
            for old in (True, False):
                name = "old" if old else "new"
                path(old)
                fresh()
                step(f"public after-award page, first view, {name} path (round {round_})",
                     get(f"/calls/{slug}/after-award"))  # fmt: skip
                fresh(releases=True)  # a record changed: each cycle's release kept
                step(f"public after-award page, computed again, releases kept, {name} path "
                     f"(round {round_})", get(f"/calls/{slug}/after-award"))  # fmt: skip
                fresh()
                step(f"report page, uncached, {name} path (round {round_})",
                     get(f"/manage/calls/{slug}/report"))  # fmt: skip
    finally:
        path(False)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--database-url", default="")
    ap.add_argument("--cycles", type=int, default=10)
    ap.add_argument("--awards", type=int, default=5000)
    ap.add_argument("--records", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--proposals", type=int, default=0, help="0: one per award")
    ap.add_argument("--reviews", type=int, default=0, help="submitted reviews per proposal")
    ap.add_argument("--outputs", type=int, default=1, help="results per award (1: 80 %% have one)")
    ap.add_argument("--no-income", action="store_true", help="PIs also from COK and ESH")
    ap.add_argument("--patents", action="store_true", help="one result in five a patent")
    ap.add_argument(
        "--check",
        action="store_true",
        help="the last report's results by kind against a count of the rows",
    )
    ap.add_argument(
        "--compare",
        action="store_true",
        help="only the public page and the uncached report, by the code before outscale14 "
        "(every record's JSON, every application read) and as shipped, twice in turn",
    )
    ap.add_argument("--skip-imports", action="store_true")
    ap.add_argument("--call-import", action="store_true", help="the call-wide imports anyway")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench_outcomes_"))
    url = args.database_url or f"sqlite:///{tmp / 'outcomes.sqlite3'}"
    rows: list[dict[str, Any]] = []
    counter = {"n": 0}

    def step(name: str, fn: Callable[[], Any]) -> Any:
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        n0 = counter["n"]
        t0 = time.perf_counter()
        got = fn()
        wall = time.perf_counter() - t0
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        row = {
            "step": name,
            "wall_s": round(wall, 2),
            "cpu_s": round(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 2),
            "statements": counter["n"] - n0,
            "peak_mib": round(r1.ru_maxrss / 1024),
            **({"info": got} if isinstance(got, dict) else {}),
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
        return got

    world = step(
        "bulk build",
        lambda: build(
            url,
            args.cycles,
            args.awards,
            args.records,
            args.seed,
            proposals=args.proposals,
            reviews=args.reviews,
            outputs=args.outputs,
            countries=COUNTRIES + NO_INCOME if args.no_income else COUNTRIES,
            patents=args.patents,
        ),
    )
    settings = Settings(
        database_url=url, secret_key="bench", base_url="http://testserver", secure_cookies=False,
        mail_backend="file", mail_dir=tmp / "mail", upload_dir=tmp / "uploads",
        max_upload_bytes=4 * 2**20,
    )  # fmt: skip
    app = create_app(settings)
    event.listen(
        app.state.engine,
        "before_cursor_execute",
        lambda *a: counter.__setitem__("n", counter["n"] + 1),
    )
    c = TestClient(app)
    tok = CSRF.search(c.get("/login").text)
    assert tok
    r = c.post("/login", data={"csrf_token": tok.group(1), "email": OFFICE, "password": PASSWORD})
    assert r.status_code in (200, 303) and "My proposals" in r.text, r.text[:500]
    with make_sessionmaker(app.state.engine)() as s:
        u = s.scalars(select(User).where(User.email == OFFICE)).one()
        token = people_services.create_api_token(s, u, "bench")[1]
        s.commit()
        last = world["slugs"][-1]
        call_id = s.scalar(select(Call.id).where(Call.slug == last))
        pid = s.scalar(select(Proposal.id).where(Proposal.call_id == call_id).order_by(Proposal.id))
    h = {"Authorization": f"Bearer {token}"}

    def get(path: str, **kw: Any) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            r = c.get(path, **kw)
            assert r.status_code == 200, (path, r.status_code, r.text[:300])
            return {"bytes": len(r.content)}

        return run

    if args.compare:
        compare(step, get, app.state.engine, last)
        app.state.engine.dispose()
        return
    step("award page /awards/{id}", get(f"/awards/{pid}"))
    step("API award /api/v1/awards/{id}", get(f"/api/v1/awards/{pid}", headers=h))
    step("overview page (100 of 500)", get(f"/manage/calls/{last}/postaward"))
    step("overview CSV (500)", get(f"/manage/calls/{last}/postaward?format=csv"))
    step("API /calls/{slug}/postaward (500)", get(f"/api/v1/calls/{last}/postaward", headers=h))
    step("public after-award page", get(f"/calls/{last}/after-award"))
    step("report page, uncached (10 cycles' trend)", get(f"/manage/calls/{last}/report"))
    step("report page, cached", get(f"/manage/calls/{last}/report"))
    step("report JSON, cached", get(f"/manage/calls/{last}/report.json"))
    step("report CSV, cached", get(f"/manage/calls/{last}/report.csv"))
    step("report PDF, cached data", get(f"/manage/calls/{last}/report.pdf"))
    step("first and repeat access, every cycle's awards (one query)",
         lambda: first_access_step(app.state.engine, last))  # fmt: skip

    def records_csv(n: int, bad: int) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            year = last.split("-")[-1]
            lines = ["award,kind,sample,mass_mg,shipped_on,received_on"]
            for i in range(n):
                mass = "-1" if i < bad else str(1 + i % 50)
                lines.append(f"GB{year}-{i % 100:04d},loan,Accession {i},{mass},"
                             f"{year}-06-01,{year}-06-09")  # fmt: skip
            r = c.post(f"/api/v1/calls/{last}/records/import", headers=h,
                       json={"content": "\n".join(lines) + "\n"})  # fmt: skip
            return {"status": r.status_code, "rows": n,
                    "said": str(r.json().get("detail") or r.json())[:160]}  # fmt: skip

        return run

    step("records CSV import, 2,000 rows, 3 bad (refused)", records_csv(2000, 3))
    step("records CSV import, 2,000 rows (stored)", records_csv(2000, 0))
    if args.check:
        step("check: results by kind and group against the rows", lambda: check_results(
            app.state.engine, last, c.get(f"/manage/calls/{last}/report.json").json()))  # fmt: skip

    def imp(fmt: str, n: int) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            content = entries(fmt, n, f"{fmt[:3]}{n}x")
            r = c.post(f"/api/v1/awards/{pid}/outputs/import", headers=h,
                       json={"format": fmt, "content": content})  # fmt: skip
            body = r.json()
            said = body.get("detail") if r.status_code != 201 else len(body["added"])
            return {"status": r.status_code, "kib": len(content) // 1024, "answer": said}

        return run

    def direct(fmt: str, n: int) -> Callable[[], dict[str, Any]]:
        """The service itself (the API's JSON body is at most 1 MiB, the page's upload 2 MiB)."""

        def run() -> dict[str, Any]:
            content = entries(fmt, n, f"{fmt[:3]}{n}d")
            with make_sessionmaker(app.state.engine)() as s:
                p = s.get(Proposal, pid)
                assert p is not None
                try:
                    new, _skipped = res.import_outputs(
                        s, p, f"x.{fmt}", content, fmt=fmt, actor_id=None
                    )
                    said: Any = len(new)
                except DomainError as exc:
                    said = exc.message
                s.rollback()
            return {"kib": len(content) // 1024, "answer": said}

        return run

    for fmt in () if args.skip_imports else ("bibtex", "ris", "csl-json"):
        step(f"import {fmt} 10,000 entries (service; over the limit)", direct(fmt, 10_000))
        step(f"import {fmt} 500 entries (API)", imp(fmt, 500))
    bad = entries("bibtex", 499, "bad") + "\n@article{late, title={No year}}\n"
    step("import bibtex, entry 500 bad", lambda: {
        "status": (r := c.post(f"/api/v1/awards/{pid}/outputs/import", headers=h,
                               json={"format": "bibtex", "content": bad})).status_code,
        "answer": r.json().get("detail"),
    })  # fmt: skip

    def call_file(n: int, bad: int = 0) -> str:
        """``n`` BibTeX entries for the last cycle's awards (each names its award's code),
        one in ten a paper of two awards (its DOI spelled as a doi.org address on one),
        the last ``bad`` without a year."""
        year = 2017 + args.cycles - 1
        out = []
        for i in range(n):
            code = f"GB{year}-{i % max(1, args.awards // args.cycles):04d}"
            doi = f"10.7777/call.{i - 1 if i % 10 == 1 else i}"
            doi = f"https://doi.org/{doi.upper()}" if i % 10 == 1 else doi
            yr = "n.d." if i >= n - bad else "2028"
            out.append(
                f"@article{{c{i},\n  title = {{Call result {i}}},\n  year = {{{yr}}},\n"
                f"  award = {{{code}}},\n  doi = {{{doi}}}\n}}"
            )
        return "\n".join(out)

    def call_import(n: int, bad: int = 0) -> Callable[[], dict[str, Any]]:
        def run() -> dict[str, Any]:
            content = call_file(n, bad)
            with make_sessionmaker(app.state.engine)() as s:
                call = s.scalars(select(Call).where(Call.slug == last)).one()
                office = s.scalars(select(User).where(User.email == OFFICE)).one()
                try:
                    new, skipped = res.import_call_outputs(s, call, office, "c.bib", content)
                    said: Any = {"added": len(new), "skipped": skipped}
                except DomainError as exc:
                    said = exc.message[:160]
                s.rollback()
            return {"kib": len(content) // 1024, "answer": said}

        return run

    if not args.skip_imports or args.call_import:
        step("call-wide import: 3,000 BibTeX entries (service)", call_import(3000))
        step("call-wide import: 3,000 entries, the last 3 bad", call_import(3000, bad=3))
        step("call-wide import: 20,001 entries (over the limit)", call_import(20_001))
    print(json.dumps({"database": app.state.engine.dialect.name, "pid": os.getpid()}))
    app.state.engine.dispose()


if __name__ == "__main__":
    main()
