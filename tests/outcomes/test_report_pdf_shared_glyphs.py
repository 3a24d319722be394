"""The report's charts draw their text as glyph outlines (one ``<use>`` per letter):
each ``<use>`` shares the parsed glyph instead of deep-copying it (pdfspeed12), and
the pages read and look the same as with fpdf2's default copying."""

from __future__ import annotations

import pypdfium2 as pdfium
import pytest
from fpdf.drawing import PaintedPath

from opencall.outcomes import charts, report_pdf
from opencall.outcomes.report_pdf import render_report_pdf


def _report() -> dict[str, object]:
    with charts.text_as_paths():
        svg = charts.access_ratio_chart(
            ["low", "lower-middle", "upper-middle", "high", "unknown"],
            [8.4, 1.2, 0.5, 0.63, None],
            title="Access ratio (Côte d'Ivoire, Ελλάδα)",
        )
    assert "<use" in svg  # letters drawn as references to glyph outlines
    return {
        "title": "Who benefits: Ελλάδα",
        "tables": [{"title": "Funnel", "columns": ["group", "n"], "rows": [["low", 3]]}],
        "charts": [{"svg": svg}, {"svg": svg}],
    }


def _pages(pdf: bytes) -> list[tuple[str, bytes]]:
    doc = pdfium.PdfDocument(pdf)
    return [(p.get_textpage().get_text_range(), p.render(scale=2).to_pil().tobytes()) for p in doc]


def test_glyph_uses_are_not_deep_copied(monkeypatch: pytest.MonkeyPatch) -> None:
    copies = []
    original = PaintedPath.__deepcopy__

    def counting(self: PaintedPath, memo: dict[int, object]) -> PaintedPath:
        copies.append(self)
        return original(self, memo)

    monkeypatch.setattr(PaintedPath, "__deepcopy__", counting)
    assert render_report_pdf(_report()).startswith(b"%PDF")
    assert copies == []


def test_pages_read_and_look_as_with_fpdf2_copies(monkeypatch: pytest.MonkeyPatch) -> None:
    shared = render_report_pdf(_report())
    monkeypatch.setattr(report_pdf, "SHARE_SVG_USES", False)
    copied = render_report_pdf(_report())
    assert shared != copied  # the two paths really differ ...
    assert _pages(shared) == _pages(copied)  # ... but not in what a reader sees
