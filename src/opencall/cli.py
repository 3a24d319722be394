"""The command line: ``opencall db|demo|serve|worker|calls|proposals|audit``.

Commands are wired explicitly here; each command is one unit of work.
"""

from __future__ import annotations

import datetime as dt
import json
import time
from collections.abc import Callable
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall import auditlog, migrate
from opencall.calls.models import Call
from opencall.db import make_engine, make_sessionmaker, unit_of_work
from opencall.errors import DomainError
from opencall.settings import Settings

console = Console()
app = typer.Typer(
    help="OpenCall: open, fair access to shared science facilities.", no_args_is_help=True
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo world.", no_args_is_help=True)
calls_app = typer.Typer(help="Inspect and move calls.", no_args_is_help=True)
proposals_app = typer.Typer(help="Inspect proposals.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(calls_app, name="calls")
app.add_typer(proposals_app, name="proposals")
app.add_typer(audit_app, name="audit")
review_app = typer.Typer(
    help="The review engine: conflicts, affinity, assignment, calibration.", no_args_is_help=True
)
app.add_typer(review_app, name="review")


class Ctx:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings.database_url, echo=settings.echo_sql)
        self.factory: sessionmaker[Session] = make_sessionmaker(self.engine)


@app.callback()
def _main(ctx: typer.Context) -> None:
    ctx.obj = Ctx(Settings())


def _fail(exc: DomainError) -> None:
    console.print(f"[red]Error:[/red] {exc.message}")
    raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply all migrations (creates the database when missing)."""
    c: Ctx = ctx.obj
    migrate.upgrade(c.engine)
    console.print(f"database at revision [bold]{migrate.current(c.engine)}[/bold]")


@db_app.command("check")
def db_check(ctx: typer.Context) -> None:
    """Fail when the models and the migrated schema differ."""
    c: Ctx = ctx.obj
    diffs = migrate.drift(c.engine)
    if diffs:
        for d in diffs:
            console.print(str(d))
        raise typer.Exit(1)
    console.print("models and migrations agree")


CONFERENCE_SCALE = 80.0  # the demo world x80: 20,000 FAST proposals, 12,000 reviewers


@demo_app.command("build")
def demo_build(
    ctx: typer.Context,
    seed: Annotated[int, typer.Option(help="Seed of the world.")] = 1,
    anchor: Annotated[str | None, typer.Option(help="The world's 'today' (YYYY-MM-DD).")] = None,
    if_empty: Annotated[
        bool, typer.Option("--if-empty", help="Do nothing when data exists.")
    ] = False,
    scale: Annotated[
        str,
        typer.Option(
            help="Scale the numbers of people and proposals: a factor, or 'conference' "
            f"(x{CONFERENCE_SCALE:g}: 20,000 FAST proposals, 12,000 reviewers)."
        ),
    ] = "1",
    cycles: Annotated[
        bool,
        typer.Option(
            "--cycles", help="Run the closed calls through the cycle (simulated reviews)."
        ),
    ] = False,
) -> None:
    """Build the demo world into the (migrated) database and print its counts."""
    from opencall.demo import world

    c: Ctx = ctx.obj
    migrate.upgrade(c.engine)
    with c.factory() as s:
        if not world.is_empty(s):
            if if_empty:
                console.print("database already holds data; demo not rebuilt")
                return
            console.print("[red]Error:[/red] the database is not empty")
            raise typer.Exit(2)
    anchor_date = dt.date.fromisoformat(anchor) if anchor else None
    try:
        factor = CONFERENCE_SCALE if scale == "conference" else float(scale)
        if not 0 < factor <= 1000:
            raise ValueError
    except ValueError:
        console.print("[red]Error:[/red] --scale is a factor in (0, 1000] or 'conference'")
        raise typer.Exit(2) from None
    t0 = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as bar:
        task = bar.add_task("building", total=400 * factor)

        def progress(label: str, n: int) -> None:
            if label == "proposals":
                bar.update(task, completed=n, description="proposals")
            else:
                bar.update(task, description=label)

        with unit_of_work(c.factory) as s:
            counts = world.build(s, seed=seed, anchor=anchor_date, scale=factor, progress=progress)
    table = Table(title=f"Demo world (seed {seed}) built in {time.perf_counter() - t0:.1f} s")
    table.add_column("what")
    table.add_column("count", justify="right")
    for k, v in [
        ("facilities", counts.facilities),
        ("calls", counts.calls),
        ("countries (reference data)", counts.countries),
        ("applicants", counts.applicants),
        ("applicant countries", counts.applicant_countries),
        ("proposals", counts.proposals),
        *[(f"  proposals in {code}", n) for code, n in counts.proposals_by_call.items()],
        ("reviewers", counts.reviewers),
    ]:
        table.add_row(k, str(v))
    console.print(table)
    if cycles:
        from opencall.calls.models import Call as CallModel
        from opencall.demo.cycle import run_cycle

        with unit_of_work(c.factory) as s:
            for cl in s.scalars(select(CallModel).where(CallModel.status == "closed")):
                run_cycle(s, cl, seed=seed)
                console.print(f"{cl.slug}: reviewed (simulated), allocated, scheduled, published")
    print_accounts(counts.accounts)


def print_accounts(accounts: dict[str, str]) -> None:
    t = Table(title="Demo accounts")
    t.add_column("role")
    t.add_column("e-mail / password")
    for k, v in accounts.items():
        t.add_row(k, v)
    console.print(t)


@app.command("serve")
def serve(
    ctx: typer.Context,
    host: str = "127.0.0.1",
    port: int = 8000,
) -> None:
    """Serve the web application."""
    import uvicorn

    from opencall.app import create_app

    c: Ctx = ctx.obj
    migrate.upgrade(c.engine)
    console.print(f"OpenCall on http://{host}:{port}  (database: {c.settings.database_url})")
    uvicorn.run(create_app(c.settings), host=host, port=port, log_level="info")


@app.command("worker")
def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option(help="Run queued jobs and exit.")] = False,
    poll: float = 2.0,
    concurrency: Annotated[
        int,
        typer.Option(
            "--concurrency",
            "-c",
            min=1,
            help="Worker processes claiming jobs from the same queue (SKIP LOCKED on PostgreSQL).",
        ),
    ] = 1,
) -> None:
    """Run queued jobs (mail, long computations); any number of workers may share one database."""
    from opencall import worker as worker_mod

    c: Ctx = ctx.obj
    c.engine.dispose()  # each worker process opens its own connections
    n = worker_mod.run(
        c.settings, concurrency=concurrency, once=once, poll=poll, report=console.print
    )
    if once:
        console.print(f"ran {n} job(s)")


@calls_app.command("list")
def calls_list(ctx: typer.Context) -> None:
    from opencall.calls.queries import list_calls
    from opencall.proposals.queries import proposals_of_call

    c: Ctx = ctx.obj
    with c.factory() as s:
        t = Table(title="Calls")
        for col in ("slug", "title", "facility", "status", "closes (UTC)", "proposals"):
            t.add_column(col)
        for call in list_calls(s):
            t.add_row(
                call.slug,
                call.title,
                call.facility.name,
                call.status,
                f"{call.closes_at:%Y-%m-%d %H:%M}",
                str(len(proposals_of_call(s, call.id))),
            )
        console.print(t)


@calls_app.command("show")
def calls_show(ctx: typer.Context, slug: str) -> None:
    from opencall.calls.queries import call_by_slug

    c: Ctx = ctx.obj
    with c.factory() as s:
        call = call_by_slug(s, slug)
        if call is None:
            console.print(f"[red]Error:[/red] no call {slug!r}")
            raise typer.Exit(2)
        console.print(f"[bold]{call.title}[/bold] ({call.code}, {call.status})")
        console.print(
            f"opens {call.opens_at:%Y-%m-%d %H:%M:%S} UTC, closes {call.closes_at:%Y-%m-%d %H:%M:%S} UTC"
        )
        console.print(f"anonymity: {call.anonymity}; policy: {json.dumps(call.allocation_policy)}")
        t = Table(title="Capacity offered")
        for col in ("pool", "amount", "unit"):
            t.add_column(col)
        for cp in call.pools:
            t.add_row(cp.pool.name, f"{cp.amount:g}", cp.pool.unit)
        console.print(t)


@calls_app.command("transition")
def calls_transition(
    ctx: typer.Context, slug: str, status: str, reason: Annotated[str, typer.Option()] = ""
) -> None:
    """Move a call to another status (closing also freezes its proposals)."""
    from opencall.calls.queries import call_by_slug
    from opencall.calls.services import transition_call
    from opencall.proposals.services import close_call

    c: Ctx = ctx.obj
    try:
        with unit_of_work(c.factory) as s:
            call = call_by_slug(s, slug)
            if call is None:
                console.print(f"[red]Error:[/red] no call {slug!r}")
                raise typer.Exit(2)
            if status == "closed":
                close_call(s, call, reason=reason)
            else:
                transition_call(s, call, status, reason=reason)
            console.print(f"{slug} is now {call.status}")
    except DomainError as exc:
        _fail(exc)


@proposals_app.command("list")
def proposals_list(ctx: typer.Context, call: str, status: str | None = None) -> None:
    from opencall.calls.queries import call_by_slug
    from opencall.proposals.queries import proposals_of_call

    c: Ctx = ctx.obj
    with c.factory() as s:
        cl = call_by_slug(s, call)
        if cl is None:
            console.print(f"[red]Error:[/red] no call {call!r}")
            raise typer.Exit(2)
        t = Table(title=f"Proposals of {cl.code}")
        for col in ("code", "title", "status", "requested", "team"):
            t.add_column(col)
        for p in proposals_of_call(s, cl.id, statuses=(status,) if status else None):
            t.add_row(
                p.code,
                p.title[:60],
                p.status,
                f"{sum(r.amount for r in p.requests):g}",
                str(len(p.members)),
            )
        console.print(t)


@proposals_app.command("show")
def proposals_show(ctx: typer.Context, code: str) -> None:
    from opencall.proposals.models import Proposal

    c: Ctx = ctx.obj
    with c.factory() as s:
        p = s.scalar(select(Proposal).where(Proposal.code == code))
        if p is None:
            console.print(f"[red]Error:[/red] no proposal {code!r}")
            raise typer.Exit(2)
        console.print(f"[bold]{p.code}[/bold] {p.title}  ({p.status})")
        console.print(p.abstract)
        for m in p.members:
            console.print(
                f"  {m.role}: {m.name}, {m.institution_name} ({m.country_iso3}) [{m.status}]"
            )
        for r in p.requests:
            console.print(f"  request {r.kind}: {r.amount:g}")


@audit_app.command("verify")
def audit_verify(ctx: typer.Context) -> None:
    """Recompute the hash chain; exit 1 when any event was altered or removed."""
    c: Ctx = ctx.obj
    with c.factory() as s:
        rep = auditlog.verify(s)
    if rep.ok:
        console.print(f"audit log intact: {rep.events} events")
        return
    for p in rep.problems:
        console.print(f"[red]{p}[/red]")
    raise typer.Exit(1)


@audit_app.command("export")
def audit_export(ctx: typer.Context, call_id: int | None = None) -> None:
    """Print the audit log as JSON lines."""
    c: Ctx = ctx.obj
    with c.factory() as s:
        stmt = select(auditlog.AuditEvent).order_by(auditlog.AuditEvent.id)
        if call_id is not None:
            stmt = stmt.where(auditlog.AuditEvent.call_id == call_id)
        for ev in s.scalars(stmt):
            print(
                json.dumps(
                    {
                        "id": ev.id,
                        "at": ev.at.isoformat(),
                        "actor_id": ev.actor_id,
                        "action": ev.action,
                        "entity": ev.entity,
                        "entity_id": ev.entity_id,
                        "call_id": ev.call_id,
                        "reason": ev.reason,
                        "data": ev.data,
                        "prev_hash": ev.prev_hash,
                        "hash": ev.hash,
                    }
                )
            )


def _load_call(s: Session, slug: str) -> Call:
    from opencall.calls.queries import call_by_slug

    call = call_by_slug(s, slug)
    if call is None:
        console.print(f"[red]Error:[/red] no call {slug!r}")
        raise typer.Exit(2)
    return call


def _step(
    ctx: typer.Context,
    slug: str,
    label: str,
    fn: Callable[[Session, Call, Callable[[int, str], None]], object],
) -> object:
    """Run one service step as a unit of work with a progress bar; clear errors, exit 2."""
    c: Ctx = ctx.obj
    try:
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        ) as bar:
            task = bar.add_task(label, total=100)

            def progress(pct: int, message: str) -> None:
                bar.update(task, completed=pct, description=f"{label}: {message}")

            with unit_of_work(c.factory) as s:
                return fn(s, _load_call(s, slug), progress)
    except DomainError as exc:
        _fail(exc)
    return None


def _print_run(run: object) -> None:
    from opencall.reviews.models import SolverRun

    assert isinstance(run, SolverRun)
    extra = f", objective {run.objective:.6g}" if run.objective is not None else ""
    gap = f", gap {run.gap:.3g}" if run.gap is not None else ""
    console.print(
        f"solver run {run.id} ({run.kind}): {run.status} in {run.wall_s:.2f} s{extra}{gap}"
    )
    for k, v in run.summary.items():
        if isinstance(v, dict) and len(v) > 8:
            v = f"{len(v)} entries"
        console.print(f"  {k}: {v}")


CallOpt = Annotated[str, typer.Option("--call", help="The call's slug.")]


@review_app.command("conflicts")
def review_conflicts(ctx: typer.Context, call: CallOpt) -> None:
    """Compute conflicts of interest (enforced everywhere)."""
    from opencall.reviews import services

    _print_run(
        _step(
            ctx,
            call,
            "conflicts",
            lambda s, c, p: (
                services.compute_conflicts(s, c),
                services.latest_run_or_fail(s, c, "conflicts"),
            )[1],
        )
    )


@review_app.command("affinity")
def review_affinity(ctx: typer.Context, call: CallOpt, method: str = "tfidf") -> None:
    """Score reviewer-proposal affinity from text (TF-IDF, or embeddings when installed)."""
    from opencall.reviews import services

    _print_run(
        _step(
            ctx,
            call,
            "affinity",
            lambda s, c, p: services.run_affinity(s, c, method=method, progress=p),
        )
    )


@review_app.command("assign")
def review_assign(
    ctx: typer.Context,
    call: CallOpt,
    seed: int = 0,
    objective: Annotated[str, typer.Option(help="total | fair")] = "total",
) -> None:
    """Assign reviewers with the exact optimiser (loads, conflicts, diversity)."""
    from opencall.reviews import services

    _print_run(
        _step(
            ctx,
            call,
            "assignment",
            lambda s, c, p: services.run_assignment(
                s, c, objective=objective, seed=seed, progress=p
            ),
        )
    )


@review_app.command("calibrate")
def review_calibrate(
    ctx: typer.Context, call: CallOpt, seed: int = 0, bootstrap: int = 200
) -> None:
    """Calibrate grades for reviewer leniency and scale; rank with uncertainty."""
    from opencall.reviews import services

    _print_run(
        _step(
            ctx,
            call,
            "calibration",
            lambda s, c, p: services.run_calibration(
                s, c, seed=seed, n_bootstrap=bootstrap, progress=p
            ),
        )
    )


@review_app.command("simulate")
def review_simulate(ctx: typer.Context, call: CallOpt, seed: int = 0) -> None:
    """DEMO ONLY: submit simulated reviews for every assignment of a call."""
    from opencall.demo.simulate import simulate_reviews

    n = _step(ctx, call, "simulated reviews", lambda s, c, p: simulate_reviews(s, c, seed=seed))
    console.print(f"{n} simulated reviews submitted")


@app.command("allocate")
def allocate(ctx: typer.Context, call: CallOpt, seed: int = 0) -> None:
    """Choose awards under the call's pools and policy (HiGHS), with explanations."""
    from opencall.allocation import services

    _print_run(
        _step(
            ctx,
            call,
            "allocation",
            lambda s, c, p: services.run_allocation(s, c, seed=seed, progress=p),
        )
    )


@app.command("schedule")
def schedule(
    ctx: typer.Context,
    call: CallOpt,
    seed: int = 0,
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD).")] = None,
    days: int = 120,
) -> None:
    """Turn awards into a timetable (telescope blocks, legs and dives, seats, shipments)."""
    from opencall.scheduling import services

    _print_run(
        _step(
            ctx,
            call,
            "scheduling",
            lambda s, c, p: services.run_schedule(
                s,
                c,
                start=dt.date.fromisoformat(start) if start else None,
                days=days,
                seed=seed,
                progress=p,
            ),
        )
    )


@app.command("week")
def week_view(
    ctx: typer.Context,
    call: CallOpt,
    monday: Annotated[str, typer.Option(help="First day of the week (YYYY-MM-DD).")],
) -> None:
    """Print the telescope schedule of one week (UTC)."""
    from opencall.scheduling import services

    c: Ctx = ctx.obj
    with c.factory() as s:
        cl = _load_call(s, call)
        day0 = dt.date.fromisoformat(monday)
        t = Table(title=f"{cl.code}: week of {day0} (UTC)")
        for col in ("start", "end", "h", "block"):
            t.add_column(col)
        for e in services.week(s, cl, day0):
            assert e.start is not None and e.end is not None
            t.add_row(f"{e.start:%a %m-%d %H:%M}", f"{e.end:%H:%M}", f"{e.amount:.2f}", e.label)
        console.print(t)


@app.command("transition")
def transition(ctx: typer.Context, call: CallOpt, status: str, reason: str = "") -> None:
    """Move a call to its next phase (logged)."""
    calls_transition(ctx, call, status, reason)


@app.command("release")
def release(ctx: typer.Context, call: CallOpt) -> None:
    """Release decisions to the applicants."""
    from opencall.allocation import services

    n = _step(ctx, call, "release", lambda s, c, p: services.release_decisions(s, c))
    console.print(f"{n} decisions released")


@app.command("remind")
def remind(
    ctx: typer.Context,
    call: CallOpt,
    within_days: Annotated[
        int, typer.Option(help="Remind when the review deadline is this close.")
    ] = 3,
) -> None:
    """Queue reminder e-mails for unsubmitted reviews before the review deadline."""
    from opencall import jobs
    from opencall.app import build_registry
    from opencall.reviews.views import queue_reminders

    c: Ctx = ctx.obj
    n = _step(
        ctx,
        call,
        "reminders",
        lambda s, cl, p: queue_reminders(s, cl, c.settings.base_url, within_days=within_days),
    )
    console.print(f"{n} reminder(s) queued")
    if c.settings.inline_jobs:
        jobs.run_pending(c.factory, build_registry(c.settings))


@app.command("report")
def report_cmd(
    ctx: typer.Context,
    call: CallOpt,
    fmt: Annotated[str, typer.Option("--format", help="json | csv | pdf")] = "json",
    out: Annotated[str | None, typer.Option(help="Write to this file (default: stdout).")] = None,
) -> None:
    """Who benefits: the call's outcomes report by country group."""
    from opencall.outcomes import queries as oq

    if fmt not in ("json", "csv", "pdf"):
        console.print("[red]Error:[/red] --format must be json, csv or pdf")
        raise typer.Exit(2)
    if fmt == "pdf" and not out:
        console.print("[red]Error:[/red] a PDF needs --out FILE")
        raise typer.Exit(2)
    c: Ctx = ctx.obj
    with c.factory() as s:
        data = oq.report(s, _load_call(s, call))
    if fmt == "pdf":
        payload: bytes | str = oq.report_pdf(data)
    else:
        payload = oq.report_json(data) if fmt == "json" else oq.report_csv(data)
    if out:
        from pathlib import Path

        p = Path(out)
        if isinstance(payload, bytes):
            p.write_bytes(payload)
        else:
            p.write_text(payload, encoding="utf-8")
        console.print(f"report written to {p}")
    else:
        print(payload)


@demo_app.command("cycle")
def demo_cycle(ctx: typer.Context, call: CallOpt, seed: int = 0, days: int = 120) -> None:
    """Run a demo call through the whole cycle with SIMULATED reviews (for demonstration)."""
    from opencall.demo.cycle import run_cycle

    _step(ctx, call, "cycle", lambda s, c, p: run_cycle(s, c, seed=seed, days=days, progress=p))
    console.print(f"{call}: reviewed, allocated, scheduled and published (reviews were simulated)")


def main() -> None:
    app()
