"""mend11: names in Bengali, Devanagari and Ethiopic script (and Arabic beside them) are
printed in the PDF report with real glyphs, on a machine with no font for them installed
(CI has the CJK fonts only): the report picks the fonts shipped with OpenCall
(``outcomes/fonts``, Noto Sans, OFL) for the characters DejaVu Sans lacks. Before, each
such letter was printed as "?"."""

from __future__ import annotations

import io

import pytest

from opencall.outcomes.report_pdf import render_report_pdf

NAMES = {
    "Bengali": "মোহাম্মদ রহমান",
    "Devanagari": "राजेश कुमार",
    "Ethiopic": "አበበ ቢቂላ",
    "Arabic": "محمد عبد الله",
}


def _text(data: bytes) -> str:
    import pypdfium2

    doc = pypdfium2.PdfDocument(data)
    return "\n".join(doc[i].get_textpage().get_text_range() for i in range(len(doc)))


def _fonts(data: bytes) -> set[str]:
    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as doc:
        return {
            str(font.get("/BaseFont", ""))
            for page in doc.pages
            for _name, font in page.Resources.Font.items()
        }


def _report(names: list[str]) -> dict[str, object]:
    return {
        "title": "Who benefits",
        "tables": [
            {"title": "Awarded", "columns": ["PI", "country"], "rows": [[n, "x"] for n in names]}
        ],
    }


@pytest.mark.parametrize("script", sorted(NAMES))
def test_a_name_in_a_script_without_an_installed_font_is_printed(script: str) -> None:
    name = NAMES[script]
    data = render_report_pdf(_report([name]))
    text = _text(data)
    assert "?" not in text, text[:300]
    # read back letter for letter (shaped runs: the words, each in its order)
    for word in name.split():
        assert word in text, (script, word, text[:300])


def test_every_script_in_one_report_and_only_the_fonts_it_needs() -> None:
    data = render_report_pdf(_report(list(NAMES.values())))
    text = _text(data)
    assert "?" not in text
    fonts = " ".join(_fonts(data))
    for script in ("Bengali", "Devanagari", "Ethiopic"):
        assert f"NotoSans{script}" in fonts or f"NotoSans-{script}" in fonts, fonts
    # a report in Bengali alone embeds no Ethiopic font
    alone = " ".join(_fonts(render_report_pdf(_report([NAMES["Bengali"]]))))
    assert "Ethiopic" not in alone and "Devanagari" not in alone, alone
