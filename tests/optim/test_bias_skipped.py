"""What the bias model does not test it says in ``skipped`` (English) and
``skipped_messages`` (for a page): one applicant group has nothing to be compared with."""

from __future__ import annotations

import numpy as np

from opencall.optim.bias import BiasData, interaction_model
from opencall.optim.messages import render


def _data(income: list[str]) -> BiasData:
    """Twelve proposals, each graded by three of six reviewers of two regions."""
    rng = np.random.default_rng(3)
    p = np.repeat(np.arange(12), 3)
    r = np.array([(i + k) % 6 for i in range(12) for k in range(3)])
    return BiasData(
        proposal_idx=p,
        reviewer_idx=r,
        grade=rng.normal(3.0, 1.0, p.size),
        n_proposals=12,
        n_reviewers=6,
        reviewer_groups={"un_region": ["Asia"] * 3 + ["Europe"] * 3},
        applicant_groups={"income_group": income},
    )


def test_one_income_group_is_said_in_skipped() -> None:
    for group in ("high", "low"):
        model = interaction_model(_data([group] * 12), min_cell_reviews=1, min_group_reviewers=1)
        assert model.interactions == []
        lines = [s for s in model.skipped if s.startswith("income_group")]
        assert lines == [f"income_group: every applicant in one group ({group})"], model.skipped
        assert [render(m) for m in model.skipped_messages] == model.skipped


def test_two_income_groups_are_compared_and_not_skipped() -> None:
    model = interaction_model(_data(["high", "low"] * 6), min_cell_reviews=1, min_group_reviewers=1)
    assert [c.applicant_cut for c in model.interactions] == ["income_group"]
    assert not [s for s in model.skipped if s.startswith("income_group:")]


def test_the_chairs_ranking_page_says_what_was_not_tested_in_four_languages() -> None:
    """``reviews/_bias_correction.html`` (the ranking page's correction section) lists the
    model's ``skipped`` as the calibration stored them, in the reader's language, the
    grouping and the group in words, never their codes (``income_group``, ``high``)."""
    from opencall.web.i18n import Translator
    from opencall.web.pages import WEB, make_environment

    model = interaction_model(_data(["high"] * 12), min_cell_reviews=1, min_group_reviewers=1)
    bc = {"cells": [], "skipped": model.skipped_messages}
    run = type("Run", (), {"summary": {"bias_correction": bc}})()
    env = make_environment(WEB / "templates")
    said = {
        "en": "Income group: every applicant in one group (High income)",
        "zh": "收入组：所有申请人都在同一组（高收入）",
        "fr": "Groupe de revenu : tous les demandeurs dans un seul groupe (Revenu élevé)",
        "es": "Grupo de ingreso: todos los solicitantes en un solo grupo (Ingreso alto)",
    }
    for lang, sentence in said.items():
        t = Translator(lang)
        html = env.get_template("reviews/_bias_correction.html").render(
            {"_": t.gettext, "run": run}
        )
        assert sentence in html, lang
        assert "income_group" not in html, lang
