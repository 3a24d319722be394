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


def test_scheduling_after_an_allocation_that_awarded_nothing_says_so_and_exits_0(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """As the scheduling job, which ends done saying so: nothing was awarded, so there is
    nothing to schedule; that is the step's answer, not a refusal (exit 0). Before the
    allocation ran it is a refusal (exit 2)."""
    from opencall.allocation.models import Decision

    with cli_database(tmp_path, monkeypatch, "nothing") as (runner, factory):
        with unit_of_work(factory) as s:
            call, proposals, _ = F.call_in_review(s, 2, 3, reviewers_per_proposal=2)
            for target in ("ranking", "allocation", "scheduling"):
                cycle.transition_call(s, call, target)
            slug = call.slug
        r = runner.invoke(cli_app, ["schedule", "--call", slug])
        assert r.exit_code == 2, r.output
        assert "There are no awards to schedule; run the allocation first." in r.output
        with unit_of_work(factory) as s:
            for p in proposals:
                s.add(Decision(call_id=p.call_id, proposal_id=p.id, outcome="rejected"))
        with factory() as s:
            before = F.table_counts(s)
        r = runner.invoke(cli_app, ["schedule", "--call", slug])
        assert r.exit_code == 0, r.output
        said = " ".join(r.output.split())
        assert "Error" not in said
        assert (
            "The allocation awarded nothing, so there is nothing to schedule; the "
            "decisions can be released as they are." in said
        )
        with factory() as s:
            assert F.table_counts(s) == before
