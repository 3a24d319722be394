"""What the child's cleaning and inspection share: a stream's filters and its inflated
size (never decoded in memory), and the texts a reader never sees on the page."""

from __future__ import annotations

import zlib
from typing import Any


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


#: Texts a reviewer never sees on the page: a structure element's alternate, actual and
#: expanded text and title; marked content's alternate and actual text.
_STRUCT_TEXT = tuple((k, "alternate_text") for k in ("/Alt", "/ActualText", "/E", "/T"))
_MARKED_TEXT = _STRUCT_TEXT[:3]
