"""The child's ``inspect``: the text of each page and the strings that may name the
authors, written as JSON lines for the anonymity scan."""

from __future__ import annotations

import json
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

from opencall.proposals.pdfsafe import Limits
from opencall.proposals.pdfsafe.streams import _MARKED_TEXT, _STRUCT_TEXT, _inflated_size

_XML_TEXT = re.compile(r">([^<>]+)<")
_XML_ATTR = re.compile(r"\s([A-Za-z][\w.\-]*:[\w.\-]+)=\"([^\"]*)\"")


def _xmp_strings(raw: bytes) -> list[tuple[str, str]]:
    text = raw[:1_000_000].decode("utf-8", errors="replace")
    out: list[tuple[str, str]] = []
    for m in _XML_ATTR.finditer(text):
        name, value = m.group(1), m.group(2).strip()
        if value and not name.startswith(("xmlns", "rdf:", "x:", "xml:")):
            out.append((f"xmp:{name}", value))
    for m in _XML_TEXT.finditer(text):
        value = " ".join(m.group(1).split())
        if value:
            out.append(("xmp", value))
    return out


def _linked(first: Any, budget: int = 100_000) -> list[Any]:
    """The items of an outline (``/First``, ``/Next``, depth first), at most ``budget``."""
    import pikepdf

    out: list[Any] = []
    stack, seen = [first], set()
    while stack and len(out) < budget:
        item = stack.pop()
        if not isinstance(item, pikepdf.Dictionary) or item.objgen in seen:
            continue
        if item.is_indirect:
            seen.add(item.objgen)
        out.append(item)
        stack += [item.get("/Next"), item.get("/First")]
    return out


def _hidden_texts(root: Any) -> list[tuple[str, Any]]:
    """Texts a reader never sees on a page: bookmark titles, the structure tree's
    alternate, actual and expanded texts and titles, layer names and labels, and page
    labels' prefixes (the copy for reviewers drops or renames them all)."""
    import pikepdf

    out: list[tuple[str, Any]] = []
    outlines = root.get("/Outlines")
    if isinstance(outlines, pikepdf.Dictionary):
        out += [("outline", item.get("/Title", "")) for item in _linked(outlines.get("/First"))]
    _structure_texts(root.get("/StructTreeRoot"), out)
    _layer_texts(root.get("/OCProperties"), out)
    _page_label_texts(root.get("/PageLabels"), out)
    return [(w, t) for w, t in out if isinstance(t, pikepdf.String)]


def _structure_texts(tree: Any, out: list[tuple[str, Any]]) -> None:
    """The structure elements' :data:`_STRUCT_TEXT`, added to ``out`` (walked through
    ``/K``, at most 100,000 nodes)."""
    import pikepdf

    stack, budget = [tree.get("/K") if isinstance(tree, pikepdf.Dictionary) else None], 100_000
    while stack and budget:
        node, budget = stack.pop(), budget - 1
        if isinstance(node, pikepdf.Array):
            stack.extend(node)
        elif isinstance(node, pikepdf.Dictionary) and node.get("/Type", "/StructElem") == (
            "/StructElem"
        ):
            out += [("structure", node[k]) for k, _ in _STRUCT_TEXT if k in node]
            stack.append(node.get("/K"))


def _layer_texts(props: Any, out: list[tuple[str, Any]]) -> None:
    """The layers' names, and the names, creators and labels of their configurations,
    added to ``out`` (until it holds 200,000 texts)."""
    import pikepdf

    if not isinstance(props, pikepdf.Dictionary):
        return
    out += [("layer", g.get("/Name", "")) for g in props.get("/OCGs", pikepdf.Array())]
    stack = [props.get("/D"), *props.get("/Configs", pikepdf.Array())]
    while stack and len(out) < 200_000:
        node = stack.pop()
        if isinstance(node, pikepdf.Dictionary):
            out += [("layer", node[k]) for k in ("/Name", "/Creator") if k in node]
            stack.append(node.get("/Order"))
        elif isinstance(node, pikepdf.Array):
            out += [("layer", x) for x in node if isinstance(x, pikepdf.String)]
            stack += [x for x in node if isinstance(x, pikepdf.Array)]


def _page_label_texts(labels: Any, out: list[tuple[str, Any]]) -> None:
    """The page labels' prefixes, added to ``out`` (a broken number tree adds none)."""
    import pikepdf

    if not isinstance(labels, pikepdf.Dictionary):
        return
    try:
        for _n, label in pikepdf.NumberTree(labels).items():
            if isinstance(label, pikepdf.Dictionary) and "/P" in label:
                out.append(("page_label", label.P))
    except Exception:  # noqa: BLE001 - a broken tree is not a reason to stop
        pass


def _marked_texts(page: Any) -> list[str]:
    """Alternate and actual texts in a page's marked content (inline property lists)."""
    import pikepdf

    out = []
    for inst in pikepdf.parse_content_stream(page, "BDC DP"):
        props = inst.operands[-1] if inst.operands else None
        if isinstance(props, pikepdf.Dictionary):
            out += [str(props[k]) for k, _ in _MARKED_TEXT if k in props]
    return out


def _child_inspect(src: str, out: str, limits: Limits) -> dict[str, Any]:
    import pikepdf

    started = time.monotonic()
    sink = open(out, "w", encoding="utf-8")  # noqa: SIM115 - flushed line by line

    def emit(rec: dict[str, Any]) -> None:
        sink.write(json.dumps(rec) + "\n")
        sink.flush()

    def string(where: str, value: Any) -> None:
        text = str(value).strip()
        if text:
            emit({"t": "string", "where": where, "text": text[:10_000]})

    pdf = pikepdf.open(src)
    for where, value in _document_strings(pdf, limits):
        string(where, value)
    _page_texts(src, pdf, limits, started, emit, string)
    sink.close()
    return {"ok": True}


def _document_strings(pdf: Any, limits: Limits) -> Iterator[tuple[str, Any]]:
    """(where, value) of every string outside the pages' text that may name the authors:
    the Info dictionary, the XMP packet, embedded files, JavaScript, annotations, form
    fields and the hidden texts."""
    import pikepdf

    info = pdf.trailer.get("/Info")
    if isinstance(info, pikepdf.Dictionary):
        for k, v in info.items():
            if isinstance(v, pikepdf.String):
                yield f"info:{k[1:]}", v
    root = pdf.Root
    if isinstance(root.get("/Metadata"), pikepdf.Stream):
        try:
            yield from _xmp_strings(root.Metadata.read_bytes())
        except Exception:  # noqa: BLE001 - a broken packet is not a reason to stop
            pass
    yield from _named_strings(root)
    opening = root.get("/OpenAction")
    if isinstance(opening, pikepdf.Dictionary) and "/JS" in opening:
        yield "javascript", _script(opening.JS)
    yield from _annotation_strings(pdf, limits)
    yield from _form_strings(root.get("/AcroForm"))
    yield from _hidden_texts(root)


def _script(js: Any) -> Any:
    """A JavaScript action's code: a stream's first 10,000 bytes, or the string."""
    import pikepdf

    return js.read_bytes()[:10_000].decode("latin-1") if isinstance(js, pikepdf.Stream) else js


def _named_strings(root: Any) -> Iterator[tuple[str, Any]]:
    """The embedded files' names and descriptions and the document's JavaScript (the
    ``/Names`` trees; a broken tree ends its own strings)."""
    import pikepdf

    names = root.get("/Names")
    if not isinstance(names, pikepdf.Dictionary):
        return
    if "/EmbeddedFiles" in names:
        try:
            for key, spec in pikepdf.NameTree(names.EmbeddedFiles).items():
                yield "embedded", key
                if isinstance(spec, pikepdf.Dictionary):
                    yield from (("embedded", spec[k]) for k in ("/F", "/UF", "/Desc") if k in spec)
        except Exception:  # noqa: BLE001
            pass
    if "/JavaScript" in names:
        try:
            for _key, action in pikepdf.NameTree(names.JavaScript).items():
                js = action.get("/JS") if isinstance(action, pikepdf.Dictionary) else None
                if js is not None:
                    yield "javascript", _script(js)
        except Exception:  # noqa: BLE001
            pass


def _annotation_strings(pdf: Any, limits: Limits) -> Iterator[tuple[str, Any]]:
    """The annotations' texts and their attached files' names, on the first pages."""
    import pikepdf

    for page in pdf.pages[: limits.max_pages]:
        for annot in page.obj.get("/Annots", pikepdf.Array()):
            if not isinstance(annot, pikepdf.Dictionary):
                continue
            for k in ("/T", "/Contents", "/Subj", "/RC"):
                if isinstance(annot.get(k), pikepdf.String):
                    yield "annotation", annot[k]
            fs = annot.get("/FS")
            if isinstance(fs, pikepdf.Dictionary):
                yield from (("embedded", fs[k]) for k in ("/F", "/UF", "/Desc") if k in fs)


def _form_strings(acro: Any) -> Iterator[tuple[str, Any]]:
    """The form fields' names, tooltips and values, with their children (``/Kids``),
    bounded."""
    import pikepdf

    if not isinstance(acro, pikepdf.Dictionary):
        return
    fields = list(acro.get("/Fields", pikepdf.Array()))[:1000]
    seen: set[tuple[int, int]] = set()
    for _ in range(10_000):
        if not fields:
            break
        fld = fields.pop()
        if isinstance(fld, pikepdf.Dictionary) and fld.objgen not in seen:
            if fld.is_indirect:
                seen.add(fld.objgen)
            for k in ("/T", "/TU", "/V"):
                if isinstance(fld.get(k), pikepdf.String):
                    yield "form", fld[k]
            fields += list(fld.get("/Kids", pikepdf.Array()))[:1000]


def _page_texts(
    src: str,
    pdf: Any,
    limits: Limits,
    started: float,
    emit: Callable[[dict[str, Any]], None],
    string: Callable[[str, Any], None],
) -> None:
    """Each page's text (pypdf) and marked content's hidden texts, within the limits on
    pages, a page's decoded content, the text's length and the time."""
    from pypdf import PdfReader

    reader = PdfReader(src)
    total = 0
    n = len(reader.pages)
    for i in range(min(n, limits.max_pages)):
        if time.monotonic() - started > limits.scan_time_s:
            emit({"t": "note", "code": "time_limit", "page": i + 1})
            break
        try:
            if _page_content_size(pdf.pages[i], limits) > limits.max_page_content_bytes:
                emit({"t": "note", "code": "page_too_large", "page": i + 1})
                emit({"t": "page", "text": ""})
                continue
            text = reader.pages[i].extract_text() or ""
            for hidden in _marked_texts(pdf.pages[i]):
                string("structure", hidden)
        except Exception:  # noqa: BLE001 - one broken page does not stop the others
            emit({"t": "note", "code": "page_error", "page": i + 1})
            text = ""
        text = text[: max(0, limits.max_text_chars - total)]
        total += len(text)
        emit({"t": "page", "text": text})
        if total >= limits.max_text_chars:
            emit({"t": "note", "code": "text_limit", "page": i + 1})
            break
    if n > limits.max_pages:
        emit({"t": "note", "code": "page_limit", "page": limits.max_pages + 1})


def _page_content_size(page: Any, limits: Limits) -> int:
    """The page's content streams' inflated size (each counted to the page's limit)."""
    import pikepdf

    contents = page.obj.get("/Contents")
    streams = (
        list(contents) if isinstance(contents, pikepdf.Array) else [contents] if contents else []
    )
    return sum(
        _inflated_size(s, limits.max_page_content_bytes)
        for s in streams
        if isinstance(s, pikepdf.Stream)
    )
