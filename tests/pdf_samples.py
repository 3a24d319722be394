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


def photo_jpeg(*, progressive: bool = False) -> bytes:
    """A small JPEG photo that names the PI where cameras and editors do: EXIF (Artist,
    Copyright), an XMP packet (dc:creator) and a comment; and, after its end, a trailer.
    It carries a colour profile (ICC), which is part of the picture."""
    from PIL import Image, ImageCms

    img = Image.new("RGB", (16, 16), (180, 40, 20))
    exif = Image.Exif()
    exif[0x013B] = PI_NAME  # Artist
    exif[0x8298] = f"(c) {PI_INST}"  # Copyright
    xmp = f'<x:xmpmeta xmlns:x="adobe:ns:meta/"><dc:creator>{PI_NAME}</dc:creator></x:xmpmeta>'
    out = io.BytesIO()
    img.save(
        out,
        "JPEG",
        exif=exif.tobytes(),
        xmp=xmp.encode(),
        comment=f"Photo by {PI_NAME}".encode(),
        progressive=progressive,
        icc_profile=ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes(),
    )
    return out.getvalue() + f"sent by {PI_EMAIL}".encode()


def hidden_identity_pdf(*, progressive: bool = False) -> bytes:
    """Neutral page text and none of :func:`identity_pdf`'s places; the PI's identity in a
    figure's JPEG metadata and in an article thread's information dictionary (``/I``,
    with ``/Author`` and ``/Title`` like the document's own)."""
    pdf = pikepdf.open(io.BytesIO(plain_pdf()))
    page = pdf.pages[0]
    image = pikepdf.Stream(
        pdf,
        photo_jpeg(progressive=progressive),
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=16,
        Height=16,
        ColorSpace=pikepdf.Name.DeviceRGB,
        BitsPerComponent=8,
        Filter=pikepdf.Name.DCTDecode,
    )
    page.add_resource(image, pikepdf.Name.XObject, pikepdf.Name.Im1)
    page.contents_add(pdf.make_stream(b"q 40 0 0 40 100 600 cm /Im1 Do Q"))
    bead = pdf.make_indirect(
        pikepdf.Dictionary(Type=pikepdf.Name.Bead, P=page.obj, R=[0, 0, 100, 100])
    )
    info = pikepdf.Dictionary(Title=pikepdf.String("Sec. 2"), Author=pikepdf.String(PI_NAME))
    thread = pdf.make_indirect(pikepdf.Dictionary(Type=pikepdf.Name.Thread, F=bead, I=info))
    bead.T, bead.N, bead.V = thread, bead, bead
    pdf.Root.Threads = pdf.make_indirect(pikepdf.Array([thread]))
    page.obj.B = pikepdf.Array([bead])
    return _save(pdf)
