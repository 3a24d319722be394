"""PDFs built with pikepdf for the tests of issue 13 (identity hidden everywhere a PDF
can hide it; a page whose content inflates from a few kB)."""

from __future__ import annotations

import io
import zlib

import pikepdf
from fpdf import FPDF

PI_NAME = "Ngozi Wamalwa-Castellanos"
PI_INST = "Lake Turkana Radio Observatory"
PI_EMAIL = "ngozi@turkana-radio.example"
SURNAME = "Wamalwa-Castellanos"


def plain_pdf(text: str = "A neutral scientific justification.", pages: int = 1) -> bytes:
    pdf = FPDF()
    for _ in range(pages):
        pdf.add_page()
        pdf.set_font("helvetica", size=12)
        pdf.cell(text=text)
    return bytes(pdf.output())


def _save(pdf: pikepdf.Pdf) -> bytes:
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def identity_pdf() -> bytes:
    """Neutral page text; the PI's identity everywhere else a PDF can hide it."""
    pdf = pikepdf.open(io.BytesIO(plain_pdf()))
    pdf.docinfo["/Author"] = PI_NAME
    pdf.docinfo["/Creator"] = f"{PI_INST} thesis template"
    with pdf.open_metadata(set_pikepdf_as_editor=False) as meta:
        meta["dc:creator"] = [PI_NAME]
        meta["dc:description"] = f"Written at {PI_INST}"
    pdf.attachments["wamalwa_castellanos_cv.txt"] = pikepdf.AttachedFileSpec(
        pdf, f"CV of {PI_NAME}, {PI_EMAIL}".encode(), filename="wamalwa_castellanos_cv.txt"
    )
    pdf.Root.OpenAction = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Action,
            S=pikepdf.Name.JavaScript,
            JS=pikepdf.String(f"app.alert('Proposal by {PI_NAME}')"),
        )
    )
    annot = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Annot,
            Subtype=pikepdf.Name.Text,
            Rect=[10, 10, 20, 20],
            T=pikepdf.String(PI_NAME),
            Contents=pikepdf.String(f"note from {PI_EMAIL}"),
        )
    )
    field = pdf.make_indirect(
        pikepdf.Dictionary(
            FT=pikepdf.Name.Tx,
            T=pikepdf.String("author"),
            V=pikepdf.String(PI_NAME),
            Rect=[30, 30, 60, 40],
            Subtype=pikepdf.Name.Widget,
            Type=pikepdf.Name.Annot,
        )
    )
    pdf.pages[0].obj.Annots = pdf.make_indirect(pikepdf.Array([annot, field]))
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([field]))
    return _save(pdf)


def heavy_page_pdf(content_bytes: int) -> bytes:
    """One page whose content stream inflates to ``content_bytes`` from a few kB."""
    pdf = pikepdf.new()
    pdf.add_blank_page()
    ops = b"0 0 m 1 1 l S\n" * (content_bytes // 14 + 1)
    stream = pdf.make_stream(zlib.compress(ops[:content_bytes], 9))
    stream.Filter = pikepdf.Name.FlateDecode
    pdf.pages[0].obj.Contents = stream
    return _save(pdf)
