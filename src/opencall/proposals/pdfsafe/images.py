"""JPEG and JPEG 2000 images without their metadata (EXIF, XMP, IPTC, comments, boxes):
the coded picture is kept, its bytes never decoded."""

from __future__ import annotations

from typing import Any

from opencall.proposals.pdfsafe.streams import _filters

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
