"""An API body's unknown keys are refused, never dropped (trialcrowd15). Every JSON body
of the API but one refused a key it does not know (``extra="forbid"``); the review's took
any: ``{"grade": 4, "comment_to_applicants": "..."}`` (a letter short) was answered 200,
the review submitted and its comments lost, and a key the reviewer may not set
(``"status"``, ``"reviewer_id"``, ``"assignment_id"``) looked accepted. Now it is a 422
naming the key, nothing written; the walk fails on any body model that would drop one."""

from __future__ import annotations

import types
import typing
from typing import Any

import pytest
from fastapi.routing import APIRoute
from pydantic import BaseModel
from sqlalchemy import func, select

from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.reviews.models import Review
from tests.review_cycle import Cycle
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def _body_models(app: Any) -> list[tuple[str, type[BaseModel]]]:
    out: list[tuple[str, type[BaseModel]]] = []

    def walk(routes: list[Any], prefix: str) -> None:
        for r in routes:
            if hasattr(r, "original_router"):
                walk(r.original_router.routes, prefix + r.include_context.prefix)
            elif isinstance(r, APIRoute) and r.body_field is not None:
                hint = r.body_field.field_info.annotation
                args = typing.get_args(hint) if isinstance(hint, types.UnionType) else (hint,)
                for a in args:
                    # FastAPI's own models of multipart forms (uploads) are not JSON bodies
                    if isinstance(a, type) and issubclass(a, BaseModel):
                        if not a.__name__.startswith("Body_"):
                            out.append((prefix + r.path, a))

    walk(app.routes, "")
    return out


def test_every_json_body_refuses_unknown_keys(web: Web) -> None:
    models = _body_models(web.app)
    assert len(models) > 40  # the walk found the API's bodies
    loose = sorted(
        f"{path}: {m.__name__}" for path, m in models if m.model_config.get("extra") != "forbid"
    )
    assert not loose, loose


def test_a_review_with_an_unknown_key_is_refused_and_nothing_lost(web: Web, cycle: Cycle) -> None:
    with web.factory() as s:
        u = user_by_email(s, cycle.emails["assigned"])
        assert u is not None
        _t, raw = people_services.create_api_token(s, u, "t", scopes=("review",))
        s.commit()
    bearer, aid = {"Authorization": f"Bearer {raw}"}, cycle.ids["assignment"]
    api = web.client()
    for extra in ({"comment_to_applicants": "Strong case."}, {"status": "accepted"}):
        body = {"grade": 2.0, "confidence": 4, **extra}
        r = api.post(f"/api/v1/assignments/{aid}/review", headers=bearer, json=body)
        assert r.status_code == 422, r.text
        assert next(iter(extra)) in r.json()["detail"]
    with web.factory() as s:
        assert s.scalar(select(func.count(Review.id)).where(Review.assignment_id == aid)) == 0
