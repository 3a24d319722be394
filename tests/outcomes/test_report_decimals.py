"""The office report's decimals and shares in the reader's language (mend10c): "4,5 %"
and "3,25 [2,90; 3,60]" in French and Spanish, "4.5 %" and "3.25 [2.90, 3.60]" in English
and Chinese, on the page's tables, in the sentences and in the PDF (read back as text).
trialfac9 did the amounts ("56 500"); before this, every share, grade and difference was
written with English decimals in every language. The CSV and the JSON keep the dot."""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine
from sqlalchemy.orm import Session

from opencall.outcomes import queries as oq
from opencall.outcomes import report as oa
from opencall.web.i18n import Translator
from tests.test_pipeline import _cycle

RATE = {
    "family": "rate",
    "measure": "award_rate",
    "grouping": "income_group",
    "group": "low",
    "unit": "",
    "n": 40,
    "value": 0.045,
    "value_low": 0.02,
    "value_high": 0.09,
    "rest": 0.3,
    "difference": -0.255,
    "low": -0.35,
    "high": -0.15,
    "flagged": True,
    "direction": "lower",
    "status": "tested",
    "p_adjusted": 0.01,
}
GRADE = {
    **RATE,
    "family": "grade",
    "measure": "mean_grade",
    "value": 3.25,
    "value_low": 2.9,
    "value_high": 3.6,
    "rest": 3.671,
    "difference": -0.42,
    "low": -0.6,
    "high": -0.2,
    "p_adjusted": 0.02,
}
#: (rate cell, grade cell, grade difference cell) of the findings table, by language
WANT = {
    "en": ("4.5 % [2–9 %]", "3.25 [2.90, 3.60]", "-0.42 [-0.60, -0.20]"),
    "zh": ("4.5 % [2–9 %]", "3.25 [2.90, 3.60]", "-0.42 [-0.60, -0.20]"),
    "fr": ("4,5 % [2–9 %]", "3,25 [2,90; 3,60]", "-0,42 [-0,60; -0,20]"),
    "es": ("4,5 % [2–9 %]", "3,25 [2,90; 3,60]", "-0,42 [-0,60; -0,20]"),
}


@pytest.mark.parametrize("lang", sorted(WANT))
def test_the_findings_write_decimals_as_the_reader_does(lang: str) -> None:
    tr = Translator(lang)
    data = {"findings": [RATE, GRADE], "differences": []}
    rate_row, grade_row = oa.findings_rows(tr, data)
    rate, grade, diff = WANT[lang]
    assert rate_row[3] == rate and grade_row[3] == grade and grade_row[4] == diff
    sentence = oa.finding_sentence(tr, GRADE)
    assert grade.split()[0] in sentence and diff.split()[0] in sentence
    if lang in ("fr", "es"):
        assert not re.search(r"\d\.\d", " ".join([*rate_row, *grade_row, sentence]))


def test_the_after_award_tables_write_decimals_as_the_reader_does() -> None:
    data: dict[str, Any] = {
        "after_award": {
            "trend": [
                {"cycle": "2027", "group": "low", "applied": 8, "awarded": 2,
                 "award_rate": 0.25, "award_rate_low": 0.07, "award_rate_high": 0.59,
                 "produced_results": 1, "result_rate": 0.5, "result_rate_low": 0.09,
                 "result_rate_high": 0.91, "awarded_share": 0.125, "researcher_share": 0.004}
            ],
            "use": {"income_group": [
                {"group": "low", "awarded": 2, "publications_per_award": 1.5, "figures": {}}
            ]},
            "result_shares": {"income_group": [
                {"group": "low", "awards": 2, "award_share": 0.125, "award_share_low": 0.05,
                 "award_share_high": 0.3, "results": 3, "result_share": 0.2,
                 "result_share_low": 0.1, "result_share_high": 0.4, "difference": 0.075,
                 "difference_low": -0.1, "difference_high": 0.2, "judged": True}
            ]},
        }
    }  # fmt: skip
    fr, en = Translator("fr"), Translator("en")
    assert oa.trend_table(fr, data)["rows"][0][-2:] == ["12,5 %", "0,4 %"]
    assert oa.trend_table(en, data)["rows"][0][-2:] == ["12.5 %", "0.4 %"]
    assert oa.use_table(fr, data, "income_group")["rows"][0][2] == "1,50"
    assert oa.use_table(en, data, "income_group")["rows"][0][2] == "1.50"
    assert oa.result_share_table(fr, data, "income_group")["rows"][0][5] == "+8 [-10; +20]"
    assert oa.result_share_table(en, data, "income_group")["rows"][0][5] == "+8 [-10, +20]"


@pytest.fixture
def run_call(demo: Any, engine: Engine) -> Iterator[tuple[Session, Any]]:
    """The demo world of seed 2 at scale 0.12 (tests/test_outcomes_report.py's), its
    trench call run through the cycle: on SQLite only (the formatting reads no database)."""
    if engine.dialect.name != "sqlite":
        pytest.skip("the report's formatting is the same on every backend")
    with demo(2, 0.12)() as s:
        yield s, _cycle(s, "trench-2027")


def test_the_french_pdf_and_the_machine_files(run_call: tuple[Session, Any]) -> None:
    """The French PDF, read back as text, carries the report's decimals with a comma
    (those of its findings table and its context tables), never with a dot; the CSV
    and the JSON keep the dot."""
    from pypdf import PdfReader

    db, call = run_call
    data = oq.report(db, call)
    fr, en = Translator("fr"), Translator("en")
    doc_fr, doc_en = oa.report_document(data, fr), oa.report_document(data, en)
    effects_fr = oq.reviewer_effects_pdf(data, "fr")[1]
    effects_en = oq.reviewer_effects_pdf(data, "en")[1]
    pairs = set()
    for t_fr, t_en in zip(
        [doc_fr["findings"], *doc_fr["context"], *effects_fr],
        [doc_en["findings"], *doc_en["context"], *effects_en],
        strict=True,
    ):
        for r_fr, r_en in zip(t_fr["rows"], t_en["rows"], strict=True):
            for c_fr, c_en in zip(r_fr[1:], r_en[1:], strict=True):
                commas, dots = re.findall(r"\d+,\d+", c_fr), re.findall(r"\d+\.\d+", c_en)
                assert len(commas) == len(dots), f"English decimals in French: {c_fr}"
                pairs.update(zip(commas, dots, strict=True))
    said = oa._detectable_bias(fr, data)
    if said:  # the reviewer effects' minimum detectable bias, as the page says it
        pairs.update(
            zip(
                re.findall(r"\d+,\d+", said),
                re.findall(r"\d+\.\d+", str(oa._detectable_bias(en, data))),
                strict=True,
            )
        )
    assert pairs, "the report has decimals to read"
    pdf = oa.report_pdf(data, fr, "fr")
    text = re.sub(r"\s+", " ", " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages))
    for comma, dot in sorted(pairs):
        assert comma in text, comma
        assert not re.search(rf"(?<![\d.]){re.escape(dot)}(?!\d)", text), dot
    # the machine-readable files keep the dot
    assert re.search(r"\d\.\d", oq.report_json(data))
    assert re.search(r"\d\.\d", oq.report_csv(data))


@pytest.mark.parametrize(
    ("lang", "want"), [("en", "0.41 +0.25 12.5 0.0123"), ("fr", "0,41 +0,25 12,5 0,0123")]
)
def test_the_pages_filters_write_the_readers_decimals(lang: str, want: str) -> None:
    """The report page's reviewer-effects and after-award parts (``dec`` and ``general``
    filters: they wrote "%.2f", "%+.2f", round(1) and "%.3g" in every language)."""
    from opencall.web.pages import _READER_LANG, fmt_dec, fmt_general

    token = _READER_LANG.set(lang)
    try:
        got = " ".join(
            [fmt_dec(0.4123), fmt_dec(0.25, 2, True), fmt_dec(12.46, 1), fmt_general(0.01234)]
        )
    finally:
        _READER_LANG.reset(token)
    assert got == want


def test_the_pdfs_flagged_reviewer_effects_are_in_the_readers_language(
    run_call: tuple[Session, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A flagged reviewer-group effect's sentence in the PDF's summary is said in the
    report's language, its numbers in the language's decimal sign; the English PDF keeps
    the optimiser's sentence. Before, the sentence stayed English in zh, fr and es."""
    from opencall.outcomes import report_pdf

    db, call = run_call
    data = oq.report(db, call)
    cell = {
        "reviewer_group": "Europe", "applicant_group": "Africa", "reference_group": "Asia",
        "estimate": -0.5, "ci_low": -0.9, "ci_high": -0.1, "p_adjusted": 0.0123,
        "p_value": 0.001, "mdb": 0.4, "marginal_difference": -0.2, "significant": True,
        "sentence": "Reviewers from Europe grade applicants from Africa 0.50 points less "
        "favourably, relative to applicants from Asia, than other reviewers do (95 % interval "
        "-0.90 to -0.10, adjusted p=0.0123).",
    }  # fmt: skip
    data["reviewer_effects"] = {**data["reviewer_effects"], "cells": [cell], "tested": 1}
    summaries: dict[str, str] = {}
    monkeypatch.setattr(report_pdf, "render_report_pdf", lambda report: report["summary"])
    for lang in ("en", "fr", "zh", "es"):
        summaries[lang] = oa.report_pdf(data, Translator(lang), lang)  # type: ignore[assignment]
    assert cell["sentence"] in summaries["en"]
    for lang in ("fr", "zh", "es"):
        assert "grade applicants from" not in summaries[lang], summaries[lang]
        assert "too few reviews" not in summaries[lang], summaries[lang]
    assert (
        "Les évaluateurs de Europe notent les candidats de Afrique 0,50 points moins "
        "favorablement, par rapport aux candidats de Asie, que les autres évaluateurs "
        "(intervalle à 95 % de -0,90 à -0,10, p ajusté = 0,0123)."
    ) in summaries["fr"], summaries["fr"]
