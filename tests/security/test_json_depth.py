"""A JSON body nested deeper than any of the API's bodies is refused by the request
guard with one clear 400, before any route or error handler walks it (trialcrowd24).

Before, the guard bounded nesting only by what ``json.loads`` could parse: a value
nested some 480 levels deep passed it, failed the route's schema, and the 422's handler
walked pydantic's copy of it (``jsonable_encoder``, then ``_escaped_all``) on top of the
request's stack until ``RecursionError``: a 500 "internal error", and a traceback in the
log, for one request of a few kilobytes, on every API write. Some 950 levels deep the
guard's own walk (``_clean``) ran out of stack and the answer was a bare 400 "bad
request". Now nesting beyond :data:`~opencall.web.guard.MAX_JSON_DEPTH` levels is
refused first ("the JSON body is nested too deeply ..."), counted without recursion."""

from __future__ import annotations

from typing import Any

import pytest

from opencall.proposals.models import Proposal
from opencall.web.guard import MAX_JSON_DEPTH, Refused, check_json, json_depth
from tests.web.conftest import Web, World, api_bearer

pytestmark = pytest.mark.filterwarnings("ignore")


def _proposal(web: Web, pid: int) -> tuple[int, str]:
    with web.factory() as s:
        p = s.get(Proposal, pid)
        assert p is not None
        return p.version, p.title


def _patch(web: Web, world: World, bearer: dict[str, str], body: str) -> Any:
    return web.client().patch(
        f"/api/v1/proposals/{world.ids['proposal']}",
        content=body.encode(),
        headers={**bearer, "Content-Type": "application/json"},
    )


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the web layer's answer
def test_no_nesting_is_a_server_error(web: Web, world: World, one_loop: None) -> None:
    """Every depth up to past the parser's own limit: a 4xx that says why, never a 5xx."""
    bearer = api_bearer(web, world.emails["pi"])
    before = _proposal(web, world.ids["proposal"])
    version = before[0]
    answers: dict[int, tuple[int, str]] = {}
    for depth in range(MAX_JSON_DEPTH + 1, 1_101, 5):
        value = "[" * depth + "]" * depth
        r = _patch(web, world, bearer, f'{{"version": {version}, "title": {value}}}')
        answers[depth] = (r.status_code, r.json()["detail"])
    assert {d: a for d, a in answers.items() if a[0] >= 500} == {}
    assert {d: a for d, a in answers.items() if a[1] == "bad request"} == {}
    wrong = {d: a for d, a in answers.items() if a[0] != 400 or "nested too deeply" not in a[1]}
    assert wrong == {}, wrong
    assert _proposal(web, world.ids["proposal"]) == before


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the web layer's answer
def test_the_limit_is_one_level_past_the_deepest_allowed(web: Web, world: World) -> None:
    bearer = api_bearer(web, world.emails["pi"])
    version = _proposal(web, world.ids["proposal"])[0]
    # the body's object is one level: a title nested MAX_JSON_DEPTH - 1 more is allowed
    # through the guard (and refused by the schema, a string expected)
    inner = MAX_JSON_DEPTH - 1
    r = _patch(
        web, world, bearer, f'{{"version": {version}, "title": {"[" * inner + "]" * inner}}}'
    )
    assert r.status_code == 422 and r.json()["detail"].startswith("title: "), r.text[:300]
    inner += 1
    r = _patch(
        web, world, bearer, f'{{"version": {version}, "title": {"[" * inner + "]" * inner}}}'
    )
    assert r.status_code == 400, r.text[:300]
    assert r.json()["detail"] == (
        f"the JSON body is nested too deeply ({MAX_JSON_DEPTH} levels at most)"
    )


def test_depth_is_counted_without_recursion() -> None:
    assert json_depth(1) == 0 and json_depth("x") == 0
    assert json_depth([]) == 1 and json_depth({}) == 1
    assert json_depth({"a": [1, {"b": []}], "c": {}}) == 4
    deep: Any = []
    for _ in range(100_000):  # far past the interpreter's recursion limit
        deep = [deep]
    assert json_depth(deep) == 100_001
    with pytest.raises(Refused, match="nested too deeply"):
        check_json(b"[" * (MAX_JSON_DEPTH + 1) + b"]" * (MAX_JSON_DEPTH + 1))
    assert check_json(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH) is None
