"""SVG charts are valid, small and accessible; the PDF report renders and reads back."""

from __future__ import annotations

import datetime as dt
import io
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path

import matplotlib
import pytest
from pypdf import PdfReader

from opencall.outcomes import charts
from opencall.outcomes import domain as d
from opencall.outcomes.report_pdf import ATTRIBUTION, render_report_pdf

SVG = "{http://www.w3.org/2000/svg}"
BUDGET = 30_000
STAGES = ["applied", "eligible", "feasible", "awarded"]
GROUPS = ["low", "lower-middle", "upper-middle", "high", "unknown"]


def funnel_svg(title: str = "Applications by income group") -> str:
    counts: dict[str, list[float | None]] = {
        "low": [40, 30, None, 3],
        "lower-middle": [80, 70, 50, 20],
        "upper-middle": [120, 100, 80, 30],
        "high": [400, 380, 300, 100],
        "unknown": [None, None, None, None],
    }
    return charts.funnel_chart(counts, STAGES, title=title, ylabel="proposals")


def rate_svg() -> str:
    ks, ns = [3, 20, 30, 100, 0], [40, 80, 120, 400, 0]
    cis = [d.wilson_interval(k, n) for k, n in zip(ks, ns, strict=True)]
    rates = [k / n if n else None for k, n in zip(ks, ns, strict=True)]
    return charts.success_rate_chart(
        GROUPS,
        rates,
        [c[0] for c in cis],
        [c[1] for c in cis],
        title="Success rate (95 % Wilson interval)",
        reference=153 / 640,
    )


def ratio_svg(log_scale: bool = False) -> str:
    return charts.access_ratio_chart(
        GROUPS, [8.4, 1.2, 0.5, 0.63, None], title="Access ratio", log_scale=log_scale
    )


ALL: dict[str, Callable[[], str]] = {
    "funnel": funnel_svg,
    "rate": rate_svg,
    "ratio": ratio_svg,
    "ratio_log": lambda: ratio_svg(True),
}


@pytest.mark.parametrize("name", list(ALL))
def test_chart_is_valid_small_accessible_svg(name: str) -> None:
    svg = ALL[name]()
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    assert root.get("role") == "img" and root.get("aria-label")
    title = root.find(f"{SVG}title")
    desc = root.find(f"{SVG}desc")
    assert title is not None and title.text == root.get("aria-label")
    assert desc is not None and desc.text
    assert set((root.get("aria-labelledby") or "").split()) == {title.get("id"), desc.get("id")}
    assert len(svg.encode()) < BUDGET
    assert "<metadata" not in svg and "<!--" not in svg and "<?xml" not in svg
    assert "@font-face" not in svg and 'id="DejaVuSans' not in svg  # no embedded glyphs
    assert root.findall(f".//{SVG}text")  # labels are real text


def test_charts_are_deterministic_and_leave_global_state_alone() -> None:
    before = dict(matplotlib.rcParams)
    assert funnel_svg() == funnel_svg()
    assert dict(matplotlib.rcParams) == before


def test_titles_are_escaped_and_descriptions_summarise_data() -> None:
    svg = funnel_svg('Côte d\'Ivoire & <friends> "2025"')
    root = ET.fromstring(svg)
    assert root.find(f"{SVG}title").text == 'Côte d\'Ivoire & <friends> "2025"'  # type: ignore[union-attr]
    desc = root.find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "low: applied 40" in desc and "feasible n/a" in desc
    rdesc = ET.fromstring(ratio_svg()).find(f"{SVG}desc").text or ""  # type: ignore[union-attr]
    assert "low: 8.40" in rdesc and "unknown: n/a" in rdesc


def test_many_groups_stay_under_budget() -> None:
    regions = [f"Region {i}" for i in range(12)]
    svg = charts.funnel_chart(
        {r: [100 + i, 80, 50, 10] for i, r in enumerate(regions)}, STAGES, title="By region"
    )
    assert len(svg.encode()) < BUDGET
    ratios = charts.access_ratio_chart(
        [f"C{i:03d}" for i in range(40)], [0.1 * i for i in range(40)], title="Per country"
    )
    assert len(ratios.encode()) < BUDGET * 2  # 40 countries: still a small page asset
    ET.fromstring(ratios)


def test_chart_input_errors() -> None:
    with pytest.raises(ValueError):
        charts.funnel_chart({"low": [1, 2]}, STAGES, title="x")
    with pytest.raises(ValueError):
        charts.success_rate_chart(["a"], [0.1, 0.2], [0.0], [1.0], title="x")
    with pytest.raises(ValueError):
        charts.access_ratio_chart(["a", "b"], [1.0], title="x")


# --------------------------------------------------------------------------- PDF


def sample_report(title: str = "Who benefits: FAST 2025-26 open call") -> dict[str, object]:
    return {
        "title": title,
        "subtitle": "Outcomes by World Bank income group",
        "summary": "216 proposals from 16 countries, including Côte d'Ivoire.\n\n"
        "Low-income applicants received 10 % of the hours.",
        "funnel": {
            "title": "Funnel",
            "columns": ["group", "applied", "eligible", "feasible", "awarded"],
            "rows": [["low", 40, 30, "<5", "<5"], ["high", 400, 380, 300, 100]],
        },
        "access_ratios": {
            "title": "Access ratios",
            "columns": ["group", "awarded share", "researcher share", "ratio"],
            "rows": [["low", "10.0%", "1.2%", "8.40"], ["high", "60.0%", "95.2%", None]],
        },
        "charts": [
            {"title": "Funnel", "svg": funnel_svg()},
            {"title": "Success", "svg": rate_svg()},
            {"title": "Access", "svg": ratio_svg(True)},
        ],
        "created": dt.datetime(2026, 1, 1, tzinfo=dt.UTC),
    }


def read(data: bytes) -> tuple[PdfReader, str]:
    reader = PdfReader(io.BytesIO(data))
    return reader, "\n".join(p.extract_text() for p in reader.pages)


def test_pdf_renders_and_reads_back() -> None:
    data = render_report_pdf(sample_report())
    assert data.startswith(b"%PDF")
    reader, text = read(data)
    first = reader.pages[0].extract_text()
    assert "Who benefits: FAST 2025-26 open call" in first
    assert reader.metadata is not None and reader.metadata.title == sample_report()["title"]
    assert ATTRIBUTION in " ".join(text.split())
    assert "Côte d'Ivoire" in text
    assert "8.40" in text and "<5" in text and "awarded share" in text
    assert "proposals" in text  # chart text is drawn as text


def test_pdf_is_reproducible_with_a_creation_date() -> None:
    assert render_report_pdf(sample_report()) == render_report_pdf(sample_report())


def test_pdf_non_latin1_uses_dejavu_and_never_drops_text_silently() -> None:
    data = render_report_pdf(sample_report("Việt Nam, Ελλάδα, Україна: 谁受益"))
    _, text = read(data)
    assert "Việt Nam, Ελλάδα, Україна" in text
    assert "???" in text  # no CJK glyphs in DejaVu and no font_path: visible placeholders


CJK = Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc")


@pytest.mark.skipif(not CJK.exists(), reason="no CJK font on this machine")
def test_pdf_with_a_cjk_font_prints_chinese() -> None:
    report = {"title": "谁受益 Who benefits", "font_path": str(CJK)}
    _, text = read(render_report_pdf(report))
    assert "谁" in text and "益" in text


ARABIC = "تقرير مرصد القاهرة 2027"  # "Report of the Cairo Observatory 2027"


def _forms_of(data: bytes, code_point: int) -> int:
    """How many glyphs of the page's fonts stand for ``code_point`` (ToUnicode maps)."""
    import re

    import pikepdf

    with pikepdf.open(io.BytesIO(data)) as doc:
        n = 0
        for _name, font in doc.pages[0].Resources.Font.items():
            if "/ToUnicode" in font:
                cmap = font.ToUnicode.read_bytes().decode("latin-1")
                pairs = re.findall(r"<([0-9A-Fa-f]+)>\s*<([0-9A-Fa-f]+)>", cmap)
                n += sum(1 for _g, u in pairs if int(u, 16) == code_point)
        return n


def test_pdf_shapes_arabic_joined_and_right_to_left() -> None:
    import pypdfium2

    data = render_report_pdf({**sample_report(ARABIC), "summary": "محمد عبد الله، جامعة القاهرة"})
    page = pypdfium2.PdfDocument(data)[0]
    text = page.get_textpage().get_text_range()
    # drawn right to left: read back in the order it was written (unshaped, the letters
    # were drawn left to right and read back reversed: "2027 ةرهاقلا دصرم ريرقت")
    assert ARABIC in text and "محمد عبد الله" in text, text[:200]
    # joined: meem (U+0645) is drawn in more than one of its contextual forms
    assert _forms_of(data, 0x0645) > 1


@pytest.mark.skipif(not CJK.exists(), reason="no CJK font on this machine")
def test_pdf_shapes_arabic_beside_chinese_of_the_fallback_font() -> None:
    import pypdfium2

    report = {"title": "谁受益 " + ARABIC, "font_path": str(CJK)}
    text = pypdfium2.PdfDocument(render_report_pdf(report))[0].get_textpage().get_text_range()
    # (where the digits go beside the Arabic run in a left-to-right line is the bidi
    # algorithm's and the reader's business; the words are read back in order)
    assert "谁受益" in text and "تقرير مرصد القاهرة" in text, text[:200]


def test_pdf_needs_a_title() -> None:
    with pytest.raises(ValueError):
        render_report_pdf({"summary": "no title"})
