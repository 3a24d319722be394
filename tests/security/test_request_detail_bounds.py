"""A request's details without bound (trialcrowd14). The editor's page cuts each typed
field of a request at 300 characters and its table at 500 lines, but the details of a
preset kind of request (telescope, berth, dive, sample, seat, package) were checked by
their schema alone, which bounded neither a text (a berth's purpose, a sample's
techniques, a receiver's name) nor a list (a telescope's ``fixed_times_utc``, read by
nothing, took any number of strings of any length). Through the API one draft took a
request of 0.9 MB of junk, and 100 such requests (the bound on their number), copied
into each submitted revision and sent whole in every answer about the proposal (its
page, the API, the reviewers' view). Now every text and every list of a request's
details has a bound in its schema, which the page and the API share; beyond it the
request is refused (400, naming the field) and nothing is written."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from opencall.errors import DomainError
from opencall.proposals import services as prop_services
from opencall.proposals.models import Request
from opencall.proposals.schemas import DETAILS
from tests import factories as F
from tests.web.conftest import Web, World, api_bearer

pytestmark = pytest.mark.filterwarnings("ignore")


def _unbounded(schema: dict[str, Any]) -> list[str]:
    """Every string without ``maxLength`` (nor a fixed set of values) and every array
    without ``maxItems`` in a JSON schema, by its path."""
    defs = schema.get("$defs", {})
    out: list[str] = []

    def walk(s: dict[str, Any], where: str, seen: frozenset[str]) -> None:
        if "$ref" in s:
            name = s["$ref"].rsplit("/", 1)[-1]
            if name not in seen:
                walk(defs[name], where, seen | {name})
            return
        for key in ("anyOf", "oneOf", "allOf"):
            for sub in s.get(key, []):
                walk(sub, where, seen)
        kind = s.get("type")
        if kind == "string" and not {"maxLength", "enum", "const"} & s.keys():
            out.append(where)
        if kind == "array":
            if "maxItems" not in s:
                out.append(where)
            walk(s.get("items", {}), where + "[]", seen)
        for name, sub in s.get("properties", {}).items():
            walk(sub, f"{where}.{name}", seen)
        if isinstance(s.get("additionalProperties"), dict):
            out.append(where + ".*")

    walk(schema, "", frozenset())
    return out


@pytest.mark.parametrize("kind", sorted(DETAILS))
def test_every_text_and_list_of_a_request_is_bounded(kind: str) -> None:
    assert _unbounded(DETAILS[kind].model_json_schema()) == []


def test_the_api_refuses_a_request_beyond_its_bounds_and_writes_nothing(
    web: Web, world: World
) -> None:
    c = web.client()
    pi = api_bearer(web, world.emails["pi"])
    r = c.post("/api/v1/proposals", headers=pi, json={"call": world.slugs["call"], "title": "T"})
    assert r.status_code == 201, r.text
    pid, version = r.json()["id"], r.json()["version"]
    target = dict(F.TARGETS[0])
    fine = {"receiver": "19-beam", "mode": "Tracking", "targets": [target]}
    bad = {
        "details.fixed_times_utc": {**fine, "fixed_times_utc": ["x" * 1000] * 900},
        "details.receiver": {**fine, "receiver": "19-beam" + " " * 2 + "x" * 100_000},
        "details.targets": {**fine, "targets": [target] * 501},
    }
    for field, details in bad.items():
        body = {"version": version, "kind": "fast", "details": details}
        r = c.post(f"/api/v1/proposals/{pid}/requests", headers=pi, json=body)
        assert r.status_code == 400, (field, r.status_code, r.text[:300])
        assert r.json()["detail"].startswith(field), r.json()["detail"][:300]
        assert len(r.content) < 5000  # the refusal does not send the junk back
    with web.factory() as s:
        assert s.scalar(select(func.count(Request.id)).where(Request.proposal_id == pid)) == 0
    body = {"version": version, "kind": "fast", "details": fine}
    r = c.post(f"/api/v1/proposals/{pid}/requests", headers=pi, json=body)
    assert r.status_code == 201, r.text


def test_a_sample_requests_techniques_are_bounded(factory: sessionmaker[Session]) -> None:
    with factory() as s:
        call, pool = F.samples_call(s)
        p = prop_services.create_proposal(s, call, F.user(s), title="Regolith", now=F.NOW)
        details = {"sample_type": "CE-5 regolith", "mass_mg": 10, "techniques": "SEM " * 76}
        with pytest.raises(DomainError) as refused:
            prop_services.add_request(s, p, "sample", details, pool_id=pool.id, now=F.NOW)
        assert refused.value.field == "details.techniques"
        details["techniques"] = "SEM " * 75  # 300 characters, as the editor's field takes
        prop_services.add_request(s, p, "sample", details, pool_id=pool.id, now=F.NOW)
        s.rollback()
