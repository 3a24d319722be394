"""Small, accessible SVG charts for the outcomes pages and the PDF report.

Pure functions: plain data (lists, dicts) and already translated strings in,
an SVG string out. Nothing is read or written.

matplotlib is imported inside each function and used through its object API
(``matplotlib.figure.Figure`` + ``savefig(format="svg")``), never through pyplot:
that needs no GUI backend at all (so nothing global such as
``matplotlib.use("Agg")`` is switched, which would affect other code in the
process). It is NOT safe to build two charts at once from several threads:
``rc_context`` swaps the process-wide ``rcParams`` and the FreeType font objects
(``FT2Font``, a C extension) are cached and shared between threads, so two
pages drawing charts at the same moment in the web process's thread pool could
corrupt memory (the suspected cause of the server's silent crashes during a
chair's cycle). Every chart is therefore built under
``opencall.diagnostics.NATIVE_LOCK`` (:func:`_style`); a chart takes tens of
milliseconds, so pages wait little.

Size: text is kept as SVG ``<text>`` (``svg.fonttype = "none"``: no embedded
glyph outlines), metadata, comments and the XML prologue are removed, and ids
are made deterministic (``svg.hashsalt``). A typical chart is 5-15 KB.

Accessibility: the root ``<svg>`` gets ``role="img"``, an ``aria-label`` and
``<title>``/``<desc>`` children (the title passed in and a plain-text summary
of the data, or a caller-supplied description).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import hashlib
import io
import math
import re
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any, ParamSpec, cast
from xml.sax.saxutils import escape, quoteattr

from opencall.diagnostics import NATIVE_LOCK

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.axis import Axis
    from matplotlib.figure import Figure

P = ParamSpec("P")

#: Okabe-Ito colour-blind-safe palette.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
_RC: dict[str, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "opencall",
    "svg.image_inline": True,
    "font.family": "sans-serif",
    "font.sans-serif": ["DejaVu Sans", "Arial", "Helvetica"],
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "path.simplify": True,
}


def _figure(width: float, height: float) -> Figure:
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height), dpi=72, layout="constrained")


_TEXT_AS_PATHS: contextvars.ContextVar[bool] = contextvars.ContextVar("paths", default=False)


@contextlib.contextmanager
def text_as_paths() -> Iterator[None]:
    """Charts made inside draw their text as outlines (with a CJK fallback font when
    one is installed): for renderers without SVG text support for every script,
    such as the PDF's. The page's charts keep real text."""
    token = _TEXT_AS_PATHS.set(True)
    try:
        yield
    finally:
        _TEXT_AS_PATHS.reset(token)


@contextlib.contextmanager
def _style() -> Iterator[None]:
    """The chart style, applied while a chart is built and saved (rcParams restored after),
    under the process-wide lock for thread-unsafe native code (see the module's docstring)."""
    with NATIVE_LOCK, _rc():
        yield


class _Drawn:
    """The charts drawn lately, by what they were drawn from: a chart is a pure function
    of its arguments (and of :func:`text_as_paths`), and drawing one is tens to hundreds
    of milliseconds of matplotlib, so the report page shown again, its PDF and the same
    figures in another download reuse the SVG instead of drawing it again. Only plain
    arguments (text, numbers, None, and lists, tuples and dicts of them) make a key, by
    value; a chart drawn from anything else is drawn every time. The last ``size``
    charts of the process are kept (a few MB at most)."""

    def __init__(self, size: int = 64) -> None:
        self.size = size
        self._svgs: OrderedDict[bytes, str] = OrderedDict()
        self._lock = threading.Lock()
        self.drawn = 0  # how many charts were drawn, not reused (for the tests)

    def key(self, name: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes | None:
        if not _plain(args) or not _plain(kwargs):
            return None
        text = repr((name, _TEXT_AS_PATHS.get(), args, sorted(kwargs.items())))
        return hashlib.blake2b(text.encode(), digest_size=32).digest()

    def get(self, key: bytes) -> str | None:
        with self._lock:
            svg = self._svgs.get(key)
            if svg is not None:
                self._svgs.move_to_end(key)
            return svg

    def put(self, key: bytes | None, svg: str) -> None:
        with self._lock:
            self.drawn += 1
            if key is None:
                return
            self._svgs[key] = svg
            while len(self._svgs) > self.size:
                self._svgs.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._svgs.clear()


def _plain(value: Any) -> bool:
    """Text, numbers, None, or lists, tuples and dicts of them: a value whose ``repr`` is
    all it holds (never an object's address, which a later object may reuse)."""
    if value is None or isinstance(value, str | int | float):  # bool is an int
        return True
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    return False


DRAWN = _Drawn()


def _styled(draw: Callable[P, str]) -> Callable[P, str]:
    """Draw the chart in the chart style, under the lock (``_style``); a chart drawn
    lately from the same arguments is handed back as it was (``DRAWN``)."""

    @functools.wraps(draw)
    def styled(*args: P.args, **kwargs: P.kwargs) -> str:
        key = DRAWN.key(draw.__qualname__, args, kwargs)
        svg = DRAWN.get(key) if key is not None else None
        if svg is None:
            with _style():
                svg = draw(*args, **kwargs)
            DRAWN.put(key, svg)
        return svg

    return styled


def _rc() -> AbstractContextManager[None]:
    import matplotlib

    rc = dict(_RC)
    if _TEXT_AS_PATHS.get():
        from matplotlib import font_manager

        names = {f.name for f in font_manager.fontManager.ttflist}
        cjk = sorted(
            (n for n in names if "CJK" in n or "WenQuanYi" in n),
            key=lambda n: ("Sans" not in n, "SC" not in n, n),
        )
        rc["svg.fonttype"] = "path"
        rc["font.family"] = ["DejaVu Sans", *cjk[:1]]
    return cast(AbstractContextManager[None], matplotlib.rc_context(cast(Any, rc)))


def _to_svg(fig: Figure, title: str, description: str) -> str:
    buf = io.StringIO()
    fig.savefig(
        buf,
        format="svg",
        metadata={"Creator": None, "Date": None, "Format": None, "Type": None},
    )
    return _finish_svg(buf.getvalue(), title, description)


def _finish_svg(svg: str, title: str, description: str) -> str:
    svg = re.sub(r"<\?xml[^>]*\?>\s*", "", svg)
    svg = re.sub(r"<!DOCTYPE[^>]*>\s*", "", svg)
    svg = re.sub(r"<!--.*?-->\s*", "", svg, flags=re.S)
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = re.sub(r"\n\s*", "\n", svg)
    uid = "c" + hashlib.sha1((title + description).encode()).hexdigest()[:8]
    head = f'<svg role="img" aria-label={quoteattr(title)} aria-labelledby="{uid}-t {uid}-d" '
    svg = svg.replace("<svg ", head, 1)
    close = svg.index(">", svg.index("<svg")) + 1
    inner = (
        f'<title id="{uid}-t">{escape(title)}</title>'
        f'<desc id="{uid}-d">{escape(description)}</desc>'
    )
    return svg[:close] + "\n" + inner + svg[close:]


def _wrap(text: str, width_in: float, size: float = 10.0) -> str:
    """Break a title into lines that fit ``width_in`` inches at ``size`` points
    (wide East Asian characters count double), so that it never runs off the chart."""
    import unicodedata

    # the title starts at the plot's left edge, after the y labels: ~70 % of the width
    limit = max(10, int(0.7 * width_in * 72 / (size * 0.62)))
    lines: list[str] = []
    line = ""
    width = 0
    tokens: list[str] = []
    for tok in re.findall(r"\S+\s*|\s+", text):
        wide = any(unicodedata.east_asian_width(c) in "WF" for c in tok)
        tokens += list(tok) if wide else [tok]
    for tok in tokens:
        w = sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in tok)
        if line and width + w > limit:
            lines.append(line.rstrip())
            line, width = "", 0
        line += tok
        width += w
    if line.strip():
        lines.append(line.rstrip())
    return "\n".join(lines)


def _title(ax: Axes, fig: Figure, title: str) -> None:
    """Every chart's title: at the left, 10 pt, broken into lines that fit the figure."""
    ax.set_title(_wrap(title, fig.get_figwidth()), loc="left", fontsize=10)


def _percent(axis: Axis) -> None:
    """Ticks of a 0-1 axis labelled in whole per cent."""
    axis.set_major_formatter(lambda v, _pos: f"{100 * v:.0f}%")


def _fmt(v: float | None, pct: bool = False) -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "n/a"
    if pct:
        return f"{100 * v:.0f}%"
    return f"{v:g}" if float(v).is_integer() else f"{v:.2f}"


def _percent_text(v: float | None) -> str:
    """A share in whole per cent; n/a when missing."""
    return _fmt(v, True)


def _signed_text(v: float | None) -> str:
    """A difference in whole points with its sign; n/a when missing."""
    return "n/a" if v is None else f"{v:+.0f}"


def _intervals_text(
    labels: Sequence[str],
    values: Sequence[float | None],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    fmt: Callable[[float | None], str],
) -> str:
    """The text alternative (``<desc>``) of a chart of dots with intervals: one
    ``label: value (low to high)`` per row, every figure written by ``fmt``."""
    return "; ".join(
        f"{k}: {fmt(v)} ({fmt(lo)} to {fmt(hi)})"
        for k, v, lo, hi in zip(labels, values, lows, highs, strict=True)
    )


@_styled
def funnel_chart(
    counts: Mapping[str, Sequence[float | None]],
    stages: Sequence[str],
    *,
    title: str,
    ylabel: str = "",
    description: str | None = None,
    suppressed_label: str = "<5",
) -> str:
    """Grouped bars: for each group (x axis) one bar per stage (colour, legend).

    ``counts[group][i]`` is the count at ``stages[i]``; ``None`` marks a
    suppressed cell (drawn as a "<5" label, no bar).
    """
    groups = list(counts)
    for g in groups:
        if len(counts[g]) != len(stages):
            raise ValueError(f"group {g!r} has {len(counts[g])} values for {len(stages)} stages")
    fig = _figure(max(4.5, 1.1 * len(groups) + 2.0), 3.2)
    ax = fig.add_subplot()
    n = max(1, len(stages))
    width = 0.8 / n
    top = max([float(v) for g in groups for v in counts[g] if v is not None] or [1.0])
    for i, stage in enumerate(stages):
        xs = [j + (i - (n - 1) / 2) * width for j in range(len(groups))]
        vals = [counts[g][i] for g in groups]
        ax.bar(
            [x for x, v in zip(xs, vals, strict=True) if v is not None],
            [float(v) for v in vals if v is not None],
            width * 0.95,
            label=stage,
            color=PALETTE[i % len(PALETTE)],
        )
        for x, v in zip(xs, vals, strict=True):
            if v is None:
                ax.text(x, top * 0.02, suppressed_label, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(groups)), groups)
    ax.set_ylabel(ylabel)
    _title(ax, fig, title)
    ax.legend(frameon=False, fontsize=8, ncols=min(n, 4), loc="upper right")
    ax.set_ylim(0, top * 1.25)
    if description is None:
        parts = [
            f"{g}: " + ", ".join(f"{s} {_fmt(v)}" for s, v in zip(stages, counts[g], strict=True))
            for g in groups
        ]
        description = "; ".join(parts)
    return _to_svg(fig, title, description)


@_styled
def success_rate_chart(
    groups: Sequence[str],
    rates: Sequence[float | None],
    lows: Sequence[float],
    highs: Sequence[float],
    *,
    title: str,
    xlabel: str = "",
    reference: float | None = None,
    reference_label: str = "all",
    na_label: str = "n/a",
    description: str | None = None,
) -> str:
    """Success rate per group as a dot with its (Wilson) interval, on a 0-100 % axis.

    ``reference`` (e.g. the overall rate) is drawn as a dashed vertical line; a
    group with no rate (``None``) is labelled ``na_label``.
    """
    if not (len(groups) == len(rates) == len(lows) == len(highs)):
        raise ValueError("groups, rates, lows and highs must have the same length")
    fig = _figure(5.5, 0.35 * len(groups) + 1.3)
    ax = fig.add_subplot()
    ys = list(range(len(groups)))[::-1]
    for y, r, lo, hi in zip(ys, rates, lows, highs, strict=True):
        if r is None:  # nobody in the group: no estimate, no interval
            ax.text(0.01, y, na_label, va="center", fontsize=7)
            continue
        ax.plot([lo, hi], [y, y], color="#555555", linewidth=1.5, solid_capstyle="butt")
        ax.plot([r], [y], "o", color=PALETTE[0], markersize=5)
    if reference is not None:
        ax.axvline(reference, color=PALETTE[5], linestyle="--", linewidth=1)
        ax.text(reference, -0.65, f" {reference_label}", ha="left", va="bottom", fontsize=7)
    ax.set_yticks(ys, list(groups))
    ax.set_xlim(0, 1)
    ax.set_ylim(-0.7, len(groups) - 0.2)
    _percent(ax.xaxis)
    ax.set_xlabel(xlabel)
    _title(ax, fig, title)
    if description is None:
        description = _intervals_text(groups, rates, lows, highs, _percent_text)
    return _to_svg(fig, title, description)


@_styled
def access_ratio_chart(
    labels: Sequence[str],
    ratios: Sequence[float | None],
    *,
    title: str,
    xlabel: str = "",
    log_scale: bool = False,
    na_label: str = "n/a",
    description: str | None = None,
) -> str:
    """Horizontal bars of access ratios with a reference line at 1 (parity).

    Bars above parity are blue, below orange; missing ratios are labelled
    ``na_label``. ``log_scale`` puts 0.5 and 2 at the same distance from 1.
    """
    if len(labels) != len(ratios):
        raise ValueError("labels and ratios must have the same length")
    fig = _figure(5.5, 0.35 * len(labels) + 1.3)
    ax = fig.add_subplot()
    ys = list(range(len(labels)))[::-1]
    present = [float(r) for r in ratios if r is not None and r > 0]
    hi = max(present + [1.0]) * 1.25
    lo = min(present + [1.0]) / 2.0 if log_scale else 0.0
    for y, r in zip(ys, ratios, strict=True):
        if r is None:
            ax.text(lo * 1.08 if log_scale else 0.02 * hi, y, na_label, va="center", fontsize=7)
            continue
        colour = PALETTE[0] if r >= 1 else PALETTE[1]
        base = 1.0 if log_scale else 0.0
        ax.barh(y, r - base, left=base, height=0.6, color=colour)
        if log_scale and r < 1:
            ax.text(max(r, lo), y, f"{r:.2f} ", va="center", ha="right", fontsize=7)
        else:
            ax.text(max(r, lo), y, f" {r:.2f}", va="center", fontsize=7)
    ax.axvline(1.0, color="#333333", linewidth=1)
    if log_scale:
        from matplotlib.ticker import FixedLocator, NullLocator

        ax.set_xscale("log")
        ticks = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100)
        ax.xaxis.set_major_locator(FixedLocator(ticks))
        ax.xaxis.set_minor_locator(NullLocator())
        ax.xaxis.set_major_formatter(lambda v, _pos: f"{v:g}")
    ax.set_xlim(lo if log_scale else 0.0, hi * 1.1)
    ax.set_yticks(ys, list(labels))
    ax.set_ylim(-0.7, len(labels) - 0.3)
    ax.set_xlabel(xlabel)
    _title(ax, fig, title)
    if description is None:
        description = "; ".join(f"{k}: {_fmt(r)}" for k, r in zip(labels, ratios, strict=True))
    return _to_svg(fig, title, description)


# --------------------------------------------------------------------------- report charts
#
# Horizontal layouts only: one label per row on the y axis (labels never share a
# line, so they cannot overlap), legends below the plot, heights that grow with
# the number of rows, bounded (0-100 %) or symmetric scales.


@_styled
def difference_chart(
    labels: Sequence[str],
    diffs: Sequence[float],
    lows: Sequence[float | None],
    highs: Sequence[float | None],
    *,
    title: str,
    too_few: str = "too few",
) -> str:
    """Differences from the rest with intervals (a forest plot), one row per group,
    on a scale symmetric around 0; rows without an interval are marked ``too_few``."""
    if not (len(labels) == len(diffs) == len(lows) == len(highs)):
        raise ValueError("labels, diffs, lows and highs must have the same length")
    fig = _figure(6.0, 0.32 * len(labels) + 1.2)
    ax = fig.add_subplot()
    ys = list(range(len(labels)))[::-1]
    span = max(
        [
            abs(v)
            for v in [
                *diffs,
                *(x for x in lows if x is not None),
                *(x for x in highs if x is not None),
            ]
        ]
        + [5.0]
    )
    for y, d, lo, hi in zip(ys, diffs, lows, highs, strict=True):
        if lo is None or hi is None:
            ax.plot([d], [y], "o", color="#999999", markersize=4)
            ax.text(span * 1.12, y, too_few, va="center", ha="right", fontsize=7, color="#666666")
            continue
        colour = PALETTE[5] if hi < 0 else PALETTE[0] if lo > 0 else "#555555"
        ax.plot([lo, hi], [y, y], color=colour, linewidth=1.6, solid_capstyle="butt")
        ax.plot([d], [y], "o", color=colour, markersize=5)
    ax.axvline(0.0, color="#333333", linewidth=1)
    ax.set_xlim(-span * 1.15, span * 1.15)
    ax.set_yticks(ys, list(labels))
    ax.set_ylim(-0.7, len(labels) - 0.3)
    _title(ax, fig, title)
    return _to_svg(fig, title, _intervals_text(labels, diffs, lows, highs, _signed_text))


@_styled
def stage_chart(
    rates: Mapping[str, Sequence[float | None]], stages: Sequence[str], *, title: str
) -> str:
    """Share of each group's applications reaching each stage: one row per stage,
    one bar per group, on a 0-100 % axis; the legend below the plot."""
    for g, vals in rates.items():
        if len(vals) != len(stages):
            raise ValueError(f"group {g!r} has {len(vals)} values for {len(stages)} stages")
    groups = list(rates)
    fig = _figure(6.0, 0.42 * len(stages) + 1.1 + 0.18 * ((len(groups) + 2) // 3))
    ax = fig.add_subplot()
    ys = list(range(len(stages)))[::-1]
    n = max(1, len(groups))
    for i, g in enumerate(groups):
        off = (i - (n - 1) / 2) * (0.7 / n)
        vals = rates[g]
        pts = [(v, y + off) for v, y in zip(vals, ys, strict=True) if v is not None]
        ax.barh(
            [y for _, y in pts],
            [v for v, _ in pts],
            height=0.7 / n * 0.9,
            color=PALETTE[i % len(PALETTE)],
            label=g,
        )
    ax.set_xlim(0, 1)
    _percent(ax.xaxis)
    ax.set_yticks(ys, list(stages))
    _title(ax, fig, title)
    ax.legend(
        frameon=False,
        fontsize=7.5,
        ncols=min(3, n),
        loc="upper center",
        bbox_to_anchor=(0.5, -0.12),
    )
    description = "; ".join(
        f"{g}: " + ", ".join(f"{s} {_fmt(v, True)}" for s, v in zip(stages, rates[g], strict=True))
        for g in groups
    )
    return _to_svg(fig, title, description)


@_styled
def share_chart(
    labels: Sequence[str],
    series: Mapping[str, Sequence[tuple[float, float | None, float | None] | None]],
    *,
    title: str,
) -> str:
    """Shares (0-100 %, bounded) side by side per group, each with its interval:
    e.g. the share of awards against the share of the world's researchers."""
    for name, vals in series.items():
        if len(vals) != len(labels):
            raise ValueError(f"series {name!r} has {len(vals)} values for {len(labels)} labels")
    names = list(series)
    fig = _figure(6.0, 0.45 * len(labels) + 1.3)
    ax = fig.add_subplot()
    ys = list(range(len(labels)))[::-1]
    n = max(1, len(names))
    top = 0.0
    for i, name in enumerate(names):
        off = (i - (n - 1) / 2) * (0.7 / n)
        for y, val in zip(ys, series[name], strict=True):
            if val is None:
                continue
            v, lo, hi = val
            ax.barh(y + off, v, height=0.7 / n * 0.9, color=PALETTE[i % len(PALETTE)],
                    label=name if y == ys[0] or not ax.get_legend_handles_labels()[1].count(name) else None)  # fmt: skip
            if lo is not None and hi is not None:
                ax.plot([lo, hi], [y + off, y + off], color="#333333", linewidth=1)
                top = max(top, hi)
            top = max(top, v)
    ax.set_xlim(0, min(1.0, max(0.1, top * 1.1)))
    _percent(ax.xaxis)
    ax.set_yticks(ys, list(labels))
    _title(ax, fig, title)
    ax.legend(frameon=False, fontsize=7.5, ncols=2, loc="upper center", bbox_to_anchor=(0.5, -0.12))
    description = "; ".join(
        f"{k}: "
        + ", ".join(
            f"{name} {'n/a' if series[name][j] is None else _fmt(series[name][j][0], True)}"  # type: ignore[index]
            for name in names
        )
        for j, k in enumerate(labels)
    )
    return _to_svg(fig, title, description)
