"""The outcomes report as a PDF (fpdf2), from a plain dict; bytes out, nothing written.

``render_report_pdf(report)`` takes:

- ``title`` (str, required), ``subtitle`` (str), ``summary_title`` (str),
  ``summary`` (str; blank lines separate paragraphs);
- table dicts may carry ``note`` (str, printed small under the table) and
  ``widths`` (relative column widths);
- ``funnel`` and ``access_ratios``: tables, each ``{"title": str, "columns":
  [str, ...], "rows": [[cell, ...], ...]}`` (cells are printed with ``str``;
  ``None`` prints as an empty cell), and ``tables``: a list of further tables;
- ``charts``: ``[{"title": str, "svg": str}, ...]`` (e.g. from ``outcomes.charts``);
- ``notes`` (str), ``attribution`` (str; default ``ATTRIBUTION``);
- ``created`` (datetime, for reproducible bytes), ``font_path`` (a TTF used
  for characters outside Latin-1 that DejaVu Sans lacks, e.g. a CJK font).

Fonts: the PDF core font Helvetica when every string fits Latin-1 (country names
such as "Côte d'Ivoire" do); otherwise DejaVu Sans, which ships with matplotlib
(``mpl-data/fonts/ttf``), for Greek, Cyrillic, Vietnamese and the like.
DejaVu has no CJK glyphs: pass ``font_path`` to a CJK font for Chinese text;
without one, characters no font has are printed as "?" rather than silently
dropped. Text in a right-to-left script or with combining marks (Arabic, Hebrew,
Bengali...) is shaped by HarfBuzz (``uharfbuzz``, fpdf2's text shaping): joined
letters, in right-to-left order. DejaVu Sans has Arabic and Hebrew but no Bengali,
Devanagari or Ethiopic glyphs: for those, the fonts shipped in ``outcomes/fonts`` (Noto
Sans Bengali, Devanagari, Ethiopic: subsets of Debian's fonts-noto-core, OFL, about
0.5 MB together, ``SCRIPT_FONTS``) are added as fallback fonts, each only when the
report has a character that it has and DejaVu (and ``font_path``) lack, so a report
needs no font installed on the machine for these names, and embeds only what it uses.
"""

from __future__ import annotations

import datetime as dt
import functools
import io
import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from opencall.diagnostics import NATIVE_LOCK

#: fonts shipped with OpenCall for scripts DejaVu Sans lacks (see the module docstring)
FONT_DIR = Path(__file__).parent / "fonts"
SCRIPT_FONTS = (
    FONT_DIR / "NotoSansBengali-Regular.ttf",
    FONT_DIR / "NotoSansDevanagari-Regular.ttf",
    FONT_DIR / "NotoSansEthiopic-Regular.ttf",
)
ATTRIBUTION = "World Bank, World Development Indicators; United Nations Statistics Division, M49"
_FAMILY = "report"


def _strings(report: Mapping[str, Any]) -> Iterable[str]:
    for key in ("title", "subtitle", "summary_title", "summary", "notes", "attribution"):
        if isinstance(report.get(key), str):
            yield report[key]
    for table in _tables(report):
        yield str(table.get("title", ""))
        yield str(table.get("note", ""))
        yield from (str(c) for c in table.get("columns", []))
        for row in table.get("rows", []):
            yield from ("" if c is None else str(c) for c in row)
    for chart in report.get("charts", []) or []:
        yield str(chart.get("title", ""))


def _tables(report: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    out = [report[k] for k in ("funnel", "access_ratios") if report.get(k)]
    out += list(report.get("tables", []) or [])
    return out


def _dejavu_paths() -> tuple[Path, Path]:
    import matplotlib

    base = Path(matplotlib.get_data_path()) / "fonts" / "ttf"
    return base / "DejaVuSans.ttf", base / "DejaVuSans-Bold.ttf"


@functools.lru_cache(maxsize=16)
def _cmap(path: Path) -> frozenset[int]:
    """Code points a font file (.ttf/.otf, or the first font of a .ttc) has glyphs for
    (read once per file and process: a CJK collection's map takes a while)."""
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True, fontNumber=0) as font:
        best = font.getBestCmap() or {}
        return frozenset(best)


def _strip_svg_a11y(svg: str) -> str:
    """fpdf2 does not render <title>/<desc> (and logs a warning for each): drop them."""
    svg = re.sub(r"<title[^>]*>.*?</title>", "", svg, flags=re.S)
    return re.sub(r"<desc[^>]*>.*?</desc>", "", svg, flags=re.S)


def render_report_pdf(report: Mapping[str, Any]) -> bytes:
    """Render the report; see the module docstring for the keys of ``report``.

    Under ``NATIVE_LOCK``: fpdf2 shapes and subsets fonts with fontTools and draws the
    charts' SVG, and the charts are built with matplotlib (see ``charts``), none of it
    safe to run twice at once from the web process's thread pool."""
    with NATIVE_LOCK:
        return _render_report_pdf(report)


def _render_report_pdf(report: Mapping[str, Any]) -> bytes:
    from fpdf import FPDF
    from fpdf.enums import TableCellFillMode

    title = report.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ValueError("report needs a non-empty 'title'")
    attribution = str(report.get("attribution") or ATTRIBUTION)

    texts = list(_strings(report)) + [attribution]
    latin1 = all(_fits_latin1(t) for t in texts)

    class Report(FPDF):
        def footer(self) -> None:
            self.set_y(-12)
            self.set_font(_FAMILY if not latin1 else "Helvetica", size=7)
            self.set_text_color(110)
            self.cell(0, 5, f"{self.page_no()}/{{nb}}", align="R")

    pdf = Report(format="A4")
    pdf.set_margins(18, 16, 18)
    pdf.set_auto_page_break(True, margin=16)
    pdf.alias_nb_pages()
    created = report.get("created")
    if isinstance(created, dt.datetime):
        pdf.set_creation_date(created if created.tzinfo else created.replace(tzinfo=dt.UTC))
    pdf.set_title(title)
    pdf.set_creator("OpenCall")

    clean = _text_cleaner(latin1, pdf, report.get("font_path"), texts)
    if not latin1 and any(_needs_shaping(t) for t in texts):
        _shape(pdf)
    family = "Helvetica" if latin1 else _FAMILY

    pdf.add_page()
    pdf.set_font(family, "B", 16)
    pdf.multi_cell(0, 8, clean(title), new_x="LMARGIN", new_y="NEXT", align="L")
    if report.get("subtitle"):
        pdf.set_font(family, "", 11)
        pdf.set_text_color(80)
        pdf.multi_cell(0, 6, clean(str(report["subtitle"])), new_x="LMARGIN", new_y="NEXT")
        pdf.set_text_color(0)
    pdf.ln(3)
    if report.get("summary_title"):
        pdf.set_font(family, "B", 12)
        pdf.multi_cell(0, 7, clean(str(report["summary_title"])), new_x="LMARGIN", new_y="NEXT")
    if report.get("summary"):
        pdf.set_font(family, "", 10)
        for para in re.split(r"\n\s*\n", str(report["summary"]).strip()):
            pdf.multi_cell(
                0, 5, clean(" ".join(para.split())), new_x="LMARGIN", new_y="NEXT", align="L"
            )
            pdf.ln(2)

    for table in _tables(report):
        columns = [clean(str(c)) for c in table.get("columns", [])]
        rows: Sequence[Sequence[Any]] = table.get("rows", [])
        if table.get("title"):
            pdf.ln(2)
            pdf.set_font(family, "B", 11)
            pdf.multi_cell(0, 6, clean(str(table["title"])), new_x="LMARGIN", new_y="NEXT")
        pdf.set_font(family, "", 8.5)
        align = tuple(["LEFT"] + ["RIGHT"] * max(0, len(columns) - 1))
        widths = table.get("widths")
        with pdf.table(
            col_widths=tuple(widths) if widths and len(widths) == len(columns) else None,
            text_align=align,
            cell_fill_color=245,
            cell_fill_mode=TableCellFillMode.ROWS,
            line_height=5,
            first_row_as_headings=bool(columns),
        ) as t:
            if columns:
                head = t.row()
                for c in columns:
                    head.cell(c)
            for row in rows:
                r = t.row()
                for cell in row:
                    r.cell(clean("" if cell is None else str(cell)))
        if table.get("note"):
            pdf.set_font(family, "", 7.5)
            pdf.set_text_color(90)
            pdf.multi_cell(
                0, 4, clean(str(table["note"])), new_x="LMARGIN", new_y="NEXT", align="L"
            )
            pdf.set_text_color(0)
        pdf.ln(2)

    charts = report.get("charts", []) or []
    svg_logger = logging.getLogger("fpdf.svg")
    for chart in charts:
        svg = _strip_svg_a11y(str(chart["svg"]))
        if chart.get("title"):
            pdf.set_font(family, "B", 11)
            pdf.multi_cell(0, 6, clean(str(chart["title"])), new_x="LMARGIN", new_y="NEXT")
        before = svg_logger.level
        svg_logger.setLevel(logging.ERROR)  # unsupported-attribute chatter from fpdf2
        try:
            _draw_svg(pdf, svg)
        finally:
            svg_logger.setLevel(before)
        pdf.ln(3)

    if report.get("notes"):
        pdf.set_font(family, "", 9)
        pdf.multi_cell(0, 4.5, clean(str(report["notes"])), new_x="LMARGIN", new_y="NEXT")
        pdf.ln(2)
    pdf.set_font(family, "", 8)
    pdf.set_text_color(90)
    pdf.multi_cell(0, 4, clean("Sources: " + attribution), new_x="LMARGIN", new_y="NEXT")
    return bytes(pdf.output())


#: False: every ``<use>`` deep-copies the element it references, as fpdf2 does by
#: default (kept callable for bench/bench_report_pdf.py)
SHARE_SVG_USES = True


def _draw_svg(pdf: Any, svg: str) -> None:
    """Draw ``svg`` across the page's width, flowing like ``pdf.image(...)``.

    The charts draw their text as outlines (``charts.text_as_paths``): one ``<path>``
    per glyph in ``<defs>`` and one ``<use>`` per letter shown. fpdf2 deep-copies the
    referenced path for each ``<use>`` (most of a report's CPU); nothing changes a
    parsed glyph afterwards, so each ``<use>`` here shares it instead. Same drawing,
    same page content."""
    data = io.BytesIO(svg.encode("utf-8"))
    if not SHARE_SVG_USES or not hasattr(pdf, "_vector_image"):
        pdf.image(data, w=pdf.epw)
        return
    from fpdf.image_datastructures import VectorImageInfo

    parsed = _shared_use_svg_class()(data.getvalue(), image_cache=pdf.image_cache)
    _, _, w, h = parsed.viewbox or (0, 0, parsed.width, parsed.height)
    info = VectorImageInfo(data=parsed, w=parsed.width or w, h=parsed.height or h)
    pdf._vector_image("<svg>", parsed, info, w=pdf.epw)


@functools.cache
def _shared_use_svg_class() -> Any:
    from fpdf.drawing import GraphicsContext
    from fpdf.svg import SVGObject

    class Shared(GraphicsContext):
        """A ``<use>``'s target: copying it copies the wrapper, not the glyph path."""

        def __deepcopy__(self, memo: dict[int, Any]) -> Shared:
            return self

    class SharedUses(SVGObject):
        def build_xref(self, xref: Any) -> Any:
            refs = self.cross_references
            self.cross_references = _SharedRefs(refs, Shared)
            try:
                return super().build_xref(xref)
            finally:
                self.cross_references = refs

    return SharedUses


class _SharedRefs(dict[str, Any]):
    """``cross_references`` as ``build_xref`` sees it: each target in a shared wrapper."""

    def __init__(self, refs: dict[str, Any], wrapper: Any) -> None:
        super().__init__(refs)
        self._wrapper = wrapper

    def __getitem__(self, key: str) -> Any:
        wrapped = self._wrapper()
        wrapped.add_item(super().__getitem__(key), clone=False)
        return wrapped


CJK_FONTS = (
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/truetype/noto/NotoSansCJK-Regular.ttc",
    "/usr/share/fonts/opentype/noto/NotoSerifCJK-Regular.ttc",
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
)


def cjk_font() -> str | None:
    """A CJK font installed on this machine (Debian's fonts-noto-cjk), or None."""
    return next((p for p in CJK_FONTS if Path(p).exists()), None)


def _needs_shaping(text: str) -> bool:
    """Whether ``text`` must be shaped to be read: right-to-left letters (Arabic,
    Hebrew: joined forms, right-to-left order) or combining marks (Bengali conjuncts,
    Devanagari vowel signs, stacked accents), which a font's plain character map
    draws as isolated letters in the wrong order."""
    return any(
        unicodedata.bidirectional(ch) in ("R", "AL") or unicodedata.category(ch).startswith("M")
        for ch in text
    )


def _shape(pdf: Any) -> None:
    """Shape text with HarfBuzz (fpdf2's text shaping, which also orders mixed
    right-to-left and left-to-right runs by the Unicode bidi algorithm); without the
    ``uharfbuzz`` package, the text is written unshaped as before, with a warning."""
    try:
        pdf.set_text_shaping(True)
    except Exception:  # noqa: BLE001 - fpdf2 raises its own error when uharfbuzz is missing
        logging.getLogger(__name__).warning(
            "uharfbuzz is not installed: Arabic, Hebrew and Indic text is not shaped"
        )


def _fits_latin1(text: str) -> bool:
    try:
        text.encode("latin-1")
    except UnicodeEncodeError:
        return False
    return True


def _text_cleaner(latin1: bool, pdf: Any, font_path: Any, texts: Iterable[str] = ()) -> Any:
    """Register fonts when needed; return a function that makes a string printable.
    ``texts``: the report's strings, whose characters pick the shipped script fonts."""
    if latin1:
        return lambda s: s
    regular, bold = _dejavu_paths()
    pdf.add_font(_FAMILY, "", str(regular))
    pdf.add_font(_FAMILY, "B", str(bold))
    covered = set(_cmap(regular))
    fallbacks: list[str] = []
    if font_path:  # a .ttc collection uses its first font
        pdf.add_font("fallback", "", str(font_path), collection_font_number=0)
        pdf.add_font("fallback", "B", str(font_path), collection_font_number=0)
        fallbacks.append("fallback")
        covered |= _cmap(Path(font_path))
    # the shipped fonts for scripts no font so far has, each only where the text needs it
    # (its regular face stands for bold too)
    wanted = {ord(ch) for t in texts for ch in t} - covered
    for k, path in enumerate(SCRIPT_FONTS):
        has = _cmap(path)
        if wanted & has:
            name = f"script{k}"
            pdf.add_font(name, "", str(path))
            pdf.add_font(name, "B", str(path))
            fallbacks.append(name)
            covered |= has
            wanted -= has
    if fallbacks:
        pdf.set_fallback_fonts(fallbacks)

    def clean(s: str) -> str:
        return "".join(ch if ord(ch) in covered or ch in "\n\t" else "?" for ch in s)

    return clean
