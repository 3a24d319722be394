"""Embedded fonts renamed "Font 1", "Font 2"...: a font made of an author's handwriting,
or by her institute, names them in ``/BaseFont``, the descriptor's ``/FontName`` and
``/FontFamily`` and the embedded program's own names (a TrueType or OpenType ``name``
table, a CFF font's name and its top dictionary's strings). The glyphs and metrics are
kept, so every page draws the same; a font that is not embedded keeps its name (the
viewer picks a font by it), and a Type 1 program (``/FontFile``) is copied as it is."""

from __future__ import annotations

import io
import re
import zlib
from typing import Any

#: A subset font's tag ("ABCDEF+"), kept so a viewer still tells subsets apart.
_SUBSET_TAG = re.compile(r"^/([A-Z]{6}\+)")
#: CFF top-dictionary strings that may name a person or a foundry.
_CFF_TEXT = ("version", "Notice", "Copyright", "FullName", "FamilyName", "Weight")


def _renamed_program(data: bytes, sfnt: bool, name: str) -> bytes | None:
    """The font program with its names replaced by ``name`` (None: it does not parse)."""
    from fontTools.cffLib import CFFFontSet
    from fontTools.ttLib import TTFont

    try:
        if not sfnt:
            cff = CFFFontSet()
            cff.decompile(io.BytesIO(data), None)
            _rename_cff(cff, name)
            out = io.BytesIO()
            cff.compile(out, None)
            return out.getvalue()
        font = TTFont(io.BytesIO(data), lazy=False)
        if "name" in font:
            font["name"].names = []
            for name_id, text in ((1, name), (2, "Regular"), (4, name), (6, name.replace(" ", ""))):
                font["name"].setName(text, name_id, 3, 1, 0x409)
        if "CFF " in font:
            _rename_cff(font["CFF "].cff, name)
        out = io.BytesIO()
        font.save(out)
        return out.getvalue()
    except Exception:  # noqa: BLE001 - a program fontTools cannot read is copied as it is
        return None


def _rename_cff(cff: Any, name: str) -> None:
    cff.fontNames = [name.replace(" ", "") for _ in cff.fontNames]
    for top in cff.topDictIndex:
        for key in _CFF_TEXT:
            if hasattr(top, key):
                setattr(top, key, name if key in ("FullName", "FamilyName") else "")


def clean_fonts(pdf: Any, removed: set[str]) -> None:
    """Every font descriptor with an embedded TrueType, OpenType or CFF program, and the
    fonts that use it, renamed (``font_names``)."""
    import pikepdf

    names: dict[tuple[int, int], str] = {}
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Type") != "/FontDescriptor":
            continue
        program = obj.get("/FontFile2", obj.get("/FontFile3"))
        if not isinstance(program, pikepdf.Stream):
            continue
        tag = _SUBSET_TAG.match(str(obj.get("/FontName", "")))
        label = f"Font {len(names) + 1}"
        sfnt = "/FontFile2" in obj or program.get("/Subtype") == "/OpenType"
        try:
            renamed = _renamed_program(program.read_bytes(), sfnt, label)
        except pikepdf.PdfError:
            renamed = None
        if renamed is not None:
            program.write(zlib.compress(renamed), filter=pikepdf.Name.FlateDecode)
            if "/Length1" in program:  # a TrueType program's decoded length
                program.Length1 = len(renamed)
        new = pikepdf.Name("/" + (tag.group(1) if tag else "") + label.replace(" ", ""))
        obj.FontName = new
        if "/FontFamily" in obj:
            del obj["/FontFamily"]
        names[obj.objgen] = str(new)
        removed.add("font_names")
    if not names:
        return
    for obj in pdf.objects:
        if not isinstance(obj, pikepdf.Dictionary) or obj.get("/Type") != "/Font":
            continue
        parts = [obj, *obj.get("/DescendantFonts", pikepdf.Array())]
        for part in parts:
            descriptor = (
                part.get("/FontDescriptor") if isinstance(part, pikepdf.Dictionary) else None
            )
            if isinstance(descriptor, pikepdf.Dictionary) and descriptor.objgen in names:
                obj.BaseFont = pikepdf.Name(names[descriptor.objgen])
