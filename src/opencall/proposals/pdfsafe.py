"""PDF hygiene and bounded text extraction (no database; every parse in a child process).

Uploaded PDFs are untrusted: a file can carry its authors' names in the Info
dictionary, the XMP packet, embedded files, annotations and form fields; it can
run JavaScript or actions when opened; it can be a polyglot (a PDF that is also a
ZIP archive); and a few kilobytes can expand into gigabytes or keep a parser
busy for minutes. So:

- :func:`check_envelope` (in-process, bytes only, fast) refuses data before the
  ``%PDF-`` header, anything but whitespace after the last ``%%EOF`` and a ZIP
  end-of-central-directory record (what makes a file open as an archive).
- :func:`clean` parses the file with qpdf (pikepdf) *without* repairing it
  (a structure that does not parse is refused), refuses encrypted files, files
  over the page limit and streams that inflate beyond ``max_stream_bytes``, and
  writes a rewritten copy without Info, XMP metadata (document and objects),
  JavaScript, OpenAction/AA and other actions except in-document jumps, embedded
  files (also PDF 2.0 associated files), annotations, form fields (AcroForm/XFA),
  article threads (their information dictionaries name authors as ``/Info`` does),
  bookmarks, page labels and application private data; structure elements and marked
  content lose their alternate, actual and expanded texts, and layers are renamed
  "Layer n". A JPEG image (also under general compression, and inline) loses its
  metadata segments (EXIF, XMP, IPTC, comments) and any bytes after its end, a JPEG
  2000 image its metadata boxes and codestream comments; the coded picture is kept.
  Other stream data is copied as it is (never decoded), and only objects reachable
  from the document are written, so bytes hidden between objects are dropped.
- :func:`inspect` reads the original (in the anonymity job, never in a page
  view): the text of each page (pypdf) under a page limit, a limit on each
  page's decoded content and a time limit, plus the strings of the Info
  dictionary and XMP packet, embedded-file names and descriptions, annotation
  and form-field texts (with the fields' children), JavaScript, bookmark titles,
  alternate texts, layer names and page labels, for the anonymity scan.

Both run ``python -m opencall.proposals.pdfsafe`` with an address-space and CPU
limit and a wall-clock timeout, so a hostile file can cost a bounded amount of
one worker's time and memory, never the server's.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
import zlib
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PDF_MAGIC = b"%PDF-"
_TRAILING_OK = b" \t\r\n\x00\x0c"


class PdfRefused(ValueError):
    """An upload that is not accepted; ``code`` says why (the caller words the message)."""

    def __init__(self, code: str, detail: str = "", value: int = 0) -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail
        self.value = value


@dataclass(frozen=True)
class Limits:
    """Bounds on the work one PDF may cause."""

    max_pages: int = 500
    max_stream_bytes: int = 64 * 1024 * 1024  # any stream, inflated (checked at upload)
    max_page_content_bytes: int = 1024 * 1024  # a page's decoded content (text extraction)
    max_text_chars: int = 2_000_000
    time_s: float = 20.0  # clean (at upload)
    scan_time_s: float = 60.0  # inspect (in the job)
    memory_bytes: int = 1024 * 1024 * 1024


@dataclass(frozen=True)
class Cleaned:
    data: bytes
    pages: int
    removed: tuple[str, ...]


@dataclass
class Inspection:
    pages: list[str] = field(default_factory=list)
    # (where, text): where is "info:Author", "xmp:dc:creator", "embedded", "annotation",
    # "form", "javascript"
    strings: list[tuple[str, str]] = field(default_factory=list)
    # reasons the text was not checked in full: ("page_too_large", n), ("time_limit", n),
    # ("page_limit", n), ("text_limit", n), ("page_error", n)
    notes: list[tuple[str, int]] = field(default_factory=list)


# --------------------------------------------------------------------------- envelope


def check_envelope(data: bytes) -> None:
    """Refuse non-PDFs and polyglots from the bytes alone (raises :class:`PdfRefused`)."""
    if not data.startswith(PDF_MAGIC):
        raise PdfRefused("not_pdf")
    eof = data.rfind(b"%%EOF")
    if eof < 0:
        raise PdfRefused("unparseable", "no end-of-file marker")
    if data[eof + 5 :].strip(_TRAILING_OK):
        raise PdfRefused("polyglot", "data after the end of the PDF")
    # A ZIP reader looks for the end-of-central-directory record in the last 64 KiB
    # (its comment field may cover the PDF's tail, so the check above does not see it).
    if b"PK\x05\x06" in data[-(65536 + 22) :]:
        raise PdfRefused("polyglot", "a ZIP archive")


# --------------------------------------------------------------------------- parent side


def _run_child(
    op: str, data: bytes, limits: Limits, timeout: float
) -> tuple[dict[str, Any], bytes, str]:
    """Run one operation in a child process; returns (result, output bytes, output lines)."""
    with tempfile.TemporaryDirectory(prefix="oc-pdf-") as tmp:
        src = Path(tmp) / "in.pdf"
        out = Path(tmp) / "out"
        src.write_bytes(data)
        cmd = [
            sys.executable,
            "-m",
            "opencall.proposals.pdfsafe",
            op,
            str(src),
            str(out),
            json.dumps(asdict(limits)),
        ]
        try:
            proc = subprocess.run(  # noqa: S603 - our own module, fixed arguments
                cmd,
                capture_output=True,
                timeout=timeout,
                check=False,
                env={**os.environ, "PYTHONHASHSEED": "0"},
            )
        except subprocess.TimeoutExpired:
            lines = out.read_text(errors="replace") if out.exists() else ""
            return {"ok": False, "error": "time_limit"}, b"", lines
        lines = ""
        blob = b""
        if out.exists():
            blob = out.read_bytes()
            lines = blob.decode("utf-8", errors="replace") if op == "inspect" else ""
        try:
            result = json.loads(proc.stdout.decode() or "{}")
        except ValueError:
            result = {}
        if proc.returncode != 0 or not result:
            # killed by its memory or CPU limit, or crashed inside the parser
            return {"ok": False, "error": "too_complex"}, b"", lines
        return result, blob, lines


def clean(data: bytes, limits: Limits | None = None) -> Cleaned:
    """The rewritten copy for reviewers and chairs; raises :class:`PdfRefused`."""
    limits = limits or Limits()
    check_envelope(data)
    result, blob, _ = _run_child("clean", data, limits, limits.time_s)
    if not result.get("ok"):
        raise PdfRefused(
            str(result.get("error", "unparseable")),
            str(result.get("detail", "")),
            int(result.get("value", 0)),
        )
    if not blob.startswith(PDF_MAGIC):
        raise PdfRefused("unparseable", "the rewritten copy is not a PDF")
    return Cleaned(data=blob, pages=int(result["pages"]), removed=tuple(result["removed"]))


def inspect(data: bytes, limits: Limits | None = None) -> Inspection:
    """Page text and identity-bearing strings of a PDF, within ``limits``."""
    limits = limits or Limits()
    result, _, lines = _run_child("inspect", data, limits, limits.scan_time_s + 5)
    ins = Inspection()
    for line in lines.splitlines():
        try:
            rec = json.loads(line)
        except ValueError:
            continue  # the last line of a killed child may be cut short
        if rec.get("t") == "page":
            ins.pages.append(str(rec["text"]))
        elif rec.get("t") == "string":
            ins.strings.append((str(rec["where"]), str(rec["text"])))
        elif rec.get("t") == "note":
            ins.notes.append((str(rec["code"]), int(rec["page"])))
    if not result.get("ok"):
        ins.notes.append((str(result.get("error", "too_complex")), len(ins.pages) + 1))
    return ins


# --------------------------------------------------------------------------- child side


def _limit_resources(limits: Limits) -> None:
    try:
        import resource

        mem = limits.memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        cpu = int(max(limits.time_s, limits.scan_time_s)) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    except (ImportError, ValueError, OSError):  # pragma: no cover - non-POSIX
        pass


def _filters(stream: Any) -> list[str]:
    import pikepdf

    f = stream.get("/Filter")
    if f is None:
        return []
    if isinstance(f, pikepdf.Array):
        return [str(x) for x in f]
    return [str(f)]


def _inflated_size(stream: Any, limit: int) -> int:
    """Bytes a stream decodes to, counted up to ``limit + 1`` (never more in memory)."""
    filters = _filters(stream)
    if filters and filters[0] == "/FlateDecode":
        raw = stream.read_raw_bytes()
        d = zlib.decompressobj()
        total = 0
        chunk = raw
        while chunk and total <= limit:
            try:
                out = d.decompress(chunk, 1 << 20)
            except zlib.error:
                return total
            total += len(out)
            chunk = d.unconsumed_tail
        return total
    if not filters:
        return len(stream.read_raw_bytes())
    return 0  # image codecs (DCT, JPX, JBIG2, CCITT) and others are never decoded here


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
)
_NAMES_STRIP = (
    ("/JavaScript", "javascript"),
    ("/EmbeddedFiles", "embedded_files"),
    ("/AlternatePresentations", "embedded_files"),
    ("/Renditions", "embedded_files"),
)
_PAGE_STRIP = (("/Annots", "annotations"), ("/AA", "actions"), ("/B", "threads"))
_OBJECT_STRIP = (
    ("/Metadata", "xmp"),
    ("/PieceInfo", "private_data"),
    ("/AA", "actions"),
    ("/AF", "embedded_files"),  # PDF 2.0 associated files
)


#: JPEG segments kept: the JFIF header (APP0), the colour profile (APP2, ICC) and Adobe's
#: colour transform (APP14); every other application segment (EXIF and XMP in APP1,
#: Photoshop's IPTC in APP13, makers' notes) and comments (COM) hold no picture.
_JPEG_KEPT_APP = {0xE0, 0xE2, 0xEE}
_SOS, _EOI, _COM = 0xDA, 0xD9, 0xFE


def _jpeg_without_metadata(data: bytes) -> bytes | None:
    """A JPEG without its metadata segments and without anything after its end (the coded
    picture untouched); None when it is no well-formed JPEG (then it is left as it is)."""
    if not data.startswith(b"\xff\xd8"):
        return None
    out = [data[:2]]
    i, n = 2, len(data)
    while i + 1 < n:
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # a fill byte before a marker
            i += 1
            continue
        if marker == _EOI:
            out.append(data[i : i + 2])
            return b"".join(out)
        if 0xD0 <= marker <= 0xD7 or marker == 0x01:  # restart markers, TEM: no length
            out.append(data[i : i + 2])
            i += 2
            continue
        if i + 4 > n:
            return None
        end = i + 2 + int.from_bytes(data[i + 2 : i + 4], "big")
        if end > n or end < i + 4:
            return None
        if marker != _COM and not (0xE1 <= marker <= 0xEF and marker not in _JPEG_KEPT_APP):
            out.append(data[i:end])
        if marker == _SOS:  # the coded data that follows, up to the next marker
            coded = _coded_end(data, end)
            if coded is None:
                return None
            out.append(data[end:coded])
            end = coded
        i = end
    return None


def _coded_end(data: bytes, i: int) -> int | None:
    """Where a scan's coded data that starts at ``i`` ends: at the first marker, an FF byte
    followed by anything but 00 (a stuffed FF) or a restart marker (RST0-RST7), which
    belong to the coded data."""
    while True:
        i = data.find(b"\xff", i)
        if i < 0 or i + 1 >= len(data):
            return None
        if data[i + 1] != 0x00 and not 0xD0 <= data[i + 1] <= 0xD7:
            return i
        i += 2


#: Filters that only compress (qpdf decodes them); an image codec may sit under them.
_GENERAL_FILTERS = {"/FlateDecode", "/LZWDecode", "/ASCII85Decode", "/ASCIIHexDecode"}
_GENERAL_FILTERS |= {"/RunLengthDecode"}
#: JPEG 2000 boxes kept: the signature, file type, reader requirements, the header
#: (image size, colours, palette, resolution) and compositing; the codestream is cleaned.
#: Dropped: XML (XMP), UUID (EXIF, IPTC, vendors' data), UUID info, IPR, labels, associations.
_JP2_KEPT = {b"jP  ", b"ftyp", b"rreq", b"jp2h", b"jpch", b"jplh"}
_J2K_SOT, _J2K_COM = 0x90, 0x64


def _box_bytes(kind: bytes, body: bytes) -> bytes:
    if len(body) + 8 < 1 << 32:
        return (len(body) + 8).to_bytes(4, "big") + kind + body
    return b"\x00\x00\x00\x01" + kind + (len(body) + 16).to_bytes(8, "big") + body


def _j2k_without_comments(code: bytes) -> bytes | None:
    """A JPEG 2000 codestream without the comments (COM) of its main header."""
    if not code.startswith(b"\xff\x4f"):
        return None
    out, i = [code[:2]], 2
    while i + 4 <= len(code) and code[i] == 0xFF:
        marker = code[i + 1]
        if marker == _J2K_SOT:
            return b"".join([*out, code[i:]])
        end = i + 2 + int.from_bytes(code[i + 2 : i + 4], "big")
        if marker != _J2K_COM:
            out.append(code[i:end])
        i = end
    return None


def _jp2_without_metadata(data: bytes) -> bytes | None:
    """A JPEG 2000 image (JP2/JPX boxes or a bare codestream) without its metadata boxes
    and codestream comments; None when it is not well formed (then it is left as it is)."""
    if data.startswith(b"\xff\x4f\xff\x51"):
        return _j2k_without_comments(data)
    out, i, n = [], 0, len(data)
    while i < n:
        if i + 8 > n:
            return None
        length, kind, head = int.from_bytes(data[i : i + 4], "big"), data[i + 4 : i + 8], 8
        if length == 1:
            length, head = int.from_bytes(data[i + 8 : i + 16], "big"), 16
        elif length == 0:
            length = n - i
        if length < head or i + length > n:
            return None
        body = data[i + head : i + length]
        if kind == b"jp2c":
            code = _j2k_without_comments(body)
            if code is None:
                return None
            out.append(_box_bytes(kind, code))
        elif kind in _JP2_KEPT:
            out.append(data[i : i + length])
        i += length
    return b"".join(out) if out and out[0][4:8] == b"jP  " else None


_IMAGE_CODECS = {"/DCTDecode": _jpeg_without_metadata, "/JPXDecode": _jp2_without_metadata}


def _clean_image(pdf: Any, stream: Any, removed: set[str]) -> None:
    """A JPEG or JPEG 2000 image stream rewritten without its metadata; one stored under
    general compression too (``[/FlateDecode /DCTDecode]``) is written under its codec
    alone (the picture's bytes are the same)."""
    import pikepdf

    filters = _filters(stream)
    if not filters or filters[-1] not in _IMAGE_CODECS:
        return
    if not set(filters[:-1]) <= _GENERAL_FILTERS:
        return
    parms = stream.get("/DecodeParms")
    if len(filters) == 1:
        raw = stream.read_raw_bytes()
    else:
        layer = pikepdf.Stream(pdf, stream.read_raw_bytes())
        layer.Filter = pikepdf.Array([pikepdf.Name(f) for f in filters[:-1]])
        if isinstance(parms, pikepdf.Array):
            layer.DecodeParms = pikepdf.Array(list(parms)[: len(filters) - 1])
            parms = parms[-1] if len(parms) == len(filters) else None
        raw = layer.read_bytes()  # bounded by the child's memory limit
    kept = _IMAGE_CODECS[filters[-1]](raw)
    if kept is None:
        kept = raw
    if kept == raw and len(filters) == 1:
        return
    stream.write(kept, filter=pikepdf.Name(filters[-1]), decode_parms=parms)
    removed.add("image_metadata")


#: Texts a reviewer never sees on the page: a structure element's alternate, actual and
#: expanded text and title; marked content's alternate and actual text.
_STRUCT_TEXT = tuple((k, "alternate_text") for k in ("/Alt", "/ActualText", "/E", "/T"))
_MARKED_TEXT = _STRUCT_TEXT[:3]


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


def _child_clean(src: str, out: str, limits: Limits) -> dict[str, Any]:
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
    removed: set[str] = set()
    _strip(pdf.trailer, _TRAILER_STRIP, removed)
    root = pdf.Root
    _strip(root, _ROOT_STRIP, removed)
    if "/Names" in root:
        _strip(root.Names, _NAMES_STRIP, removed)
    for page in pdf.pages:
        _strip(page.obj, _PAGE_STRIP, removed)
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            continue
        _strip(obj, _OBJECT_STRIP, removed)
        action = obj.get("/A")
        if isinstance(action, pikepdf.Dictionary):
            if str(action.get("/S", "")) not in _ACTION_KEEP or "/Next" in action:
                del obj["/A"]
                removed.add("actions")
        if isinstance(obj, pikepdf.Stream):
            if _inflated_size(obj, limits.max_stream_bytes) > limits.max_stream_bytes:
                return {"ok": False, "error": "bomb", "value": limits.max_stream_bytes}
            _clean_image(pdf, obj, removed)
            if obj.get("/Subtype") == "/Form":
                _clean_content(pdf, obj, [obj], removed)
        _strip(obj, _STRUCT_TEXT[:2], removed)  # named marked-content properties
    _clean_structure(root, removed)
    _clean_layers(pdf, removed)
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
    tree = root.get("/StructTreeRoot")
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
    props = root.get("/OCProperties")
    if isinstance(props, pikepdf.Dictionary):
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
    labels = root.get("/PageLabels")
    if isinstance(labels, pikepdf.Dictionary):
        try:
            for _n, label in pikepdf.NumberTree(labels).items():
                if isinstance(label, pikepdf.Dictionary) and "/P" in label:
                    out.append(("page_label", label.P))
        except Exception:  # noqa: BLE001 - a broken tree is not a reason to stop
            pass
    return [(w, t) for w, t in out if isinstance(t, pikepdf.String)]


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
    info = pdf.trailer.get("/Info")
    if isinstance(info, pikepdf.Dictionary):
        for k, v in info.items():
            if isinstance(v, pikepdf.String):
                string(f"info:{k[1:]}", v)
    root = pdf.Root
    if isinstance(root.get("/Metadata"), pikepdf.Stream):
        try:
            for where, text in _xmp_strings(root.Metadata.read_bytes()):
                string(where, text)
        except Exception:  # noqa: BLE001 - a broken packet is not a reason to stop
            pass
    names = root.get("/Names")
    if isinstance(names, pikepdf.Dictionary) and "/EmbeddedFiles" in names:
        try:
            for key, spec in pikepdf.NameTree(names.EmbeddedFiles).items():
                string("embedded", key)
                if isinstance(spec, pikepdf.Dictionary):
                    for k in ("/F", "/UF", "/Desc"):
                        if k in spec:
                            string("embedded", spec[k])
        except Exception:  # noqa: BLE001
            pass
    if isinstance(names, pikepdf.Dictionary) and "/JavaScript" in names:
        try:
            for _key, action in pikepdf.NameTree(names.JavaScript).items():
                js = action.get("/JS") if isinstance(action, pikepdf.Dictionary) else None
                if isinstance(js, pikepdf.Stream):
                    string("javascript", js.read_bytes()[:10_000].decode("latin-1"))
                elif js is not None:
                    string("javascript", js)
        except Exception:  # noqa: BLE001
            pass
    opening = root.get("/OpenAction")
    if isinstance(opening, pikepdf.Dictionary) and "/JS" in opening:
        js = opening.JS
        string(
            "javascript",
            js.read_bytes()[:10_000].decode("latin-1") if isinstance(js, pikepdf.Stream) else js,
        )
    for page in pdf.pages[: limits.max_pages]:
        for annot in page.obj.get("/Annots", pikepdf.Array()):
            if not isinstance(annot, pikepdf.Dictionary):
                continue
            for k in ("/T", "/Contents", "/Subj", "/RC"):
                if isinstance(annot.get(k), pikepdf.String):
                    string("annotation", annot[k])
            fs = annot.get("/FS")
            if isinstance(fs, pikepdf.Dictionary):
                for k in ("/F", "/UF", "/Desc"):
                    if k in fs:
                        string("embedded", fs[k])
    acro = root.get("/AcroForm")
    if isinstance(acro, pikepdf.Dictionary):
        fields = list(acro.get("/Fields", pikepdf.Array()))[:1000]
        seen: set[tuple[int, int]] = set()
        for _ in range(10_000):  # the fields with their children (/Kids)
            if not fields:
                break
            fld = fields.pop()
            if isinstance(fld, pikepdf.Dictionary) and fld.objgen not in seen:
                if fld.is_indirect:
                    seen.add(fld.objgen)
                for k in ("/T", "/TU", "/V"):
                    if isinstance(fld.get(k), pikepdf.String):
                        string("form", fld[k])
                fields += list(fld.get("/Kids", pikepdf.Array()))[:1000]
    for where, text in _hidden_texts(root):
        string(where, text)

    from pypdf import PdfReader

    reader = PdfReader(src)
    total = 0
    n = len(reader.pages)
    for i in range(min(n, limits.max_pages)):
        if time.monotonic() - started > limits.scan_time_s:
            emit({"t": "note", "code": "time_limit", "page": i + 1})
            break
        try:
            contents = pdf.pages[i].obj.get("/Contents")
            streams = (
                list(contents)
                if isinstance(contents, pikepdf.Array)
                else [contents]
                if contents
                else []
            )
            size = sum(
                _inflated_size(s, limits.max_page_content_bytes)
                for s in streams
                if isinstance(s, pikepdf.Stream)
            )
            if size > limits.max_page_content_bytes:
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
    sink.close()
    return {"ok": True}


def _main(argv: list[str]) -> int:
    op, src, out, raw_limits = argv
    limits = Limits(**json.loads(raw_limits))
    _limit_resources(limits)
    try:
        if op == "clean":
            result = _child_clean(src, out, limits)
        elif op == "inspect":
            result = _child_inspect(src, out, limits)
        else:
            result = {"ok": False, "error": "unknown_op"}
    except MemoryError:
        result = {"ok": False, "error": "too_complex"}
    except Exception as exc:  # noqa: BLE001 - any parser failure is reported, not raised
        result = {"ok": False, "error": "unparseable", "detail": str(exc)[:200]}
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover - the child process
    raise SystemExit(_main(sys.argv[1:]))
