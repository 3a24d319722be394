"""The command line runs a step of the cycle only in the call states the chair's pages and
the API allow: out of order it is refused with the same message, and nothing changes."""

from __future__ import annotations

from pathlib import Path

import pytest

from opencall.cli import app as cli_app
from opencall.cycle import services as cycle
from opencall.db import unit_of_work
from tests import factories as F
from tests.cli_db import cli_database


@pytest.mark.parametrize(
    ("argv", "status"),
    [
        (["review", "conflicts"], "ranking"),
        (["review", "assign"], "ranking"),
        (["review", "calibrate"], "allocation"),
        (["schedule"], "allocation"),
    ],
)
def test_a_step_out_of_order_is_refused_and_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, argv: list[str], status: str
) -> None:
    with cli_database(tmp_path, monkeypatch, "steps") as (runner, factory):
        with unit_of_work(factory) as s:
            call, _, _ = F.call_in_review(s, 2, 3, reviewers_per_proposal=2)
            for target in ("ranking", "allocation")[: 1 + (status == "allocation")]:
                cycle.transition_call(s, call, target)
            slug = call.slug
        with factory() as s:
            before = F.table_counts(s)
        r = runner.invoke(cli_app, [*argv, "--call", slug])
        assert r.exit_code == 2, r.output
        assert f"This step cannot run while the call is {status}." in r.output
        with factory() as s:
            assert F.table_counts(s) == before
