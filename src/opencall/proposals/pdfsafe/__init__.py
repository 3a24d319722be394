"""PDF hygiene and bounded text extraction (no database; every parse in a child process).

Uploaded PDFs are untrusted: a file can carry its authors' names in the Info
dictionary, the XMP packet, embedded files, annotations and form fields; it can
run JavaScript or actions when opened; it can be a polyglot (a PDF that is also a
ZIP archive); and a few kilobytes can expand into gigabytes or keep a parser
busy for minutes. So:

- :func:`check_envelope` (in-process, bytes only, fast) refuses data before the
  ``%PDF-`` header, anything but whitespace (or a DOS Ctrl-Z) after the last ``%%EOF`` and a ZIP
  end-of-central-directory record (what makes a file open as an archive); the rewritten
  copy is checked again (a stream copied as it is may hold an archive).
- :func:`clean` parses the file with qpdf (pikepdf) *without* repairing it
  (a structure that does not parse is refused), refuses encrypted files, files
  over the page limit and streams that inflate beyond ``max_stream_bytes``, and
  writes a rewritten copy without Info, XMP metadata (document and objects),
  JavaScript, OpenAction/AA and other actions except in-document jumps, embedded
  files (also PDF 2.0 associated files), annotations, form fields (AcroForm/XFA),
  signatures' certificates and attestations (``/DSS``, ``/Legal``: they name the signer),
  pages outside the page tree (``/Names`` ``/Templates`` and ``/Pages``), web capture's trees,
  article threads (their information dictionaries name authors as ``/Info`` does),
  bookmarks, page labels and application private data (the catalogue, the page tree's
  nodes and the pages keep only the keys that draw or navigate the document: any key a
  tool added is dropped); embedded TrueType, OpenType and CFF fonts are renamed "Font n"
  (``/BaseFont``, ``/FontName`` and the program's own names; the glyphs are kept); structure elements and marked
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

The package: this module is the parent side (the envelope check, :func:`clean`,
:func:`inspect` and the child process they run); the child (``__main__``) runs
``cleaning`` or ``inspection``, which share ``streams`` (a stream's filters and inflated
size, the hidden texts); ``images`` takes the metadata out of JPEG and JPEG 2000 images.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

PDF_MAGIC = b"%PDF-"
# whitespace, and Ctrl-Z: the DOS end-of-file mark old DOS and Windows tools write last
_TRAILING_OK = b" \t\r\n\x00\x0c\x1a"


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
    # the copy is what reviewers download: it must pass the envelope check as the upload
    # did (trialcrowd22: an archive in a stream that no program decodes, copied as it is,
    # near the start of the upload and written last in the copy, made the copy a ZIP)
    check_envelope(blob)
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
