"""Tests whose behaviour does not depend on the database backend run once, on SQLite
(``tests.fixtures.RUN_ONCE``): the scale-1 demo world's figures (``make run`` builds it
on SQLite; the demo's path on PostgreSQL is the golden digest's and
``test_demo_is_deterministic_for_a_seed``'s) and the anonymity scan of the demo's texts
(a scan of strings in Python). docs/testing.md, "speed16"."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from tests.conftest import RUN_ONCE


def _engine_params(test: Any) -> list[Any]:
    return [
        list(m.args[1])
        for m in getattr(test, "pytestmark", [])
        if m.name == "parametrize" and m.args[0] == "engine" and m.kwargs.get("indirect")
    ]


@RUN_ONCE
def test_a_test_run_once_gets_sqlite_only(engine: Engine, request: pytest.FixtureRequest) -> None:
    # with PostgreSQL configured, the fixture's own params would add a postgresql case
    assert engine.dialect.name == "sqlite"
    assert request.node.callspec.params["engine"] == "sqlite"


def test_the_backend_independent_demo_tests_run_once() -> None:
    from tests import test_anonymity_service, test_demo

    for test in (
        test_demo.test_full_demo_world_matches_the_figures,
        test_anonymity_service.test_demo_proposals_are_clean_and_planted_identifiers_are_found,
    ):
        assert _engine_params(test) == [["sqlite"]], test.__name__
    # the seed's determinism is still checked on both backends
    assert _engine_params(test_demo.test_demo_is_deterministic_for_a_seed) == []
