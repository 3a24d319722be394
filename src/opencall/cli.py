"""The command line: ``opencall db|demo|serve|worker|calls|proposals|audit``.

Commands are wired explicitly here; each command is one unit of work.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sys
import time
from collections.abc import Callable
from typing import Annotated, Any, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session, sessionmaker
from typer.core import TyperGroup

from opencall import auditlog, migrate
from opencall.calls.cli import providers_app, roles_app
from opencall.calls.models import Call
from opencall.db import make_engine, make_sessionmaker, unit_of_work, utc_today, utcnow
from opencall.errors import DomainError
from opencall.facilities.domain import unit_label
from opencall.inputs import plain_number
from opencall.people.cli import admin_app
from opencall.settings import (
    Settings,
    hidden_password,
    misspelt_settings,
    production_problems,
)

# soft_wrap: a message is one line off a terminal too (a journal, a script, grep);
# rich cut every line at 80 columns there, paths and addresses included (trialop18)
console = Console(soft_wrap=True)


class _Commands(TyperGroup):
    """The top command group: a database that cannot be reached, or that `db upgrade`
    has not made (or brought up to this code) yet, is one clear line."""

    def invoke(self, ctx: Any) -> Any:  # typer's own click Context
        # the command named below this group, found before anything runs: the callback
        # refuses a database behind the code for it (``_main``)
        ctx.meta[_NEEDS_HEAD] = _needs_head(self, ctx, [*ctx._protected_args, *ctx.args])
        try:
            return super().invoke(ctx)
        except DBAPIError as exc:
            c = ctx.obj
            if not isinstance(c, Ctx):
                raise
            if exc.statement is not None:
                # a statement failed: a missing table of a database not upgraded is
                # said as such; anything else is a real error (`db` and `restore`
                # work on databases below head on purpose)
                if ctx.invoked_subcommand not in ("db", "restore"):
                    _refuse_schema_behind(c)
                raise
            # no statement: the connection itself failed (refused, unknown host or
            # database, bad password, unreadable SQLite file)
            reason = " ".join(str(exc.orig).split())
            _fail(
                f"cannot connect to the database {hidden_password(c.settings.database_url)} "
                f"(OPENCALL_DATABASE_URL): {reason}"
            )


_NEEDS_HEAD = "opencall.needs_head"
# The commands that work on a database below the code's revision on purpose (they
# migrate it, step it back, compare it, copy it) or never open it; a group's name covers
# its commands. Every other command refuses such a database before it does anything.
_ANY_REVISION = ("db", "backup", "restore", "serve", "demo build", "mail-test")


def _needs_head(group: TyperGroup, ctx: Any, args: list[str]) -> bool:
    """Whether ``args`` name a command that needs the database at the code's revision
    (not a group's help, nor a command's ``--help``: those need no database)."""
    names: list[str] = []
    cmd: Any = group
    while isinstance(cmd, TyperGroup) and args:
        cmd = cmd.get_command(ctx, args[0])
        if cmd is None:
            return False  # click says the command is unknown
        names.append(args.pop(0))
    if isinstance(cmd, TyperGroup) or any(a in ctx.help_option_names for a in args):
        return False
    path = " ".join(names)
    return not any(path == e or path.startswith(e + " ") for e in _ANY_REVISION)


app = typer.Typer(
    cls=_Commands,
    help="OpenCall: open, fair access to shared science facilities.",
    no_args_is_help=True,
)
db_app = typer.Typer(help="Database migrations.", no_args_is_help=True)
demo_app = typer.Typer(help="The demo world.", no_args_is_help=True)
calls_app = typer.Typer(help="Inspect and move calls.", no_args_is_help=True)
proposals_app = typer.Typer(help="Inspect proposals.", no_args_is_help=True)
audit_app = typer.Typer(help="The audit log.", no_args_is_help=True)
storage_app = typer.Typer(help="The uploaded files' storage.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(demo_app, name="demo")
app.add_typer(calls_app, name="calls")
app.add_typer(proposals_app, name="proposals")
app.add_typer(storage_app, name="storage")
app.add_typer(audit_app, name="audit")
review_app = typer.Typer(
    help="The review engine: conflicts, affinity, assignment, calibration.", no_args_is_help=True
)
app.add_typer(review_app, name="review")
app.add_typer(admin_app, name="admin")
app.add_typer(providers_app, name="providers")
app.add_typer(roles_app, name="roles")


class Ctx:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(
            settings.database_url,
            echo=settings.echo_sql,
            connect_timeout_s=settings.db_connect_timeout_s,
        )
        self.factory: sessionmaker[Session] = make_sessionmaker(
            self.engine, audit_key=settings.audit_key
        )


@app.callback()
def _main(ctx: typer.Context) -> None:
    from opencall import logging_setup

    try:
        logging_setup.configure()  # refuses an unknown OPENCALL_LOG_LEVEL or _FORMAT
    except ValueError as exc:
        _fail(str(exc))
    misspelt = misspelt_settings(os.environ)
    if misspelt:
        _fail("; ".join(misspelt))
    try:
        settings = Settings()
    except ValidationError as exc:
        _fail(_setting_errors(exc))
    try:
        ctx.obj = Ctx(settings)
    except OSError as exc:  # a SQLite file's folder is made here
        _fail(
            f"cannot create the database's directory for {settings.database_url} "
            f"(OPENCALL_DATABASE_URL): {exc.strerror or exc}"
        )
    if ctx.meta.get(_NEEDS_HEAD):
        _refuse_schema_behind(ctx.obj, up_front=True)


def _refuse_schema_behind(c: Ctx, *, up_front: bool = False) -> None:
    """Fail with one line when the database is not at the code's migration revision (one
    read of alembic_version). Up front, a database that cannot be read is said by
    ``_Commands``; after a failed statement, that statement's error stands."""
    try:
        with c.engine.connect() as conn:
            revision = migrate.current_on(conn)
    except DBAPIError:
        if up_front:
            raise
        return
    head = migrate.head()
    if revision == head:
        return
    _fail(_schema_behind(c, revision))


def _schema_behind(c: Ctx, revision: str | None) -> str:
    """Where a database not at the code's revision stands and what to do, in words (no
    password)."""
    where = f"the database {hidden_password(c.settings.database_url)} (OPENCALL_DATABASE_URL)"
    if revision is None:
        return f"{where} has no OpenCall schema yet: run `opencall db upgrade` first"
    head = migrate.head()
    if not migrate.knows(revision):
        return (
            f"{where} is at revision {revision}, which this code does not know (a newer "
            f"OpenCall migrated it; this code's newest is {head}): run that newer OpenCall"
        )
    return (
        f"{where} is at revision {revision} and this code needs {head}: "
        "run `opencall db upgrade` first"
    )


def _setting_errors(exc: ValidationError) -> str:
    """Each wrong setting as its environment variable and what is wrong (never its value:
    a database URL carries a password)."""
    lines = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        if not err["loc"]:  # a rule over several settings: its message names them
            lines.append(msg)
            continue
        name = "OPENCALL_" + "_".join(str(part) for part in err["loc"]).upper()
        lines.append(f"{name}: {msg}")
    return "; ".join(lines)


def _refuse_unsafe_production(settings: Settings) -> None:
    """OPENCALL_ENV=production without its settings: say what is missing, start nothing."""
    problems = production_problems(settings)
    if problems:
        _fail("OPENCALL_ENV=production refuses to start: " + "; ".join(problems))


def _refuse_unusable_storage(settings: Settings) -> None:
    """An attachment store that cannot be written (a read-only or misnamed upload
    directory, a missing or unreachable bucket), or a mail directory of the `file`
    backend that cannot, stops `serve` and `worker` with one line,
    before the first applicant's upload fails on it (install20)."""
    from opencall.storage import unusable, unwritable_dir

    problem = unusable(settings)
    if problem:
        _fail(problem)
    if settings.mail_backend == "file":  # every message is written there (the default)
        problem = unwritable_dir(settings.mail_dir)
        if problem:
            _fail(f"cannot write mail to {settings.mail_dir} (OPENCALL_MAIL_DIR): {problem}")


def _refuse_another_audit_key(c: Ctx) -> None:
    """An OPENCALL_AUDIT_KEY that is not the one the audit log was written with (a key
    generated again, a settings file not read) is refused, in any environment: every event
    written with it would fail `audit verify`. Run on a migrated database."""
    key = c.settings.audit_key
    if not key:
        return
    try:
        with c.factory() as s:
            event = auditlog.key_mismatch(s, key)
    except DBAPIError:  # no audit table yet: nothing written, nothing to continue
        return
    if event is not None:
        _fail(
            "OPENCALL_AUDIT_KEY is not the key the audit log was written with (event "
            f"{event} does not verify with it): give the key kept in the settings file (a "
            "new key cannot continue the log; see docs/security.md)"
        )


def _load_reference_data_if_empty(c: Ctx) -> None:
    """A database that has never had `db upgrade` (only `serve`'s migrations) has no
    countries: the registration form would offer none and refuse every one. Loaded here
    then; refreshing them stays `db upgrade`'s work."""
    from opencall.people.models import Country
    from opencall.people.services import load_countries

    with unit_of_work(c.factory) as s:
        if s.scalar(select(Country.iso3).limit(1)) is None:
            load_countries(s)


def _fail(problem: DomainError | str) -> NoReturn:
    """Say what went wrong (a service's refusal, or the command's own words) and exit 2."""
    message = problem.message if isinstance(problem, DomainError) else problem
    console.print(f"[red]Error:[/red] {message}")
    raise typer.Exit(2)


@db_app.command("upgrade")
def db_upgrade(ctx: typer.Context) -> None:
    """Apply all migrations (creates the database when missing) and load the
    shipped reference data (countries, income groups, regions, LDC status)."""
    from opencall.people.services import load_countries

    c: Ctx = ctx.obj
    with migrate.migration_lock(c.engine):  # one `db upgrade` or `serve` at a time
        before = migrate.current(c.engine)
        migrate.upgrade(c.engine, lock=False)
        with unit_of_work(c.factory) as s:
            n = load_countries(s)
    after = migrate.current(c.engine) or ""
    console.print(f"reference data: {n} countries")
    if before == after:
        console.print(f"database already at revision [bold]{after}[/bold]: no migration to apply")
        return
    done = f"({migrate.steps(before, after)} migrations applied)"
    if before is None:
        console.print(f"database created at revision [bold]{after}[/bold] {done}")
    else:
        console.print(f"database upgraded from revision {before} to [bold]{after}[/bold] {done}")


@db_app.command("downgrade")
def db_downgrade(
    ctx: typer.Context,
    revision: Annotated[
        str, typer.Argument(help="Target revision id, or 'previous' for one step back.")
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Step the schema back (take a backup first: a downgrade may drop data)."""
    c: Ctx = ctx.obj
    if not yes:
        typer.confirm(f"Downgrade the database to {revision}? Tables may be dropped", abort=True)
    migrate.downgrade(c.engine, "-1" if revision == "previous" else revision)
    console.print(f"database at revision [bold]{migrate.current(c.engine)}[/bold]")


@app.command("backup")
def backup_cmd(
    ctx: typer.Context,
    out: Annotated[
        str | None,
        typer.Option(help="Archive to write (default ./var/backups/opencall-<UTC>.tar.gz)."),
    ] = None,
    folder: Annotated[
        str | None,
        typer.Option("--dir", help="Write opencall-<UTC>.tar.gz into this folder."),
    ] = None,
    keep: Annotated[
        int | None,
        typer.Option(
            help="Then keep only the N newest opencall-<UTC>.tar.gz archives of the folder "
            "(a timer's backups; other files are never removed)."
        ),
    ] = None,
) -> None:
    """Back up the database (SQLite online backup / pg_dump) and every uploaded file (of
    the upload directory, or of the S3 bucket)."""
    from pathlib import Path

    from opencall import backup
    from opencall.storage import StorageError, storage_for

    c: Ctx = ctx.obj
    if out and folder:
        _fail("give --out (an archive) or --dir (a folder), not both")
    if keep is not None and keep < 1:
        _fail("--keep must be at least 1 (the backup just written)")
    name = backup.archive_name(dt.datetime.now(dt.UTC))
    target = Path(out) if out else Path(folder or "var/backups") / name
    try:
        summary = backup.backup(
            c.engine,
            storage_for(c.settings),
            target,
            connect_timeout_s=c.settings.db_connect_timeout_s,
        )
    except (backup.BackupError, StorageError) as exc:
        _fail(str(exc))
    console.print(
        f"backup written to [bold]{summary.archive}[/bold]: {summary.backend} database at "
        f"revision {summary.revision}, {summary.files} uploaded file(s), "
        f"{summary.archive.stat().st_size} bytes"
    )
    if keep is not None:  # only once the new archive is whole: a failed backup removes none
        try:
            gone = backup.prune(summary.archive.parent, keep=keep, written=summary.archive)
        except (backup.BackupError, OSError) as exc:
            _fail(f"the backup was written, but the old ones were not removed: {exc}")
        console.print(f"{len(gone)} older backup(s) removed, {keep} kept at most")


@app.command("restore")
def restore_cmd(
    ctx: typer.Context,
    archive: Annotated[str, typer.Argument(help="An archive written by `opencall backup`.")],
) -> None:
    """Restore a backup into an empty database (OPENCALL_DATABASE_URL) and the storage
    (OPENCALL_UPLOAD_DIR, or the S3 bucket of OPENCALL_STORAGE_BACKEND=s3)."""
    from pathlib import Path

    from opencall import backup
    from opencall.storage import StorageError, storage_for

    c: Ctx = ctx.obj
    try:
        summary = backup.restore(
            c.engine,
            storage_for(c.settings),
            Path(archive),
            connect_timeout_s=c.settings.db_connect_timeout_s,
        )
    except (backup.BackupError, StorageError) as exc:
        _fail(str(exc))
    console.print(
        f"restored {summary.backend} database at revision {summary.revision} and "
        f"{summary.files} uploaded file(s) from [bold]{summary.archive}[/bold]"
    )


@db_app.command("check")
def db_check(ctx: typer.Context) -> None:
    """Fail when the models and the migrated schema differ (a database not at the code's
    revision is said in one sentence: run `opencall db upgrade`)."""
    c: Ctx = ctx.obj
    with c.engine.connect() as conn:
        revision = migrate.current_on(conn)
    if revision != migrate.head():
        console.print(_schema_behind(c, revision))
        raise typer.Exit(1)
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
        bool,
        typer.Option(
            "--if-empty",
            help="Do nothing when the site has any account, provider, facility or call.",
        ),
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
            _fail("the database is not empty")
    anchor_date = dt.date.fromisoformat(anchor) if anchor else None
    try:
        factor = CONFERENCE_SCALE if scale == "conference" else float(scale)
        if not 0 < factor <= 1000:
            raise ValueError
    except ValueError:
        _fail("--scale is a factor in (0, 1000] or 'conference'")
    t0 = time.perf_counter()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.completed:.0f}/{task.total:.0f}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not console.is_terminal,  # off a terminal (a timer, a pipe): no blank line
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
        from opencall.demo.past import build_past_cycles

        with unit_of_work(c.factory) as s:
            for cl in build_past_cycles(s, seed=seed, today=anchor_date):
                console.print(
                    f"{cl.slug}: an earlier cycle, archived, with post-award records (simulated)"
                )
            from opencall.demo.postaward import example_accounts

            for role, email in example_accounts(s).items():
                console.print(f"  {role}: {email}")
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
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Server processes (uvicorn workers).")
    ] = 1,
    concurrency: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=1000,
            help="Requests each process works on at once (OPENCALL_CONCURRENCY); "
            "more wait in line. Sizes the thread pool and the database pool.",
        ),
    ] = None,
    limit_concurrency: Annotated[
        int | None,
        typer.Option(
            min=1, help="Refuse (503) connections beyond this many per process (uvicorn)."
        ),
    ] = None,
    keep_alive: Annotated[
        int,
        typer.Option(
            min=1,
            help="Seconds an idle kept-alive connection stays open. Longer than the idle "
            "time of the clients and proxies in front (60 s in nginx, 5 s in httpx), so "
            "that the client, not the server, closes it: else a request sent as the "
            "server closes is lost ('Server disconnected without sending a response').",
        ),
    ] = 75,
    forwarded_allow_ips: Annotated[
        str | None,
        typer.Option(
            help="Addresses of the reverse proxies whose X-Forwarded-For and "
            "X-Forwarded-Proto are believed (comma-separated; '*' for any). Default: "
            "uvicorn's FORWARDED_ALLOW_IPS, else this machine (127.0.0.1, ::1).",
        ),
    ] = None,
    worker_start_timeout: Annotated[
        int,
        typer.Option(
            min=5,
            max=600,
            help="Seconds a server process may take to answer uvicorn's health check "
            "before it is taken for hung, killed and started again (uvicorn's own default, "
            "5 s, killed every new process on a busy machine).",
        ),
    ] = 60,
) -> None:
    """Serve the web application (run `opencall worker` beside it for the jobs)."""
    import os

    import uvicorn

    c: Ctx = ctx.obj
    _refuse_unsafe_production(c.settings)
    _refuse_unusable_storage(c.settings)
    if concurrency is not None:
        # the worker processes build their settings from the environment
        os.environ["OPENCALL_CONCURRENCY"] = str(concurrency)
    with migrate.migration_lock(c.engine):
        migrate.upgrade(c.engine, lock=False)
        _load_reference_data_if_empty(c)
    _refuse_another_audit_key(c)
    c.engine.dispose()
    n = concurrency or c.settings.concurrency
    console.print(
        f"OpenCall on http://{host}:{port}  (database: {hidden_password(c.settings.database_url)}; "
        f"{workers} process(es) x {n} requests at once)"
    )
    uvicorn.run(
        "opencall.app:app_from_environment",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        timeout_worker_healthcheck=worker_start_timeout,
        limit_concurrency=limit_concurrency,
        timeout_keep_alive=keep_alive,
        proxy_headers=True,
        forwarded_allow_ips=forwarded_allow_ips,
        # uvicorn's lines go through OpenCall's logging (OPENCALL_LOG_LEVEL and _FORMAT);
        # each request is logged once, by opencall.web.request (INFO)
        log_config=None,
        log_level=None,
        access_log=False,
    )


def worker_start_line(database_url: str, concurrency: int, poll: float) -> str:
    """What `opencall worker` says when it starts (the database's password hidden)."""
    return (
        f"OpenCall worker: {concurrency} process(es) on the database "
        f"{hidden_password(database_url)}, waiting for jobs (looks every {poll:g} s)"
    )


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
    _refuse_unsafe_production(c.settings)
    _refuse_unusable_storage(c.settings)
    # a database behind the code was refused up front (serve migrates; the worker never does)
    _refuse_another_audit_key(c)
    c.engine.dispose()  # each worker process opens its own connections
    if not once:  # the operator sees it started, and on which database
        console.print(
            worker_start_line(c.settings.database_url, concurrency, poll),
            soft_wrap=True,
            markup=False,
            highlight=False,
        )
    n = worker_mod.run(
        c.settings, concurrency=concurrency, once=once, poll=poll, report=console.print
    )
    if once:
        console.print(f"ran {n} job(s)")


@app.command("mail-test")
def mail_test(
    ctx: typer.Context,
    to: Annotated[str, typer.Option(help="The address to send the test message to.")],
) -> None:
    """Send one message now, through the configured mail settings (OPENCALL_MAIL_BACKEND,
    OPENCALL_SMTP_*), and say whether the relay took it: what went wrong, in one line."""
    import smtplib
    import ssl

    from opencall.web import mail

    settings = ctx.obj.settings
    msg = mail.build_message(
        settings,
        to,
        "OpenCall: test message",
        f"This message was sent by `opencall mail-test` from {settings.base_url}.\n",
    )
    try:
        mail.send(settings, msg)
    except (smtplib.SMTPException, ssl.SSLError, OSError) as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        _fail(
            f"the message was not sent ({settings.mail_backend} backend, "
            f"{settings.smtp_host}:{settings.smtp_port}, security "
            f"{settings.smtp_security}): {type(exc).__name__}: {reason}"
        )
    console.print(f"sent to {to} ({settings.mail_backend} backend)")


@calls_app.command("list")
def calls_list(ctx: typer.Context) -> None:
    """List every call: slug, facility, status, closing time (UTC), proposals."""
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
        _table(t, "No calls.")


@calls_app.command("show")
def calls_show(ctx: typer.Context, slug: str) -> None:
    """Show one call: status, dates (UTC), anonymity, policy and the capacity offered."""
    c: Ctx = ctx.obj
    with c.factory() as s:
        call = _load_call(s, slug)
        console.print(f"[bold]{call.title}[/bold] ({call.code}, {call.status})")
        console.print(
            f"opens {call.opens_at:%Y-%m-%d %H:%M:%S} UTC, closes {call.closes_at:%Y-%m-%d %H:%M:%S} UTC"
        )
        console.print(f"anonymity: {call.anonymity}; policy: {json.dumps(call.allocation_policy)}")
        t = Table(title="Capacity offered")
        for col in ("pool", "amount", "unit"):
            t.add_column(col)
        for cp in call.pools:
            t.add_row(
                cp.pool.name,
                plain_number(cp.amount),
                unit_label(cp.pool.unit, cp.pool.unit_labels, cp.amount, "en"),
            )
        console.print(t)


@calls_app.command("transition")
def calls_transition(
    ctx: typer.Context, slug: str, status: str, reason: Annotated[str, typer.Option()] = ""
) -> None:
    """Move a call to another status (closing also freezes its proposals)."""
    from opencall.calls.domain import CALL_STATES, check_call_transition
    from opencall.cycle.services import transition_call

    c: Ctx = ctx.obj
    try:
        if status not in CALL_STATES:  # said before the call is looked up
            check_call_transition("draft", status)
        with unit_of_work(c.factory) as s:
            call = _load_call(s, slug)
            transition_call(s, call, status, reason=reason)
            console.print(f"{slug} is now {call.status}")
    except DomainError as exc:
        _fail(exc)


@calls_app.command("import-results")
def calls_import_results(
    ctx: typer.Context,
    slug: str,
    path: Annotated[str, typer.Argument(help="A BibTeX, RIS or CSL-JSON file.")],
    as_user: Annotated[str, typer.Option("--as", help="The e-mail of who imports it.")],
    fmt: Annotated[str | None, typer.Option("--format", help="bibtex, ris or csl-json")] = None,
) -> None:
    """Import a results file for many awards of a call (each entry names its award's
    code), all or nothing, as the API's /calls/{slug}/outputs/import but for files over
    the API's 1 MiB body (up to 20,000 entries, 16 MiB)."""
    from opencall.results import services as results_services

    def run(s: Any, call: Any, user: Any, name: str, text: str) -> str:
        new, skipped = results_services.import_call_outputs(s, call, user, name, text, fmt=fmt)
        return f"{len(new)} result(s) imported, {skipped} already linked"

    _import_call_file(ctx, slug, path, as_user, run)


@calls_app.command("import-records")
def calls_import_records(
    ctx: typer.Context,
    slug: str,
    path: Annotated[str, typer.Argument(help="A CSV file: award, kind and the kind's fields.")],
    as_user: Annotated[str, typer.Option("--as", help="The e-mail of who imports it.")],
) -> None:
    """Import post-award records of many awards of a call from one CSV file (columns
    award, kind and the kind's fields), all or nothing, as the API's
    /calls/{slug}/records/import but for files over the API's 1 MiB body (up to 20,000
    rows, 8 MiB)."""
    from opencall.results import services as results_services

    def run(s: Any, call: Any, user: Any, name: str, text: str) -> str:
        new = results_services.import_call_records(s, call, user, name, text)
        return f"{len(new)} record(s) imported"

    _import_call_file(ctx, slug, path, as_user, run)


def _import_call_file(
    ctx: typer.Context, slug: str, path: str, as_user: str, run: Callable[..., str]
) -> None:
    """Read ``path`` (UTF-8) and ``run(session, call, user, file name, text)`` in one unit
    of work as the account ``as_user``; print what it says, or fail (exit 2) with the
    refusal, nothing stored."""
    from pathlib import Path

    from opencall.people.queries import user_by_email

    c: Ctx = ctx.obj
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        _fail(f"{path}: {exc}")
    try:
        with unit_of_work(c.factory) as s:
            call = _load_call(s, slug)
            user = user_by_email(s, as_user)
            if user is None:
                _fail(f"no account {as_user!r}")
            console.print(run(s, call, user, Path(path).name, text))
    except DomainError as exc:
        _fail(exc)


@calls_app.command("cut-batches")
def calls_cut_batches(
    ctx: typer.Context,
    call: Annotated[
        str | None, typer.Option(help="one continuous call (default: every open one)")
    ] = None,
) -> None:
    """Cut the review batches whose cut-offs have come, of one continuous call or of every
    open one (run it from cron, hourly say): what was submitted before each cut-off becomes
    a batch, a call closed for review at once; later proposals roll to the next."""
    from opencall.cycle import batches

    c: Ctx = ctx.obj
    try:
        with unit_of_work(c.factory) as s:
            if call is None:
                made = batches.cut_due(s)
            else:
                made = batches.cut(s, _load_call(s, call))
            for b in made:
                console.print(
                    f"{b.slug}: batch {b.batch_number}, cut-off {b.closes_at:%Y-%m-%d %H:%M} UTC"
                )
            console.print(f"{len(made)} batch(es) cut")
    except DomainError as exc:
        _fail(exc)


@proposals_app.command("list")
def proposals_list(ctx: typer.Context, call: str, status: str | None = None) -> None:
    """List a call's proposals (by the call's slug; --status to keep one status)."""
    from opencall.calls.queries import call_by_slug
    from opencall.proposals.queries import proposals_of_call

    c: Ctx = ctx.obj
    with c.factory() as s:
        cl = call_by_slug(s, call)
        if cl is None:
            _fail(f"no call {call!r}")
        t = Table(title=f"Proposals of {cl.code}")
        for col in ("code", "title", "status", "requested", "team"):
            t.add_column(col)
        for p in proposals_of_call(s, cl.id, statuses=(status,) if status else None):
            t.add_row(
                p.code,
                p.title[:60],
                p.status,
                _requested(s, p.requests),
                str(len(p.members)),
            )
        _table(t, f"No proposals{f' with status {status}' if status else ''} in {cl.code}.")


def _requested(s: Session, requests: Any) -> str:
    """What a proposal asks for, unit by unit ("80 g, 20 centimetres"): amounts in
    different units are never added up. A request on no pool is counted without a unit."""
    from opencall.facilities.models import CapacityPool

    totals: dict[tuple[str, str], float] = {}
    words: dict[tuple[str, str], Any] = {}
    for r in requests:
        pool = s.get(CapacityPool, r.pool_id) if r.pool_id is not None else None
        key = (pool.unit, json.dumps(pool.unit_labels, sort_keys=True)) if pool else ("", "")
        totals[key] = totals.get(key, 0.0) + r.amount
        words[key] = pool.unit_labels if pool else None
    return ", ".join(
        f"{plain_number(n)} {unit_label(k[0], words[k], n, 'en')}" if k[0] else plain_number(n)
        for k, n in totals.items()
    ) or plain_number(0)


@proposals_app.command("show")
def proposals_show(ctx: typer.Context, code: str) -> None:
    """Show one proposal by its code: title, status, abstract, team and requests."""
    from opencall.proposals.models import Proposal

    c: Ctx = ctx.obj
    with c.factory() as s:
        p = s.scalar(select(Proposal).where(Proposal.code == code))
        if p is None:
            _fail(f"no proposal {code!r}")
        console.print(f"[bold]{p.code}[/bold] {p.title}  ({p.status})")
        console.print(p.abstract)
        for m in p.members:
            console.print(
                f"  {m.role}: {m.name}, {m.institution_name} ({m.country_iso3}) [{m.status}]"
            )
        for r in p.requests:
            console.print(f"  request {r.kind}: {plain_number(r.amount)}")


@proposals_app.command("clean-pdfs")
def proposals_clean_pdfs(
    ctx: typer.Context,
    again: Annotated[
        bool,
        typer.Option(
            "--again",
            help="Make every reviewers' copy again from its original (after an upgrade whose "
            "rewrite removes more); a copy refused now is kept as it was.",
        ),
    ] = False,
) -> None:
    """Rewrite PDFs stored before uploads were cleaned (reviewers get no file until then)."""
    from opencall.proposals import services as prop_services
    from opencall.storage import storage_for

    c: Ctx = ctx.obj
    with unit_of_work(c.factory) as s:
        made, refused = prop_services.clean_stored_attachments(
            s,
            upload_dir=storage_for(c.settings),
            limits=prop_services.pdf_limits(c.settings),
            again=again,
        )
    console.print(f"{made} clean copies made; missing anonymity scans queued for the worker")
    kept = "its earlier copy is kept" if again else "reviewers get no file"
    for att_id, why in refused:
        console.print(f"[yellow]attachment {att_id} refused ({why}): {kept}[/yellow]")


@storage_app.command("sweep")
def storage_sweep(
    ctx: typer.Context,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Say what would be removed; remove nothing.")
    ] = False,
    grace_minutes: Annotated[
        int,
        typer.Option(
            help="Keep files written this recently (an upload whose row is not committed yet).",
        ),
    ] = 15,
) -> None:
    """Remove uploaded files no row refers to any more (replaced or removed PDFs), on the
    local or the S3 storage; files written in the last --grace-minutes are kept. Also
    removes the PDFs sent in pieces and left unfinished for OPENCALL_PARTIAL_UPLOAD_KEEP_HOURS
    (not in a dry run)."""
    from opencall.proposals import services as prop_services
    from opencall.storage import StorageError, storage_for

    if grace_minutes < 1:
        _fail("--grace-minutes must be at least 1 (an upload in progress must be kept)")
    c: Ctx = ctx.obj
    try:
        with c.factory() as s:
            out = prop_services.sweep_blobs(
                s,
                storage_for(c.settings),
                grace=dt.timedelta(minutes=grace_minutes),
                dry_run=dry_run,
            )
            partial = None
            if not dry_run:  # uploads in pieces left unfinished (trialapp23)
                partial = prop_services.sweep_partial_uploads(
                    s,
                    storage_for(c.settings),
                    keep=dt.timedelta(hours=c.settings.partial_upload_keep_hours),
                    grace=dt.timedelta(minutes=grace_minutes),
                )
                s.commit()
    except StorageError as exc:
        _fail(str(exc))
    if partial is not None:
        console.print(
            f"removed {partial.uploads} unfinished uploads not written to in "
            f"{c.settings.partial_upload_keep_hours} hours and {partial.chunks} of their pieces",
            highlight=False,
        )
    for key in out.removed:
        console.print(f"{'would remove' if dry_run else 'removed'} {key}", highlight=False)
    verb = "would remove" if dry_run else "removed"
    console.print(
        f"{verb} {len(out.removed)} files ({out.bytes_freed} bytes); kept {out.referred} "
        f"referred to and {out.recent} written in the last {grace_minutes} minutes",
        highlight=False,
    )


@proposals_app.command("remind")
def proposals_remind(
    ctx: typer.Context,
    now: Annotated[
        str | None, typer.Option(help="The moment to judge by, ISO 8601 (default: now).")
    ] = None,
) -> None:
    """Queue reminder e-mails to the PI of each draft of a call closing soon (at the
    OPENCALL_DRAFT_REMINDER_DAYS thresholds; each draft once per threshold)."""
    from opencall import jobs
    from opencall.proposals.notify import queue_draft_reminders
    from opencall.registry import build_registry

    c: Ctx = ctx.obj
    at = None
    if now:
        try:
            at = dt.datetime.fromisoformat(now)
        except ValueError:
            _fail(f"--now {now!r} is not an ISO 8601 moment")
        if at.tzinfo is None:
            _fail("--now needs a UTC offset (2027-03-01T12:00:00+00:00)")
    with unit_of_work(c.factory) as s:
        n = queue_draft_reminders(s, c.settings.base_url, c.settings.draft_reminder_days, now=at)
    _queued(n, "draft reminder")
    if c.settings.inline_jobs:
        jobs.run_pending(c.factory, build_registry(c.settings))


@audit_app.command("verify")
def audit_verify(
    ctx: typer.Context,
    checkpoint: Annotated[
        str | None,
        typer.Option(help="A checkpoint file (from `audit checkpoint`): detects lost events"),
    ] = None,
) -> None:
    """Recompute the hash chain (and the MACs when OPENCALL_AUDIT_KEY is set);
    exit 1 when any event was altered or removed."""
    c: Ctx = ctx.obj
    with c.factory() as s:
        rep = auditlog.verify(s, retired=_retired_keys(c))
        problems = list(rep.problems)
        if rep.another_key:  # one line, not one per event of the whole history (trialop18)
            problems = [
                f"every one of the {rep.mac_mismatches} keyed events fails its MAC and the "
                "hash chain is intact: OPENCALL_AUDIT_KEY is not the key the audit log was "
                "written with; give the key kept in the settings file (docs/security.md)"
            ]
        if checkpoint is not None:
            try:
                cp = json.loads(open(checkpoint, encoding="utf-8").read())
            except (OSError, ValueError) as exc:
                _fail(f"cannot read the checkpoint: {exc}")
            if not isinstance(cp, dict):
                _fail("the checkpoint is not a JSON object")
            problems += auditlog.verify_checkpoint(
                s, cp, c.settings.audit_key, retired=_retired_keys(c)
            )
    if not problems:
        keyed = "" if not c.settings.audit_key else f", MACs checked ({rep.unkeyed} unkeyed)"
        against = f", matches the checkpoint {checkpoint}" if checkpoint else ""
        console.print(f"audit log intact: {rep.events} events{keyed}{against}")
        if rep.unchecked:
            console.print(
                f"{rep.unchecked} events before a key rotation not MAC-checked: their key "
                "is retired and not given (OPENCALL_AUDIT_RETIRED_KEYS)"
            )
        return
    for p in problems:
        console.print(f"[red]{p}[/red]")
    raise typer.Exit(1)


def _retired_keys(c: Ctx) -> list[str]:
    return [k.strip() for k in c.settings.audit_retired_keys.split(",") if k.strip()]


def _new_audit_key() -> str:
    """The new key: asked twice, hidden, at a terminal; piped, its first line (a second
    line, if any, must repeat it), so that it never appears in a command line or a log."""
    if sys.stdin.isatty():
        return str(typer.prompt("New audit key", hide_input=True, confirmation_prompt=True))
    line, again = (sys.stdin.readline().strip() for _ in "12")
    if not line:
        _fail("no new key on the standard input (one line); nothing changed")
    if again and again != line:
        _fail("the two keys piped in do not match; nothing changed")
    return line


@audit_app.command("rotate-key")
def audit_rotate_key(ctx: typer.Context) -> None:
    """Hand the audit log on to a new OPENCALL_AUDIT_KEY (read from the standard input):
    one event, MACed with the current key, names the new key's fingerprint; the events
    after it are MACed with the new key. Stop `serve` and `worker` first, then start them
    with the new key (and the old one in OPENCALL_AUDIT_RETIRED_KEYS for `audit verify`)."""
    c: Ctx = ctx.obj
    old = c.settings.audit_key
    if not old:
        _fail("set OPENCALL_AUDIT_KEY to the current key: the rotation is MACed with it")
    new = _new_audit_key()
    if len(new) < 32:
        _fail("the new audit key must be at least 32 characters; nothing changed")
    if new == old:
        _fail("the new audit key is the same as the current key; nothing changed")
    with unit_of_work(c.factory) as s:
        if auditlog.key_mismatch(s, old) is not None:
            _fail(
                "OPENCALL_AUDIT_KEY is not the key the audit log was written with: nothing changed"
            )
        event = auditlog.rotate_key(s, new)
        s.flush()
        at = event.id
    console.print(
        f"audit key rotated at event {at}: give every process the new OPENCALL_AUDIT_KEY, "
        "and the old one in OPENCALL_AUDIT_RETIRED_KEYS to `audit verify`"
    )


@audit_app.command("checkpoint")
def audit_checkpoint(
    ctx: typer.Context,
    out: Annotated[
        str | None, typer.Option(help="Write the checkpoint to this file (default: print it)")
    ] = None,
) -> None:
    """A signed checkpoint of the log's head (head hash, count, time) to publish or keep
    outside the database; `audit verify --checkpoint FILE` checks the log against it."""
    c: Ctx = ctx.obj
    if not c.settings.audit_key:
        _fail("set OPENCALL_AUDIT_KEY: checkpoints are signed with it")
    with c.factory() as s:
        rep = auditlog.verify(s)
        if not rep.ok:
            for p in rep.problems:
                console.print(f"[red]{p}[/red]")
            console.print("[red]Error:[/red] the log does not verify; no checkpoint written")
            raise typer.Exit(1)
        cp = auditlog.checkpoint(s, c.settings.audit_key)
    text = json.dumps(cp, indent=2, sort_keys=True)
    if out:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text + "\n")
        console.print(f"checkpoint of {cp['count']} events written to {out}")
    else:
        print(text)


@app.command("revoke-sessions")
def revoke_sessions(
    ctx: typer.Context,
    email: str,
    tokens: Annotated[bool, typer.Option(help="Revoke the API tokens too")] = False,
) -> None:
    """End every signed-in session of an account (an administrator's action, audited)."""
    from opencall.people import services as people_services
    from opencall.people.queries import user_by_email

    c: Ctx = ctx.obj
    with unit_of_work(c.factory) as s:
        user = user_by_email(s, email)
        if user is None:
            _fail(f"no account {email!r}")
        n = people_services.revoke_sessions(s, user.id, reason="admin")
        t = people_services.revoke_all_api_tokens(s, user.id) if tokens else 0
    console.print(f"{n} sessions ended" + (f", {t} tokens revoked" if tokens else ""))


@app.command("personal-data")
def personal_data(
    ctx: typer.Context,
    email: str,
    out: Annotated[
        str | None,
        typer.Option(help="Write the JSON to this file (mode 0600) instead of printing it."),
    ] = None,
    erase: Annotated[
        bool,
        typer.Option(
            "--erase",
            help="Anonymise the account instead (a request for erasure; audited): "
            "docs/operators.md says what goes and what is kept.",
        ),
    ] = False,
    reason: Annotated[
        str, typer.Option(help="With --erase: the request it answers (in the audit log).")
    ] = "",
) -> None:
    """Everything the site holds about one account, as JSON: a person's request for their
    data (every row that refers to the account; password and token hashes left out).
    With --erase, the account is anonymised instead."""
    import os

    from opencall.people.queries import user_by_email
    from opencall.personal_data import person_data

    c: Ctx = ctx.obj
    if erase:
        if out is not None:
            _fail("--erase writes no file: export first (without --erase), then erase")
        _erase_person(c, email, reason)
        return
    with unit_of_work(c.factory) as s:
        user = user_by_email(s, email)
        # an invitee who never made an account: what names the address (mend22b)
        tables = person_data(s, user.id if user else None, user.email if user else email)
        if user is None and not tables:
            _fail(f"no account {email!r}, and nothing held about the address")
        if user is not None:
            auditlog.record(
                s, "person.data_exported", "user", user.id, data={"tables": sorted(tables)}
            )
        else:
            auditlog.record(
                s, "person.data_exported", "address", "", data={"tables": sorted(tables)}
            )
        email = user.email if user else email.strip().lower()
    text = json.dumps(
        {"email": email, "exported_at": utcnow().isoformat(), "tables": tables},
        ensure_ascii=False,
        indent=1,
        sort_keys=True,
    )
    if out is None:
        print(text)
        return
    fd = os.open(out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.fchmod(fd, 0o600)  # whatever the umask, and over an earlier file's mode
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    rows = sum(len(v) for v in tables.values())
    console.print(f"{rows} row(s) of {len(tables)} table(s) about {email} written to {out}")


def _erase_person(c: Ctx, email: str, reason: str) -> None:
    from opencall.people.queries import user_by_email
    from opencall.personal_data import erase_address, erase_person, person_data

    try:
        with unit_of_work(c.factory) as s:
            user = user_by_email(s, email)
            if user is None:  # an invitee who never made an account (mend22b)
                if not person_data(s, None, email):
                    _fail(f"no account {email!r}, and nothing held about the address")
                counts = erase_address(s, email, reason=reason)
                console.print(
                    f"address erased: {sum(counts.values())} row(s) of {len(counts)} "
                    "table(s) anonymised or deleted (the audit log is kept as it is)"
                )
                return
            uid = user.id
            counts = erase_person(s, user, reason=reason)
    except DomainError as exc:
        _fail(exc)
    rows = sum(counts.values())
    console.print(
        f"account {uid} erased: {rows} row(s) of {len(counts)} table(s) anonymised or "
        "deleted; run `opencall storage sweep` to remove the files of deleted drafts"
    )


@audit_app.command("export")
def audit_export(ctx: typer.Context, call_id: int | None = None) -> None:
    """Print the audit log as JSON lines."""
    c: Ctx = ctx.obj
    with c.factory() as s:
        stmt = select(auditlog.AuditEvent).order_by(auditlog.AuditEvent.id)
        if call_id is not None:
            stmt = stmt.where(auditlog.AuditEvent.call_id == call_id)
        for ev in s.scalars(stmt):
            print(json.dumps(auditlog.event_dict(ev)))


def _load_call(s: Session, slug: str) -> Call:
    from opencall.calls.queries import call_by_slug

    call = call_by_slug(s, slug)
    if call is None:
        _fail(f"no call {slug!r}")
    return call


def _table(t: Table, empty: str) -> None:
    """Print ``t``, or ``empty`` in words when it has no row (not a table of headers)."""
    console.print(t if t.row_count else empty)


def _queued(n: int, what: str) -> None:
    """How many ``what`` e-mails were queued, or that none was due (not "0 ...")."""
    console.print(f"{n} {what}(s) queued" if n else f"No {what}s due")


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
            disable=not console.is_terminal,  # off a terminal (a timer): no blank line
        ) as bar:
            task = bar.add_task(label, total=100)

            def progress(pct: int, message: str) -> None:
                bar.update(task, completed=pct, description=f"{label}: {message}")

            with unit_of_work(c.factory) as s:
                return fn(s, _load_call(s, slug), progress)
    except DomainError as exc:
        _fail(exc)
    return None


def _solver_step(
    ctx: typer.Context,
    slug: str,
    label: str,
    fn: Callable[[Session, Call, Callable[[int, str], None]], object],
    *,
    said_after: frozenset[str] = frozenset(),
) -> None:
    """:func:`_step` for a service that answers its solver run; prints the run. A step of
    the cycle runs only in the call states the chair's pages and the API allow
    (``cycle.services.STEPS``): out of order it is refused and nothing changes.
    ``said_after``: entries of the run's summary the command says after, in sentences,
    left out of the raw lines."""
    from opencall.cycle.services import require_step
    from opencall.runs import SolverRun

    def in_order(s: Session, c: Call, p: Callable[[int, str], None]) -> object:
        require_step(c, label)
        return fn(s, c, p)

    run = _step(ctx, slug, label, in_order)
    if isinstance(run, DomainError):  # the step's answer, not a refusal: nothing to run
        console.print(run.message)
        return
    assert isinstance(run, SolverRun)
    extra = f", objective {run.objective:.6g}" if run.objective is not None else ""
    gap = f", gap {run.gap:.3g}" if run.gap is not None else ""
    console.print(
        f"solver run {run.id} ({run.kind}): {run.status} in {run.wall_s:.2f} s{extra}{gap}"
    )
    for k, v in run.summary.items():
        if k in said_after:
            continue
        if isinstance(v, dict) and len(v) > 8:
            v = f"{len(v)} entries"
        console.print(f"  {k}: {v}")


CallOpt = Annotated[str, typer.Option("--call", help="The call's slug.")]


@review_app.command("conflicts")
def review_conflicts(ctx: typer.Context, call: CallOpt) -> None:
    """Compute conflicts of interest (enforced everywhere)."""
    from opencall.reviews import services

    _solver_step(
        ctx,
        call,
        "conflicts",
        lambda s, c, p: (
            services.compute_conflicts(s, c),
            services.latest_run_or_fail(s, c, "conflicts"),
        )[1],
    )


@review_app.command("affinity")
def review_affinity(ctx: typer.Context, call: CallOpt, method: str = "tfidf") -> None:
    """Score reviewer-proposal affinity from text (TF-IDF, or embeddings when installed)."""
    from opencall.reviews import services

    _solver_step(
        ctx,
        call,
        "affinity",
        lambda s, c, p: services.run_affinity(s, c, method=method, progress=p),
    )


@review_app.command("assign")
def review_assign(
    ctx: typer.Context,
    call: CallOpt,
    seed: int = 0,
    objective: Annotated[str, typer.Option(help="total | fair")] = "total",
) -> None:
    """Assign reviewers with the exact optimiser (loads, conflicts, diversity); then the
    proposals left short of reviewers, each with why, in the assignment page's words."""
    from opencall.reviews import services
    from opencall.reviews.shortfall import uncovered_rows
    from opencall.web.i18n import Translator

    _solver_step(
        ctx,
        call,
        "assignment",
        lambda s, c, p: services.run_assignment(s, c, objective=objective, seed=seed, progress=p),
        said_after=frozenset({"uncovered"}),  # the sentences below, with the codes
    )
    with unit_of_work(ctx.obj.factory) as s:
        rows = uncovered_rows(s, _load_call(s, call), frozenset(), Translator("en"))
    if rows:
        noun = "proposal is" if len(rows) == 1 else "proposals are"
        console.print(f"{len(rows)} {noun} short of reviewers:", soft_wrap=True)
        for r in rows:
            console.print(
                f"  {r['proposal_code']}: {r['assigned']} of {r['needed']} reviewers. "
                f"{r['explanation']}",
                soft_wrap=True,
                markup=False,
            )


@review_app.command("calibrate")
def review_calibrate(
    ctx: typer.Context, call: CallOpt, seed: int = 0, bootstrap: int = 200
) -> None:
    """Calibrate grades for reviewer leniency and scale; rank with uncertainty."""
    from opencall.reviews import services

    _solver_step(
        ctx,
        call,
        "calibration",
        lambda s, c, p: services.run_calibration(
            s, c, seed=seed, n_bootstrap=bootstrap, progress=p
        ),
    )


@review_app.command("freeze")
def review_freeze(ctx: typer.Context, call: CallOpt) -> None:
    """Freeze the calibrated ranking (needed before allocating a dual-anonymous call)."""
    from opencall.reviews import services

    def freeze(s: Session, c: Call, _p: Callable[[int, str], None]) -> tuple[bool, object]:
        if c.ranking_frozen_at is not None:
            return False, c.ranking_frozen_at
        return True, services.freeze_ranking(s, c).ranking_frozen_at

    done = _step(ctx, call, "freeze", freeze)
    if isinstance(done, tuple):
        fresh, when = done
        verb = "frozen" if fresh else "was already frozen"
        console.print(f"{call}: ranking {verb} at {when:%Y-%m-%d %H:%M} UTC")


@review_app.command("unfreeze")
def review_unfreeze(
    ctx: typer.Context,
    call: CallOpt,
    reason: Annotated[str, typer.Option(help="Why (required; kept in the audit log).")],
) -> None:
    """Undo a freeze made too early, to calibrate again (before the allocation runs)."""
    from opencall.reviews import services

    done = _step(
        ctx, call, "unfreeze", lambda s, c, p: services.unfreeze_ranking(s, c, reason=reason)
    )
    if done is not None:
        console.print(f"{call}: ranking unfrozen")


@review_app.command("unreviewed")
def review_unreviewed(ctx: typer.Context, call: CallOpt) -> None:
    """List the submitted proposals short of reviews and their resolutions."""
    from opencall.allocation import services

    c: Ctx = ctx.obj
    with c.factory() as s:
        cl = _load_call(s, call)
        counts = services.counted_reviews(s, cl)
        chosen = services.resolutions(s, cl)
        t = Table(title=f"{cl.code}: proposals short of reviews")
        for col in ("proposal", "counted reviews", "resolution", "reason"):
            t.add_column(col)
        for p in services.short_of_reviews(s, cl, counts=counts):
            r = chosen.get(p.id)
            t.add_row(
                p.code,
                str(counts.get(p.id, 0)),
                r.action if r else "none yet",
                r.reason if r else "",
            )
        _table(t, f"{cl.code}: No proposal is short of reviews.")


@review_app.command("resolve")
def review_resolve(
    ctx: typer.Context,
    call: CallOpt,
    proposal: Annotated[str, typer.Option(help="The proposal's code.")],
    action: Annotated[str, typer.Option(help="reject | carry")],
    reason: Annotated[str, typer.Option(help="Why (a rejection's explanation to the team).")],
) -> None:
    """Resolve a proposal short of reviews: reject it as not reviewed, or carry it to the
    allocation (below every reviewed proposal). The release waits for every one."""
    from sqlalchemy import select

    from opencall.allocation import services
    from opencall.proposals.models import Proposal

    def resolve(s: Session, c: Call, _p: Callable[[int, str], None]) -> object:
        p = s.scalar(select(Proposal).where(Proposal.call_id == c.id, Proposal.code == proposal))
        if p is None:
            _fail(f"no proposal {proposal!r} in {call}")
        return services.resolve_unreviewed(s, c, p, action=action, reason=reason)

    if _step(ctx, call, "resolve", resolve) is not None:
        console.print(f"{proposal}: {action}")


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

    _solver_step(
        ctx,
        call,
        "allocation",
        lambda s, c, p: services.run_allocation(s, c, seed=seed, progress=p),
    )


@app.command("schedule")
def schedule(
    ctx: typer.Context,
    call: CallOpt,
    seed: int = 0,
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD).")] = None,
    days: int = 120,
) -> None:
    """Turn awards into a timetable (telescope blocks, legs and dives, seats, shipments).
    After an allocation that awarded nothing it says so and exits 0, as the scheduling
    job ends done saying so."""
    from opencall.scheduling import queries, services

    def scheduled(s: Session, c: Call, p: Callable[[int, str], None]) -> object:
        return queries.nothing_awarded(s, c) or services.run_schedule(
            s,
            c,
            start=dt.date.fromisoformat(start) if start else None,
            days=days,
            seed=seed,
            progress=p,
        )

    _solver_step(ctx, call, "scheduling", scheduled)


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
        _table(t, f"{cl.code}: Nothing scheduled in the week of {day0} (UTC).")


@app.command("transition")
def transition(ctx: typer.Context, call: CallOpt, status: str, reason: str = "") -> None:
    """Move a call to its next phase (logged)."""
    calls_transition(ctx, call, status, reason)


@app.command("release")
def release(ctx: typer.Context, call: CallOpt) -> None:
    """Release decisions to the applicants and queue their e-mails, as the decisions page
    and the API do (none when they were released already)."""
    from opencall import jobs
    from opencall.allocation import services
    from opencall.registry import build_registry

    c: Ctx = ctx.obj
    n = _step(
        ctx,
        call,
        "release",
        lambda s, cl, p: services.release_decisions(
            s, cl, then=lambda: services.queue_decision_mails(s, cl)
        ),
    )
    console.print(f"{n} decisions released")
    if c.settings.inline_jobs:
        jobs.run_pending(c.factory, build_registry(c.settings))


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
    from opencall.registry import build_registry
    from opencall.reviews.notify import queue_reminders

    c: Ctx = ctx.obj
    n = _step(
        ctx,
        call,
        "reminders",
        lambda s, cl, p: queue_reminders(s, cl, c.settings.base_url, within_days=within_days),
    )
    _queued(n if isinstance(n, int) else 0, "reminder")
    if c.settings.inline_jobs:
        jobs.run_pending(c.factory, build_registry(c.settings))


@app.command("report")
def report_cmd(
    ctx: typer.Context,
    call: CallOpt,
    fmt: Annotated[str, typer.Option("--format", help="json | csv | pdf")] = "json",
    out: Annotated[str | None, typer.Option(help="Write to this file (default: stdout).")] = None,
    lang: Annotated[str, typer.Option(help="Language of the PDF: en | zh | fr | es")] = "en",
) -> None:
    """Who benefits: the call's outcomes report by country group."""
    from opencall.outcomes import queries as oq
    from opencall.outcomes import report as oa
    from opencall.web.i18n import Translator

    if fmt not in ("json", "csv", "pdf"):
        _fail("--format must be json, csv or pdf")
    if fmt == "pdf" and not out:
        _fail("a PDF needs --out FILE")
    c: Ctx = ctx.obj
    with c.factory() as s:
        data = oq.report(s, _load_call(s, call))
    if fmt == "pdf":
        payload: bytes | str = oa.report_pdf(data, Translator(lang), lang)
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


postaward_app = typer.Typer(
    help="After the award: records, results, reminders.", no_args_is_help=True
)
app.add_typer(postaward_app, name="postaward")


@postaward_app.command("remind")
def postaward_remind(
    ctx: typer.Context,
    today: Annotated[str | None, typer.Option(help="The day to judge by (YYYY-MM-DD).")] = None,
) -> None:
    """Queue reminder e-mails for overdue sample loans, overdue first reports, course
    participants' follow-up waves falling due and the progress reports of later parts
    held in a call that has closed (each PI in their language)."""
    from opencall import jobs
    from opencall.allocation.later_parts import queue_progress_reminders
    from opencall.registry import build_registry
    from opencall.results.jobs import (
        queue_follow_up_reminders,
        queue_overdue_reminders,
        queue_report_reminders,
    )

    c: Ctx = ctx.obj
    day = dt.date.fromisoformat(today) if today else utc_today()
    with unit_of_work(c.factory) as s:
        n = queue_overdue_reminders(s, c.settings.base_url, day)
        m = queue_report_reminders(s, c.settings.base_url, day, c.settings.report_reminders_max)
        k = queue_follow_up_reminders(s, c.settings.base_url, day)
        g = queue_progress_reminders(s, c.settings.base_url, day)
    if n or m or k or g:
        _queued(n, "overdue-loan reminder")
        _queued(m, "overdue-report reminder")
        _queued(k, "course follow-up reminder")
        _queued(g, "progress-report reminder")
    else:
        console.print("No overdue reminders due")
    if c.settings.inline_jobs:
        jobs.run_pending(c.factory, build_registry(c.settings))


@postaward_app.command("later-part")
def postaward_later_part(
    ctx: typer.Context,
    call: CallOpt,
    proposal: Annotated[str, typer.Option(help="The awarded proposal's code in CALL.")],
    later_call: Annotated[str, typer.Option(help="The later period's call (its slug).")],
    resource: Annotated[int, typer.Option(help="The resource's id, offered by the later call.")],
    amount: Annotated[float, typer.Option(help="The later period's part, in the resource's unit.")],
) -> None:
    """Hold a later period's part of a multi-period award against the later call's offer
    (outcomes23): that call's allocation offers the rest of the resource only."""
    from sqlalchemy import select

    from opencall.allocation import later_parts
    from opencall.proposals.models import Proposal

    c: Ctx = ctx.obj
    try:
        with unit_of_work(c.factory) as s:
            awarded = _load_call(s, call)
            p = s.scalar(
                select(Proposal).where(Proposal.call_id == awarded.id, Proposal.code == proposal)
            )
            if p is None:
                _fail(f"no proposal {proposal!r} in {call}")
            part = later_parts.hold_later_part(
                s, p, _load_call(s, later_call), resource, amount, base_url=c.settings.base_url
            )
            said = f"part {part.id}: {amount:g} of resource {resource} held in {later_call}"
    except DomainError as exc:
        _fail(exc)
    console.print(said)


@postaward_app.command("progress")
def postaward_progress(
    ctx: typer.Context,
    part: Annotated[int, typer.Argument(help="The later part's id.")],
    note: Annotated[str, typer.Option(help="What the progress report showed.")],
    accept: Annotated[
        bool, typer.Option("--accept/--return", help="Release the part, or return it.")
    ] = True,
) -> None:
    """The progress report before a later period: --accept releases the held part to the
    programme, --return gives it back to the later call's offer."""
    from opencall.allocation import later_parts
    from opencall.allocation.models import AwardLaterPart

    c: Ctx = ctx.obj
    try:
        with unit_of_work(c.factory) as s:
            row = s.get(AwardLaterPart, part)
            if row is None:
                _fail(f"no later part {part}")
            later_parts.decide_later_part(
                s, row, accepted=accept, note=note, base_url=c.settings.base_url
            )
            status = row.status
    except DomainError as exc:
        _fail(exc)
    console.print(f"part {part}: {status}")


def main() -> None:
    app()
