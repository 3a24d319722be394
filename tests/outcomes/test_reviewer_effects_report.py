"""The outcomes report states its minimum detectable bias and the reviewer-group effects
(JSON, page include, PDF), and the ranking page shows the correction's rank changes only to
those who may see identities."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
from pypdf import PdfReader
from sqlalchemy.orm import Session

from opencall.outcomes import queries as oq
from opencall.outcomes import report as oapi
from opencall.reviews import services as rv
from opencall.web.i18n import Translator
from opencall.web.pages import WEB, make_environment
from tests.test_bias_correction import _plant, _reviewed_call


@pytest.fixture
def reviewed_world(demo: Any) -> Iterator[Session]:
    """The demo world of seed 2 at scale 0.45 (built once per session, copied here)."""
    with demo(2, 0.45)() as s:
        yield s


def _render(template: str, lang: str = "en", **ctx: Any) -> str:
    env = make_environment(WEB / "templates")
    t = Translator(lang)
    return env.get_template(template).render({"_": t.gettext, **ctx})


def test_report_states_minimum_detectable_bias_and_the_planted_effect(
    reviewed_world: Session,
) -> None:
    db = reviewed_world
    call = _reviewed_call(db)
    biased, _victims = _plant(db, call)
    call.review_settings = {**call.review_settings, "bias_correction": True}
    db.flush()
    run = rv.run_calibration(db, call, seed=0, n_bootstrap=0)
    data = oq.report(db, call)
    eff = data["reviewer_effects"]
    assert eff["n_reviews"] > 0 and eff["tested"] > 0
    assert 0 < eff["mdb"]["min"] <= eff["mdb"]["median"] <= eff["mdb"]["max"]
    assert eff["statement"].startswith(
        f"With these reviews, a bias of at least {eff['mdb']['min']:.2f} points"
    )
    assert "80 % probability" in eff["statement"]
    for c in eff["cells"]:
        assert c["ci_low"] <= c["estimate"] <= c["ci_high"]
        assert c["p_value"] <= c["p_adjusted"] <= 1
        assert c["mdb"] > 0 and "80 % probability" in c["power_sentence"]
    hits = [
        c
        for c in eff["cells"]
        if c["significant"]
        and c["reviewer_group"] == biased
        and c["reviewer_cut"] == "un_region"
        and c["applicant_group"] in ("low", "lower-middle", "low or lower-middle", "LDC")
    ]
    assert hits and all(c["direction"] == "harsher" for c in hits)
    assert eff["flagged"] == sum(c["significant"] for c in eff["cells"])
    # the correction's effect, as counts (which proposals moved is on the ranking page)
    bc = run.summary["bias_correction"]
    assert eff["correction"]["enabled"] is True
    assert eff["correction"]["ranks_changed"] == bc["ranks_changed"] > 0
    assert "rank_changes" not in eff["correction"]
    json.loads(json.dumps(data, default=str, allow_nan=False))  # strict JSON, no NaN

    pdf_text = "".join(
        p.extract_text() for p in PdfReader(io.BytesIO(oapi.report_pdf(data))).pages
    ).replace("\n", " ")
    assert "would have been detected" in pdf_text
    assert "Reviewer-group effects" in pdf_text

    html = _render("outcomes/_reviewer_effects.html", data=data)
    assert f"a bias of at least {eff['mdb']['min']:.2f} points" in html
    assert biased in html and 'class="flag"' in html
    zh = _render("outcomes/_reviewer_effects.html", lang="zh", data=data)
    assert "评审组效应" in zh and f"{eff['mdb']['min']:.2f}" in zh


def test_ranking_page_include_hides_rank_changes_without_identities(
    reviewed_world: Session,
) -> None:
    db = reviewed_world
    call = _reviewed_call(db)
    _plant(db, call)
    call.review_settings = {**call.review_settings, "bias_correction": True}
    db.flush()
    run = rv.run_calibration(db, call, seed=0, n_bootstrap=0)
    bc = run.summary["bias_correction"]
    assert bc["rank_changes"]
    pid, before, after = bc["rank_changes"][0]
    rows = {p: {"code": f"CODE-{p}"} for p, _, _ in bc["rank_changes"]}
    shown = _render("reviews/_bias_correction.html", run=run, identities=True, rows=rows)
    hidden = _render("reviews/_bias_correction.html", run=run, identities=False, rows=rows)
    assert f"CODE-{pid}" in shown and "Rank without correction" in shown
    assert "CODE-" not in hidden and "Rank without correction" not in hidden
    for html in (shown, hidden):
        assert f"{bc['ranks_changed']} proposals changed rank" in html
