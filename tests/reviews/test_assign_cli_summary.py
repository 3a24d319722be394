"""``opencall review assign`` says the proposals short of reviewers once, in sentences
(trialrev14): before, it also printed the run's raw summary entries for them
(``uncovered: [{'needed': 3, ..., 'proposal_id': 1}, ...]``), the proposals' database
ids where the sentences say their codes, which the chair reads as a second list."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencall.cli import app as cli_app
from tests import factories as F
from tests.cli_db import cli_database


def test_the_shortfall_is_said_once_in_sentences(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with cli_database(tmp_path, monkeypatch) as (runner, factory):
        with factory() as s:
            call, props, _reviewers = F.call_in_review(s, 2, 2, reviewers_per_proposal=3)
            slug, codes = call.slug, sorted(p.code for p in props)
            s.commit()
        r = runner.invoke(cli_app, ["review", "assign", "--call", slug], env={"COLUMNS": "200"})
    assert r.exit_code == 0, r.output
    lines = [ln.strip() for ln in r.output.splitlines() if ln.strip()]
    assert lines[0].startswith("solver run ") and "(assignment)" in lines[0], r.output
    assert not any(ln.startswith("uncovered:") for ln in lines), r.output
    assert "proposal_id" not in r.output and "'needed'" not in r.output, r.output
    assert "2 proposals are short of reviewers:" in lines, r.output
    for code in codes:
        assert sum(ln.startswith(f"{code}: 2 of 3 reviewers.") for ln in lines) == 1, r.output
    # the rest of the run's summary is still there
    assert any(ln.startswith("pairs: 4") for ln in lines), r.output
