import datetime as dt

from sqlalchemy import select

from opencall import jobs


def test_job_runs_once_and_records_progress(factory) -> None:
    seen: list[int] = []
    reg = jobs.JobRegistry()

    def handler(s, job, progress) -> None:
        progress(50, "half way")
        seen.append(job.payload["n"])

    reg.register("echo", handler)
    with factory() as s:
        jobs.enqueue(s, "echo", {"n": 7})
        s.commit()
    assert jobs.run_pending(factory, reg) == 1
    assert jobs.run_pending(factory, reg) == 0
    assert seen == [7]
    with factory() as s:
        job = s.scalars(jobs.select(jobs.Job)).one()
        assert job.status == "done" and job.progress == 100


def test_failing_job_is_retried_then_marked_failed(factory, monkeypatch) -> None:
    clock = [jobs.utcnow()]
    monkeypatch.setattr(jobs, "utcnow", lambda: clock[0])
    reg = jobs.JobRegistry()
    calls = []

    def boom(s, job, progress) -> None:
        calls.append(1)
        raise ValueError("solver exploded")

    reg.register("boom", boom)
    with factory() as s:
        jobs.enqueue(s, "boom", max_attempts=2)
        s.commit()
    jobs.run_pending(factory, reg)
    clock[0] += jobs.RETRY_CAP  # its back-off passed (the next test: how long)
    jobs.run_pending(factory, reg)
    with factory() as s:
        job = s.scalars(jobs.select(jobs.Job)).one()
        assert job.status == "failed" and "solver exploded" in job.error
    assert len(calls) == 2


def _die(factory, clock) -> None:
    """Claim the queued job as a worker that then dies: its lease runs out."""
    with factory() as s:
        assert jobs.claim(s) is not None
        s.commit()
    clock[0] += jobs.LEASE + dt.timedelta(seconds=1)


def test_crashed_worker_job_is_requeued_after_the_back_off_not_at_once(
    factory, monkeypatch
) -> None:
    """A job whose worker died (its lease expired) is queued again with the back-off of
    any failed attempt (``retry_delay``), not retried at once: before the fix the next
    poll ran it straight away. The clock is pinned: nothing sleeps."""
    clock = [dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC)]
    monkeypatch.setattr(jobs, "utcnow", lambda: clock[0])
    reg = jobs.JobRegistry()
    done = []
    reg.register("work", lambda s, j, p: done.append(j.id))
    with factory() as s:
        job = jobs.enqueue(s, "work")
        s.commit()
    _die(factory, clock)
    assert jobs.run_pending(factory, reg) == 0  # reaped, but waiting
    with factory() as s:
        row = s.get(jobs.Job, job.id)
        assert row.status == "queued" and row.attempts == 1
        assert row.run_after == clock[0] + jobs.retry_delay(1)
        assert "lease expired" in row.error  # the operator sees why it waits
    clock[0] += jobs.retry_delay(1) - dt.timedelta(seconds=1)
    assert jobs.run_pending(factory, reg) == 0  # not yet
    clock[0] += dt.timedelta(seconds=1)
    assert jobs.run_pending(factory, reg) == 1
    assert done == [job.id]


def test_a_job_whose_workers_keep_dying_is_marked_failed_never_lost(
    factory, monkeypatch, caplog
) -> None:
    """After ``max_attempts`` dead workers the job is failed, with its reason and end
    time, and an error is logged: the operator sees it; it is never retried again."""
    clock = [dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC)]
    monkeypatch.setattr(jobs, "utcnow", lambda: clock[0])
    reg = jobs.JobRegistry()
    reg.register("work", lambda s, j, p: None)
    with factory() as s:
        job = jobs.enqueue(s, "work", max_attempts=2)
        s.commit()
    _die(factory, clock)
    assert jobs.run_pending(factory, reg) == 0
    clock[0] += jobs.retry_delay(1)
    _die(factory, clock)
    with caplog.at_level("ERROR", logger="opencall.jobs"):
        assert jobs.run_pending(factory, reg) == 0
    with factory() as s:
        row = s.get(jobs.Job, job.id)
        assert (row.status, row.attempts) == ("failed", 2)
        assert row.finished_at == clock[0] and row.run_after is None
        assert "no attempts left" in jobs.failure(row)
    assert any("lease expired" in r.getMessage() for r in caplog.records)
    clock[0] += jobs.RETRY_CAP
    assert jobs.run_pending(factory, reg) == 0


def test_a_claimed_job_is_not_claimed_twice(factory) -> None:
    with factory() as s:
        jobs.enqueue(s, "x")
        s.commit()
    with factory() as a, factory() as b:
        ja = jobs.claim(a)
        a.commit()
        jb = jobs.claim(b)
        b.commit()
    assert ja is not None and jb is None


def test_progress_after_the_job_wrote_does_not_fail_it(factory) -> None:
    """On SQLite the job's transaction holds the write lock; progress is best effort."""
    reg = jobs.JobRegistry()

    def writer(s, job, progress) -> None:
        jobs.enqueue(s, "other")  # the job's own transaction now writes
        s.flush()
        progress(50, "half way")

    reg.register("writer", writer)
    with factory() as s:
        jobs.enqueue(s, "writer", max_attempts=1)
        s.commit()
    job = jobs.run_one(factory, reg, kinds=["writer"])
    assert job is not None and job.status == "done", job.error


def test_the_inline_runner_runs_the_jobs_its_jobs_queue(factory) -> None:
    """``run_pending(ids=...)`` (a request's jobs under ``inline_jobs``) also runs the jobs
    those jobs queue (a job's e-mails), and theirs; a failed job's never (they were rolled
    back with it); and no job of another request. Before the fix the child stayed queued."""
    reg = jobs.JobRegistry()
    ran: list[str] = []

    def parent(s, job, progress) -> None:
        ran.append("parent")
        jobs.enqueue(s, "child", {"depth": 1})

    def child(s, job, progress) -> None:
        ran.append(f"child{job.payload['depth']}")
        if job.payload["depth"] < 2:
            jobs.enqueue(s, "child", {"depth": job.payload["depth"] + 1})

    def failing(s, job, progress) -> None:
        jobs.enqueue(s, "child", {"depth": 9})
        raise ValueError("no")

    reg.register("parent", parent)
    reg.register("child", child)
    reg.register("failing", failing)
    with factory() as s:
        others = jobs.enqueue(s, "child", {"depth": 5}).id  # another request's
        mine = [jobs.enqueue(s, "parent").id, jobs.enqueue(s, "failing", max_attempts=1).id]
        s.commit()
    assert jobs.run_pending(factory, reg, ids=mine) == 4
    assert ran == ["parent", "child1", "child2"]
    with factory() as s:
        states = {(j.kind, j.payload.get("depth"), j.status) for j in s.scalars(select(jobs.Job))}
        assert states == {
            ("child", 5, "queued"),
            ("parent", None, "done"),
            ("failing", None, "failed"),
            ("child", 1, "done"),
            ("child", 2, "done"),
        }
        assert s.get(jobs.Job, others).status == "queued"


def _rows_examined(plan: dict) -> int:
    """Rows a PostgreSQL plan node and its children read: those returned by the
    scans and those their filters removed."""
    own = plan.get("Rows Removed by Filter", 0)
    if "Scan" in plan.get("Node Type", ""):
        own += plan.get("Actual Rows", 0)
    return own + sum(_rows_examined(p) for p in plan.get("Plans", []))


def test_claiming_does_not_read_the_jobs_already_done(factory) -> None:
    """A busy site keeps its finished jobs (hundreds of thousands of e-mails and scans):
    claiming the next queued job reads the queued ones by an index, never the done ones.
    Before, PostgreSQL walked the primary key from the oldest job and filtered every done
    job out (200,000 done: 150 ms a claim, hours of database time for a 50,000-job
    backlog)."""
    from sqlalchemy import event, insert, text

    done, backlog = 20_000, 5_000
    with factory() as s:
        s.execute(
            insert(jobs.Job),
            [
                dict(kind="mail", payload={}, status="done", attempts=1, max_attempts=3)
                for _ in range(done)
            ],
        )
        jobs.enqueue(s, "echo", {"n": 0})
        s.execute(
            insert(jobs.Job),
            [dict(kind="echo", payload={"n": i}, status="queued") for i in range(1, backlog)],
        )
        s.commit()
        if s.get_bind().dialect.name == "postgresql":
            s.execute(text("ANALYZE jobs"))
            s.commit()
    seen: list[tuple[str, object]] = []

    def before(_conn, _cur, statement, params, *_a) -> None:
        if statement.lstrip().upper().startswith("SELECT") and "jobs.status" in statement:
            seen.append((statement, params))

    with factory() as s:
        engine = s.get_bind()
        event.listen(engine, "before_cursor_execute", before)
        try:
            job = jobs.claim(s)
        finally:
            event.remove(engine, "before_cursor_execute", before)
        assert job is not None and job.kind == "echo" and job.payload == {"n": 0}
        s.rollback()
        claim_sql = [(q, p) for q, p in seen if "queued" in str(p) or "'queued'" in q]
        assert claim_sql, seen
        conn = s.connection()
        for statement, params in claim_sql:
            if engine.dialect.name == "postgresql":
                plan = conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, FORMAT JSON) " + statement, params
                ).scalar_one()[0]["Plan"]
                assert _rows_examined(plan) < 100, plan
            else:
                plan = conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, params).all()
                assert not any(str(r[-1]).startswith("SCAN jobs") for r in plan), plan
        s.rollback()


def test_a_refusal_ends_the_job_at_once_with_its_sentence(factory, caplog) -> None:
    """A ``DomainError`` refuses the input or the state: a retry would be refused the
    same way, so the job fails at its first attempt, saying the refusal's sentence (no
    exception class), and the operator's log line says it was a refusal."""
    import logging

    from opencall.errors import DomainError

    reg = jobs.JobRegistry()
    calls = []

    def refuse(s, job, progress) -> None:
        calls.append(1)
        raise DomainError("The call %(slug)s is closed.", slug="cryo-26")

    reg.register("refuse", refuse)
    with factory() as s:
        jobs.enqueue(s, "refuse", max_attempts=3)
        s.commit()
    with caplog.at_level(logging.WARNING, logger="opencall.jobs"):
        jobs.run_pending(factory, reg)
    assert len(calls) == 1
    with factory() as s:
        job = s.scalars(jobs.select(jobs.Job)).one()
        assert (job.status, job.attempts) == ("failed", 1)
        assert job.error == "The call cryo-26 is closed."
        assert job.finished_at is not None
    [line] = [r.getMessage() for r in caplog.records if r.name == "opencall.jobs"]
    assert "refused" in line and "not retried" in line and "cryo-26" in line


def test_a_transient_failure_is_retried_after_a_bounded_exponential_back_off(
    factory, monkeypatch
) -> None:
    """A job that raised (not a refusal) waits before its next attempt: ``RETRY_BASE``,
    then twice as long each time, never more than ``RETRY_CAP``; a worker polling before
    then finds nothing to run. The clock is pinned: nothing sleeps."""
    clock = [dt.datetime(2027, 3, 1, 12, 0, tzinfo=dt.UTC)]
    monkeypatch.setattr(jobs, "utcnow", lambda: clock[0])
    reg = jobs.JobRegistry()
    calls = []

    def flaky(s, job, progress) -> None:
        calls.append(clock[0])
        raise ConnectionError("database went away")

    reg.register("flaky", flaky)
    with factory() as s:
        jobs.enqueue(s, "flaky", max_attempts=6)
        s.commit()
    waits = []
    for _ in range(6):
        assert jobs.run_pending(factory, reg) == 1  # one attempt, then it waits
        assert jobs.run_pending(factory, reg) == 0
        with factory() as s:
            job = s.scalars(select(jobs.Job)).one()
            if job.status == "failed":
                assert job.run_after is None and "database went away" in job.error
                break
            assert job.status == "queued" and job.run_after is not None
            waits.append(job.run_after - clock[0])
            clock[0] = job.run_after - dt.timedelta(seconds=1)  # not yet
        assert jobs.run_pending(factory, reg) == 0
        clock[0] += dt.timedelta(seconds=1)
    assert len(calls) == 6
    base, cap = jobs.RETRY_BASE, jobs.RETRY_CAP
    assert waits == [min(base * 2**n, cap) for n in range(5)]
    assert cap in waits and base < cap  # bounded: the cap is reached
