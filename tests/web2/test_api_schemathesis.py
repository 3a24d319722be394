"""schemathesis against the OpenAPI document of /api/v1 (through the ASGI app,
no server): no operation answers with a server error, whatever it is sent.
Bounded: a few examples per operation, as a chair with a token (so that the
authorised paths run too) over the small dual-anonymous call."""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.orm import Session, sessionmaker

from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from tests.web2.conftest import Web, build_cycle

pytestmark = pytest.mark.filterwarnings("ignore")


def test_api_has_no_server_error(web: Web, factory: sessionmaker[Session]) -> None:
    with factory() as s:
        cycle = build_cycle(s)
        u = user_by_email(s, cycle.emails["chair"])
        assert u is not None
        _tok, raw = people_services.create_api_token(s, u, "schemathesis")
        s.commit()
    headers = {"Authorization": f"Bearer {raw}"}
    schema = schemathesis.openapi.from_asgi("/api/v1/openapi.json", web.app).include(
        path_regex="^/api/v1/"
    )
    n = 0
    for result in schema.get_all_operations():
        op = result.ok()
        n += 1

        @given(case=op.as_strategy())
        @settings(
            max_examples=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            derandomize=True,
            database=None,
        )
        def run(case: Any) -> None:
            response = case.call(headers=headers)
            case.validate_response(response, checks=[not_a_server_error])

        run()
    assert n >= 15


def test_openapi_document(web: Web) -> None:
    doc = web.client().get("/api/v1/openapi.json").json()
    assert doc["openapi"].startswith("3.")
    assert any(p.startswith("/api/v1/calls") for p in doc["paths"])
    assert "HTTPBearer" in doc["components"]["securitySchemes"]
