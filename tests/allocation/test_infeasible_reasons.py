"""Why a request is not feasible (the technical review, a dive site off the leg's route, a
same-time bundle without enough common slots) is kept as a message id and its parameters,
so that a page says it in the reader's language; its English text is the one the CSV, the
API and the stored rows always showed."""

from __future__ import annotations

from types import SimpleNamespace

from opencall.allocation.presenters import explain
from opencall.allocation.services import _feasibility
from opencall.optim.messages import M_, render
from opencall.web.i18n import Translator
from tests.allocation.test_explanation_messages import decision

LEG = SimpleNamespace(
    pool_id=7, pool=SimpleNamespace(attributes={"route": [[0.0, 0.0], [0.0, 1.0]]})
)
CALL = SimpleNamespace(allocation_policy={}, pools=[LEG])
DIVE = {"kind": "dive", "pool_id": 7, "details": {"sites": [{"lat": 40.0, "lon": 40.0}]}}


def _said(lang: str, why: object) -> str:
    assert isinstance(why, dict)
    return explain(Translator(lang), decision(("dive", M_("not feasible: %(why)s", why=why))))


def test_the_reasons_a_request_is_not_feasible_are_said_in_the_readers_language() -> None:
    p = SimpleNamespace(id=1)
    judged = _feasibility(None, CALL, p, DIVE, {1: SimpleNamespace(verdict="not_feasible")}, {})  # type: ignore[arg-type]
    far = _feasibility(None, CALL, p, DIVE, {}, {})  # type: ignore[arg-type]
    assert judged is not None and far is not None
    assert render(judged) == "judged not feasible by the technical review"
    assert render(far) == "no dive site lies within 50 km of the leg's route"
    assert _said("fr", judged).endswith(": jugée non faisable par l’évaluation technique")
    assert "50 km" in _said("fr", far) and "aucun site de plongée" in _said("fr", far)
    assert "技术审查" in _said("zh", judged) and "revisión técnica" in _said("es", judged)
    assert _said("en", far).endswith("no dive site lies within 50 km of the leg's route")
    near = {**DIVE, "details": {"sites": [{"lat": 0.1, "lon": 0.5}]}}
    assert _feasibility(None, CALL, p, near, {}, {}) is None  # type: ignore[arg-type]
