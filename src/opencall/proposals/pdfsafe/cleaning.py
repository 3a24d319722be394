"""The child's ``clean``: the rewritten copy of a PDF without what names its authors
or runs when opened (see the package's docstring)."""

from __future__ import annotations

import re
import zlib
from typing import Any

from opencall.proposals.pdfsafe import Limits
from opencall.proposals.pdfsafe.fonts import clean_fonts
from opencall.proposals.pdfsafe.images import _clean_image, _jpeg_without_metadata
from opencall.proposals.pdfsafe.streams import _MARKED_TEXT, _STRUCT_TEXT, _inflated_size

_ACTION_KEEP = {"/GoTo"}

#: What is removed, by where it stands: (key, what it is, as reported in ``removed``).
_TRAILER_STRIP = (("/Info", "info"),)
_ROOT_STRIP = (
    ("/Metadata", "xmp"),
    ("/OpenAction", "actions"),
    ("/AA", "actions"),
    ("/AcroForm", "forms"),
    ("/PieceInfo", "private_data"),
    ("/Perms", "forms"),
    ("/Collection", "embedded_files"),
    ("/SpiderInfo", "private_data"),
    ("/URI", "actions"),
    ("/AF", "embedded_files"),
    ("/Threads", "threads"),
    ("/Outlines", "outline"),
    ("/PageLabels", "page_labels"),
    # a signed PDF's document security store (the signers' certificates, OCSP answers,
    # CRLs, per-signature /VRI entries) and legal attestation name the signer; the
    # signatures themselves (form fields, /Perms) are gone, so nothing refers to these
    ("/DSS", "signatures"),
    ("/Legal", "signatures"),
)
_NAMES_STRIP = (
    ("/JavaScript", "javascript"),
    ("/EmbeddedFiles", "embedded_files"),
    ("/AlternatePresentations", "embedded_files"),
    ("/Renditions", "embedded_files"),
    # pages outside the page tree (a form's templates, named pages): no viewer shows
    # them, any extractor reads their text, and neither the rewrite nor the scan reads
    # anything but the page tree
    ("/Templates", "hidden_pages"),
    ("/Pages", "hidden_pages"),
    # web capture's trees (URLs and digital ids of the pages captured; /SpiderInfo goes)
    ("/URLS", "private_data"),
    ("/IDS", "private_data"),
)
_PAGE_STRIP = (("/Annots", "annotations"), ("/AA", "actions"), ("/B", "threads"))
#: What the catalogue, the page tree's nodes and the pages keep once the keys above are
#: gone: what draws or navigates the document. Any other key (a writing tool's own, the
#: separation information, output intents, reader requirements, a page's /ID, /Thumb or
#: /LastModified) is dropped as ``private_data``: no viewer needs it to show a page and
#: any extractor reads its text.
_ROOT_KEEP = {
    "/Type", "/Version", "/Pages", "/Names", "/Dests", "/ViewerPreferences",
    "/PageLayout", "/PageMode", "/StructTreeRoot", "/MarkInfo", "/Lang", "/OCProperties",
}  # fmt: skip
_INHERITED = {"/Resources", "/MediaBox", "/CropBox", "/Rotate"}
_NODE_KEEP = {"/Type", "/Parent", "/Kids", "/Count", *_INHERITED}
_PAGE_KEEP = {
    "/Type", "/Parent", "/Contents", "/BleedBox", "/TrimBox", "/ArtBox", "/Group",
    "/StructParents", "/Tabs", "/UserUnit", "/Dur", "/Trans", "/PZ", *_INHERITED,
}  # fmt: skip
_OBJECT_STRIP = (
    ("/Metadata", "xmp"),
    ("/PieceInfo", "private_data"),
    ("/AA", "actions"),
    ("/AF", "embedded_files"),  # PDF 2.0 associated files
)


def _clean_structure(root: Any, removed: set[str]) -> None:
    """The structure tree's elements lose :data:`_STRUCT_TEXT` (walked through ``/K``)."""
    import pikepdf

    tree = root.get("/StructTreeRoot")
    if not isinstance(tree, pikepdf.Dictionary):
        return
    stack, seen, budget = [tree.get("/K")], set(), 1_000_000
    while stack and budget:
        node = stack.pop()
        budget -= 1
        if isinstance(node, pikepdf.Array):
            stack.extend(node)
        elif isinstance(node, pikepdf.Dictionary):
            if node.is_indirect:
                if node.objgen in seen:
                    continue
                seen.add(node.objgen)
            if str(node.get("/Type", "")) not in ("/MCR", "/OBJR"):
                _strip(node, _STRUCT_TEXT, removed)
                stack.append(node.get("/K"))


def _clean_layers(pdf: Any, removed: set[str]) -> None:
    """Optional-content groups (layers) renamed "Layer 1", "Layer 2"... (those listed in
    ``/OCGs`` first, then any other); the configurations' names, creators and the labels in
    their ``/Order`` dropped, with the groups' usage dictionaries' creator and user names."""
    import pikepdf

    props = pdf.Root.get("/OCProperties")
    props = props if isinstance(props, pikepdf.Dictionary) else pikepdf.Dictionary()
    listed = [g for g in props.get("/OCGs", pikepdf.Array()) if isinstance(g, pikepdf.Dictionary)]
    others = [
        obj
        for obj in pdf.objects
        if isinstance(obj, pikepdf.Dictionary) and obj.get("/Type") == "/OCG"
    ]
    done: set[tuple[int, int]] = set()
    number = 0
    for ocg in [*listed, *others]:
        if ocg.is_indirect and ocg.objgen in done:
            continue
        done.add(ocg.objgen)
        number += 1
        ocg.Name = pikepdf.String(f"Layer {number}")
        usage = ocg.get("/Usage")
        if isinstance(usage, pikepdf.Dictionary):
            _strip(usage, (("/CreatorInfo", "layers"), ("/User", "layers")), removed)
        removed.add("layers")
    stack = [props.get("/D"), *props.get("/Configs", pikepdf.Array())]
    for _ in range(100_000):
        if not stack:
            break
        node = stack.pop()
        if isinstance(node, pikepdf.Dictionary):
            _strip(node, (("/Name", "layers"), ("/Creator", "layers")), removed)
            stack.append(node.get("/Order"))
        elif isinstance(node, pikepdf.Array):
            texts = [j for j, x in enumerate(node) if isinstance(x, pikepdf.String)]
            for j in reversed(texts):
                del node[j]
                removed.add("layers")
            stack += [x for x in node if isinstance(x, pikepdf.Array)]


#: An inline image's dictionary keys (full and abbreviated); any other key is dropped.
_INLINE_KEYS = {
    "/BitsPerComponent", "/BPC", "/ColorSpace", "/CS", "/Decode", "/D", "/DecodeParms",
    "/DP", "/Filter", "/F", "/Height", "/H", "/ImageMask", "/IM", "/Intent",
    "/Interpolate", "/I", "/Width", "/W", "/Length", "/L",
}  # fmt: skip
_CONTENT_HINT = re.compile(rb"/(?:Alt|ActualText|E)\b|\bID\b")


def _token(value: Any) -> bytes:
    """One inline-image dictionary key or value as content-stream syntax."""
    if isinstance(value, bool):
        return b"true" if value else b"false"
    if isinstance(value, int | float):
        return str(value).encode()
    return bytes(value.unparse())


def _clean_instruction(inst: Any, removed: set[str]) -> Any:
    """One content-stream instruction without hidden text (None: unchanged; an inline image
    comes back as its bytes)."""
    import pikepdf

    if isinstance(inst, pikepdf.ContentStreamInlineImage):
        image = inst.iimage
        pairs = list(image._image_object)
        kept = [
            x
            for k, v in zip(pairs[::2], pairs[1::2], strict=False)
            if str(k) in _INLINE_KEYS
            for x in (k, v)
        ]
        data = original = image.read_raw_bytes()
        codec = [str(f) for f in image.filters]
        if codec in (["/DCT"], ["/DCTDecode"]):
            data = _jpeg_without_metadata(data) or data
        if len(kept) == len(pairs) and data == original:
            return None
        removed.add("image_metadata")
        head = b" ".join(_token(x) for x in kept)
        return b"BI " + head + b" ID " + data + b"\nEI"
    if str(inst.operator) in ("BDC", "DP") and len(inst.operands) == 2:
        props = inst.operands[1]
        if isinstance(props, pikepdf.Dictionary) and any(k in props for k, _ in _MARKED_TEXT):
            kept_props = pikepdf.Dictionary(
                {k: v for k, v in props.items() if k not in dict(_MARKED_TEXT)}
            )
            removed.add("alternate_text")
            return pikepdf.ContentStreamInstruction([inst.operands[0], kept_props], inst.operator)
    return None


def _clean_content(pdf: Any, holder: Any, streams: list[Any], removed: set[str]) -> None:
    """A page's or form's content rewritten without marked content's alternate and actual
    text and with its inline images cleaned, when it has any (else it is left as it is;
    what is drawn never changes)."""
    import pikepdf

    try:
        if not any(_CONTENT_HINT.search(s.read_bytes()) for s in streams):
            return
        parsed = pikepdf.parse_content_stream(holder)
    except pikepdf.PdfError:
        return  # content that does not decode or parse draws nothing either
    changed = False
    chunks: list[bytes] = []
    ops: list[Any] = []
    for inst in parsed:
        new = _clean_instruction(inst, removed)
        changed |= new is not None
        if isinstance(new, bytes):
            chunks += [pikepdf.unparse_content_stream(ops), new]
            ops = []
        else:
            ops.append(inst if new is None else new)
    if not changed:
        return
    data = b"\n".join([*chunks, pikepdf.unparse_content_stream(ops)])
    if isinstance(holder, pikepdf.Stream):
        holder.write(zlib.compress(data), filter=pikepdf.Name.FlateDecode)
    else:
        holder.Contents = pdf.make_stream(zlib.compress(data), Filter=pikepdf.Name.FlateDecode)


def _strip(obj: Any, keys: tuple[tuple[str, str], ...], removed: set[str]) -> None:
    """Deletes from the PDF dictionary ``obj`` each of ``keys`` it has, adding what it was
    to ``removed``."""
    for key, label in keys:
        if key in obj:
            del obj[key]
            removed.add(label)


def _opened(src: str, limits: Limits) -> tuple[Any, int] | dict[str, Any]:
    """The PDF parsed without repair and its page count, or the refusal (encrypted,
    unparseable, no pages, over the page limit)."""
    import pikepdf

    try:
        pdf = pikepdf.open(src, attempt_recovery=False)
    except pikepdf.PasswordError:
        return {"ok": False, "error": "encrypted"}
    except Exception as exc:  # noqa: BLE001 - qpdf refuses a structure it cannot parse
        return {"ok": False, "error": "unparseable", "detail": str(exc)[:200]}
    if pdf.is_encrypted:
        return {"ok": False, "error": "encrypted"}
    try:
        n = len(pdf.pages)
    except Exception as exc:  # noqa: BLE001
        return {"ok": False, "error": "unparseable", "detail": str(exc)[:200]}
    if n < 1:
        return {"ok": False, "error": "unparseable", "detail": "no pages"}
    if n > limits.max_pages:
        return {"ok": False, "error": "too_many_pages", "value": n}
    return pdf, n


def _keep_only(obj: Any, keep: set[str], removed: set[str]) -> None:
    """Deletes from the PDF dictionary ``obj`` every key not in ``keep`` (``private_data``)."""
    for key in [k for k in obj.keys() if k not in keep]:
        del obj[key]
        removed.add("private_data")


def _clean_page_tree(pdf: Any, removed: set[str]) -> None:
    """The catalogue, the page tree's nodes and its pages keep only :data:`_ROOT_KEEP`,
    :data:`_NODE_KEEP` and :data:`_PAGE_KEEP` (after :data:`_PAGE_STRIP`, so what they
    lose is reported as what it was)."""
    import pikepdf

    for page in pdf.pages:
        _strip(page.obj, _PAGE_STRIP, removed)
        _keep_only(page.obj, _PAGE_KEEP, removed)
    _keep_only(pdf.Root, _ROOT_KEEP, removed)
    stack, seen = [pdf.Root.get("/Pages")], set()
    while stack:
        node = stack.pop()
        if not isinstance(node, pikepdf.Dictionary) or node.get("/Type") != "/Pages":
            continue
        if node.is_indirect:
            if node.objgen in seen:
                continue
            seen.add(node.objgen)
        _keep_only(node, _NODE_KEEP, removed)
        stack.extend(node.get("/Kids", pikepdf.Array()))


def _clean_object(pdf: Any, obj: Any, limits: Limits, removed: set[str]) -> bool:
    """Strip one dictionary or stream of the document (:data:`_OBJECT_STRIP`, actions
    but in-document jumps, images' metadata, form XObjects' content, named marked-content
    properties); False when a stream inflates beyond the limit (nothing is written)."""
    import pikepdf

    _strip(obj, _OBJECT_STRIP, removed)
    action = obj.get("/A")
    if isinstance(action, pikepdf.Dictionary):
        if str(action.get("/S", "")) not in _ACTION_KEEP or "/Next" in action:
            del obj["/A"]
            removed.add("actions")
    if isinstance(obj, pikepdf.Stream):
        if _inflated_size(obj, limits.max_stream_bytes) > limits.max_stream_bytes:
            return False
        _clean_image(pdf, obj, removed)
        if obj.get("/Subtype") == "/Form":
            _clean_content(pdf, obj, [obj], removed)
    _strip(obj, _STRUCT_TEXT[:2], removed)  # named marked-content properties
    return True


def _child_clean(src: str, out: str, limits: Limits) -> dict[str, Any]:
    import pikepdf

    opened = _opened(src, limits)
    if isinstance(opened, dict):
        return opened
    pdf, n = opened
    removed: set[str] = set()
    _strip(pdf.trailer, _TRAILER_STRIP, removed)
    root = pdf.Root
    _strip(root, _ROOT_STRIP, removed)
    if "/Names" in root:
        _strip(root.Names, _NAMES_STRIP, removed)
    _clean_page_tree(pdf, removed)
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream) and not _clean_object(
            pdf, obj, limits, removed
        ):
            return {"ok": False, "error": "bomb", "value": limits.max_stream_bytes}
    _clean_structure(root, removed)
    _clean_layers(pdf, removed)
    clean_fonts(pdf, removed)
    for page in pdf.pages:
        contents = page.obj.get("/Contents")
        streams = list(contents) if isinstance(contents, pikepdf.Array) else [contents]
        _clean_content(
            pdf, page.obj, [x for x in streams if isinstance(x, pikepdf.Stream)], removed
        )
    pdf.save(
        out,
        preserve_pdfa=False,
        fix_metadata_version=False,
        stream_decode_level=pikepdf.StreamDecodeLevel.none,
        deterministic_id=True,
    )
    return {"ok": True, "pages": n, "removed": sorted(removed)}
