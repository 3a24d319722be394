"""The README's command-line sequence runs as written, on the demo's dual-anonymous FAST call.

The commands are read from README.md (the ```sh block under "## The command line"),
so the test breaks when the README and the CLI disagree. Two adjustments only:
``demo build`` gets ``--scale 0.05 --anchor 2026-11-29`` (a small world whose FAST
call is ``fast-2027`` whatever today's date), and the lines that do not end
(``serve | worker``) or repeat the whole sequence (``demo cycle``) are not run.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
from sqlalchemy import func, select
from typer.testing import CliRunner

from opencall.allocation.models import Award
from opencall.calls.queries import call_by_slug
from opencall.cli import app as cli_app
from opencall.db import make_engine, make_sessionmaker

README = Path(__file__).resolve().parent.parent / "README.md"
SKIPPED = (("serve",), ("demo", "cycle"))


def readme_commands() -> list[list[str]]:
    text = README.read_text(encoding="utf-8")
    section = text.split("## The command line", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S)
    assert block, "README has no ```sh block under 'The command line'"
    out: list[list[str]] = []
    for line in block.group(1).splitlines():
        line = line.split(" #", 1)[0].strip()
        for part in line.split("&&"):
            part = re.sub(r"\[[^\]]*\]", "", part).strip()  # optional arguments
            if not part:
                continue
            argv = shlex.split(part)
            assert argv[0] == ".venv/bin/opencall", part
            out.append(argv[1:])
    return out


def test_readme_lists_the_freeze_before_allocating() -> None:
    cmds = readme_commands()
    freeze = cmds.index(["review", "freeze", "--call", "fast-2027"])
    allocate = cmds.index(["allocate", "--call", "fast-2027"])
    assert freeze < allocate


def test_readme_sequence_runs_on_a_dual_anonymous_call(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENCALL_DATABASE_URL", f"sqlite:///{tmp_path / 'readme.sqlite3'}")
    # the README's audit checkpoint lines are signed with the operator's audit key
    monkeypatch.setenv("OPENCALL_AUDIT_KEY", "readme-sequence-audit-key")
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    ran = []
    for argv in readme_commands():
        if any(tuple(argv[: len(s)]) == s for s in SKIPPED):
            continue
        if argv[:2] == ["demo", "build"]:
            argv = [*argv, "--scale", "0.05", "--anchor", "2026-11-29"]
        r = runner.invoke(cli_app, argv)
        assert r.exit_code == 0, f"{' '.join(argv)} failed:\n{r.output}"
        ran.append((argv, r.output))
    outputs = {" ".join(a[:2]): o for a, o in ran}
    assert "frozen" in outputs["review freeze"]
    assert "allocation" in outputs["allocate --call"]
    assert Path("fast-report.pdf").read_bytes().startswith(b"%PDF")
    engine = make_engine(f"sqlite:///{tmp_path / 'readme.sqlite3'}")
    with make_sessionmaker(engine)() as s:
        call = call_by_slug(s, "fast-2027")
        assert call is not None and call.anonymity == "dual"
        assert call.ranking_frozen_at is not None
        assert s.scalar(select(func.count()).select_from(Award).where(Award.call_id == call.id))
    engine.dispose()
    # freezing twice says so and changes nothing
    r = runner.invoke(cli_app, ["review", "freeze", "--call", "fast-2027"])
    assert r.exit_code == 0 and "already frozen" in r.output
    r = runner.invoke(cli_app, ["review", "freeze", "--call", "no-such-call"])
    assert r.exit_code == 2 and "no call" in r.output


def test_allocating_a_dual_call_without_freeze_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The failure the README sequence hit before ``review freeze`` existed."""
    monkeypatch.setenv("OPENCALL_DATABASE_URL", f"sqlite:///{tmp_path / 'nofreeze.sqlite3'}")
    runner = CliRunner()
    steps = [
        ["db", "upgrade"],
        ["demo", "build", "--seed", "1", "--scale", "0.05", "--anchor", "2026-11-29"],
        ["calls", "transition", "fast-2027", "closed", "--reason", "test"],
        ["calls", "transition", "fast-2027", "review"],
        ["review", "conflicts", "--call", "fast-2027"],
        ["review", "affinity", "--call", "fast-2027"],
        ["review", "assign", "--call", "fast-2027"],
        ["review", "simulate", "--call", "fast-2027"],
        ["review", "calibrate", "--call", "fast-2027"],
        ["transition", "--call", "fast-2027", "ranking"],
        ["transition", "--call", "fast-2027", "allocation"],
    ]
    for argv in steps:
        r = runner.invoke(cli_app, argv)
        assert r.exit_code == 0, f"{' '.join(argv)}:\n{r.output}"
    r = runner.invoke(cli_app, ["allocate", "--call", "fast-2027"])
    assert r.exit_code == 2 and "Freeze the ranking" in r.output
    r = runner.invoke(cli_app, ["review", "freeze", "--call", "fast-2027"])
    assert r.exit_code == 0
    r = runner.invoke(cli_app, ["allocate", "--call", "fast-2027"])
    assert r.exit_code == 0, r.output
