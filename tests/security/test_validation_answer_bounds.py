"""A 422 as large as its mistakes (trialcrowd14). The API answers a body that does not fit
its schema with every one of pydantic's errors, each said in ``detail`` and listed under
``errors`` with the input it repeats. A client without any account sent a JSON object of
60,000 unknown keys (829 kB, under the 1 MiB limit) to ``POST /api/v1/proposals`` and got
a 422 of 9.9 MB (one "Extra inputs are not permitted" per key) for about 2 s of the
server's CPU: twelve times what it sent, as often as it liked. Now an answer says the first
``MAX_ERRORS`` problems and how many more there are."""

from __future__ import annotations

import json

import pytest

from opencall.web.api import MAX_ERRORS
from tests.web.conftest import Web, World, api_bearer

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.mark.parametrize("signed_in", [False, True])
def test_a_body_with_many_mistakes_gets_a_bounded_answer(
    web: Web, world: World, signed_in: bool
) -> None:
    c = web.client()
    headers = {"content-type": "application/json"}
    if signed_in:
        headers |= api_bearer(web, world.emails["pi"])
    body = json.dumps({"call": world.slugs["call"], **{f"k{i}": [] for i in range(60_000)}})
    r = c.post("/api/v1/proposals", content=body, headers=headers)
    assert r.status_code == 422
    assert len(r.content) < 20_000, len(r.content)
    answer = r.json()
    assert len(answer["errors"]) == MAX_ERRORS
    assert answer["errors"][0]["loc"] == ["body", "title"]  # the first, in pydantic's order
    said = answer["detail"].split("; ")
    assert said[0] == "title: Field required" and said[1] == "k0: Extra inputs are not permitted"
    assert said[-1] == f"and {60_001 - MAX_ERRORS} more problems", said[-1]


def test_a_few_mistakes_are_all_said(web: Web, world: World) -> None:
    c = web.client()
    pi = api_bearer(web, world.emails["pi"])
    r = c.post("/api/v1/proposals", headers=pi, json={"call": 3, "junk": 1})
    assert r.status_code == 422
    assert r.json()["detail"] == (
        "call: Input should be a valid string; title: Field required; "
        "junk: Extra inputs are not permitted"
    )
    assert len(r.json()["errors"]) == 3
