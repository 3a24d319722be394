"""The TAC chair's preview opened by several members of the committee at the same moment
(trialcrowd20). Round 19 kept a solve in the process that made it (``tac._SOLVED``), but
only once it was done: N first views at once each missed it and each solved the
allocation (up to 20 s each, on the request's thread), and a view served by another web
worker (another process) solved it again whatever that worker's neighbour had kept.

Now a preview's solve is claimed in the database before it runs
(``allocation.preview_solves``: a row per problem, claimed under PostgreSQL's advisory
lock or SQLite's write lock, solved outside any lock, its awards written to the row): the
views that come while it runs wait for the row and read it, in this process or another;
a solve that fails gives its claim back, and a claim whose solver died is taken over."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from opencall.allocation import tac
from opencall.calls.models import Call
from opencall.db import utcnow
from opencall.optim import allocation as optim_allocation
from tests.allocation.test_tac import _ranked, _web_world
from tests.security.races import meet
from tests.web.conftest import Web

#: the views at once (threads of one process; processes: each imports the whole product)
N = 4
PROCESSES = 2


def _counting(monkeypatch: pytest.MonkeyPatch, parties: int) -> list[int]:
    """Count the solves; each solve waits (up to 3 s) for ``parties`` solves in all, so
    that views that would each solve do so together (and the test fails for the right
    reason before the fix) while a single solve goes on alone after the wait."""
    real = optim_allocation.solve_allocation
    together = threading.Barrier(parties, timeout=3)
    solves: list[int] = []

    def counted(*a: Any, **kw: Any) -> Any:
        solves.append(1)
        meet(together)
        return real(*a, **kw)

    monkeypatch.setattr(optim_allocation, "solve_allocation", counted)
    # solves kept in this process by an earlier test (the same problem in a database made
    # again) would answer the first view
    monkeypatch.setattr(tac, "_SOLVED", type(tac._SOLVED)())
    return solves


def test_first_views_at_once_solve_once(web: Web, monkeypatch: pytest.MonkeyPatch) -> None:
    slug, chair, _ids, _ = _web_world(web)
    clients = [web.login(chair) for _ in range(N)]
    solves = _counting(monkeypatch, N)
    start = threading.Barrier(N, timeout=30)
    answers: dict[int, Any] = {}

    def view(i: int) -> None:
        start.wait()
        answers[i] = clients[i].get(f"/manage/calls/{slug}/tac?preview=1")

    threads = [threading.Thread(target=view, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert sorted(r.status_code for r in answers.values()) == [200] * N
    # the chair changed nothing: one problem, solved once for all the views
    assert len(solves) == 1, len(solves)
    marks = {r.text.count('class="change-') for r in answers.values()}
    assert len(marks) == 1 and marks != {0}, marks


_VIEW = """
import json, os, sys, time
from pathlib import Path
from opencall.allocation import tac
from opencall.calls.models import Call
from opencall.db import make_engine, make_sessionmaker
from opencall.optim import allocation as opt

url, call_id, here, n = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3]), int(sys.argv[4])
real = opt.solve_allocation

def counted(*a, **kw):
    (here / f"solving-{os.getpid()}").touch()
    # wait until every view has begun, then up to 3 s for the others' solves
    for _ in range(1200):
        if len(list(here.glob("arrived-*"))) >= n:
            break
        time.sleep(0.05)
    for _ in range(60):
        if len(list(here.glob("solving-*"))) >= n:
            break
        time.sleep(0.05)
    return real(*a, **kw)

opt.solve_allocation = counted
engine = make_engine(url)
with make_sessionmaker(engine)() as s:
    call = s.get(Call, call_id)
    (here / f"arrived-{os.getpid()}").touch()
    seen = tac.preview(s, call, frozenset())
    print(json.dumps(sorted((x.proposal_id, sorted(x.before.items())) for x in seen.places)))
engine.dispose()
"""


def test_first_views_in_other_processes_solve_once(
    factory: sessionmaker[Session], tmp_path: Path
) -> None:
    """Each view in a process of its own (a web worker each): one solves, the others read
    its solve from the database."""
    with factory() as s:
        call, _props, _ = _ranked(s)
        s.commit()
        call_id = call.id
        url = s.get_bind().url.render_as_string(hide_password=False)
    here = tmp_path / "marks"
    here.mkdir()
    script = tmp_path / "view.py"
    script.write_text(_VIEW)
    root = Path(__file__).resolve().parents[2]
    procs = [
        subprocess.Popen(
            [sys.executable, str(script), url, str(call_id), str(here), str(PROCESSES)],
            cwd=root,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(PROCESSES)
    ]
    outs = [p.communicate(timeout=300) for p in procs]
    assert [p.returncode for p in procs] == [0] * PROCESSES, [err[-2000:] for _, err in outs]
    seen = {out.strip() for out, _ in outs}
    assert len(seen) == 1 and json.loads(seen.pop()), seen
    solving = list(here.glob("solving-*"))
    assert len(solving) == 1, len(solving)


def test_a_failed_solve_gives_its_claim_back(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A solve that fails leaves no claim behind: the next view solves (not a wait for a
    solve that will never come)."""
    with factory() as s:
        call, _props, _ = _ranked(s)
        s.commit()
    solves = _counting(monkeypatch, 1)
    real = optim_allocation.solve_allocation

    def broken(*a: Any, **kw: Any) -> Any:
        solves.append(1)
        raise RuntimeError("solver crashed")

    monkeypatch.setattr(optim_allocation, "solve_allocation", broken)
    with factory() as s:
        with pytest.raises(RuntimeError, match="solver crashed"):
            tac.preview(s, s.get(Call, call.id), frozenset())
    monkeypatch.setattr(optim_allocation, "solve_allocation", real)
    monkeypatch.setattr(tac, "_SOLVED", type(tac._SOLVED)())
    with factory() as s:
        seen = tac.preview(s, s.get(Call, call.id), frozenset())
    assert seen.places and any(x.before for x in seen.places)


def test_a_claim_whose_solver_died_is_taken_over(
    factory: sessionmaker[Session], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed in the middle of a solve leaves its claim; a view after the longest
    a solve may take solves again rather than wait for ever."""
    from opencall.allocation import preview_solves
    from opencall.allocation.models import TacPreviewSolve

    with factory() as s:
        call, _props, _ = _ranked(s)
        s.commit()
    solves = _counting(monkeypatch, 1)
    with factory() as s:
        tac.preview(s, s.get(Call, call.id), frozenset())
    assert len(solves) == 1
    with factory() as s:
        row = s.scalars(select(TacPreviewSolve)).one()
        # as a worker killed while solving leaves it: claimed long ago, nothing written
        row.solved_at = None
        row.claimed_at = utcnow() - dt.timedelta(seconds=preview_solves.CLAIM_S + 1)
        s.commit()
    monkeypatch.setattr(tac, "_SOLVED", type(tac._SOLVED)())
    with factory() as s:
        seen = tac.preview(s, s.get(Call, call.id), frozenset())
    assert len(solves) == 2 and any(x.before for x in seen.places)
    with factory() as s:
        kept = s.scalars(select(TacPreviewSolve)).one()
        assert kept.solved_at is not None and kept.awards


def test_a_problem_has_one_key_in_every_process(tmp_path: Path) -> None:
    """The key of a solve is the same in every web worker: ``repr`` of a set of strings (a
    group's proposals) follows the strings' hashes, which each process seeds differently,
    so two workers keyed one problem differently and each solved it."""
    code = (
        "from opencall.allocation.preview_solves import digest\n"
        "from opencall.optim.allocation import Group\n"
        "ids = frozenset(f'p{i}' for i in range(40))\n"
        "print(digest(7, 0, (Group('low_lmic', ids),), {'a': {'x', 'y', 'z'}}))\n"
    )
    root = Path(__file__).resolve().parents[2]
    keys = set()
    for seed in ("1", "2", "3"):
        out = subprocess.run(
            [sys.executable, "-c", code],
            cwd=root,
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        )
        keys.add(out.stdout.strip())
    assert len(keys) == 1, keys
