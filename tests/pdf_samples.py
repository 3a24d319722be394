"""PDFs built with pikepdf for the tests of issue 13 (identity hidden everywhere a PDF
can hide it; a page whose content inflates from a few kB)."""

from __future__ import annotations

import io
import random
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


def jp2_with_metadata() -> bytes:
    """A small JPEG 2000 file (JP2 boxes) naming the PI in an XML box, a UUID box and a
    comment (COM) in the codestream's main header, where editors write them."""
    from PIL import Image

    out = io.BytesIO()
    Image.new("RGB", (16, 16), (20, 90, 160)).save(out, "JPEG2000", no_jp2=False)
    data = out.getvalue()

    def box(kind: bytes, body: bytes) -> bytes:
        return (8 + len(body)).to_bytes(4, "big") + kind + body

    at = data.index(b"jp2c") - 4  # boxes before the codestream box
    length = int.from_bytes(data[at : at + 4], "big")
    code = data[at + 8 : at + length] if length else data[at + 8 :]
    siz_end = code.index(b"\xff\x52")  # COD: the COM goes before it, in the main header
    comment = f"Figure by {PI_NAME}".encode()
    com = b"\xff\x64" + (4 + len(comment)).to_bytes(2, "big") + b"\x00\x01" + comment
    code = code[:siz_end] + com + code[siz_end:]
    xml = f"<x:xmpmeta><dc:creator>{PI_NAME}</dc:creator></x:xmpmeta>".encode()
    return (
        data[:at]
        + box(b"xml ", xml)
        + box(b"uuid", b"\x00" * 16 + f"(c) {PI_INST}".encode())
        + box(b"jp2c", code)
    )


def _image(pdf: pikepdf.Pdf, data: bytes, filters: list[str], **extra: object) -> pikepdf.Stream:
    f: object = (
        pikepdf.Name(filters[0])
        if len(filters) == 1
        else pikepdf.Array([pikepdf.Name(x) for x in filters])
    )
    return pikepdf.Stream(
        pdf,
        data,
        Type=pikepdf.Name.XObject,
        Subtype=pikepdf.Name.Image,
        Width=16,
        Height=16,
        BitsPerComponent=8,
        Filter=f,
        **extra,
    )


#: Where :func:`structure_identity_pdf` can put the PI's name (one place at a time).
HIDING_PLACES = (
    "outline",
    "alt_text",
    "marked_content",
    "layer",
    "page_label",
    "flate_jpeg",
    "jpeg2000",
    "inline_image",
)


def structure_identity_pdf(place: str) -> bytes:
    """Neutral page text and the PI's name in one of :data:`HIDING_PLACES` only: a
    bookmark's title, a figure's alternate and actual text in the structure tree or in
    the marked content of the page, an optional-content layer's name, a page label, a
    JPEG under a second compression (Flate), a JPEG 2000 figure's metadata boxes, or an
    inline image (a JPEG with EXIF inside the content stream, and an /Author key)."""
    pdf = pikepdf.open(io.BytesIO(plain_pdf()))
    page = pdf.pages[0]
    name = pikepdf.String(PI_NAME)
    if place == "outline":
        with pdf.open_outline() as outline:
            outline.root.append(pikepdf.OutlineItem(f"Work of {PI_NAME}", 0))
    elif place in ("alt_text", "marked_content"):
        elem = pikepdf.Dictionary(
            Type=pikepdf.Name.StructElem, S=pikepdf.Name.Figure, Pg=page.obj, K=0
        )
        if place == "alt_text":
            elem.Alt, elem.ActualText = pikepdf.String(f"Photo of {PI_NAME}"), name
            elem.T, elem.E = name, name
            props = b"<</MCID 0>>"
        else:
            props = f"<</MCID 0 /Alt (Photo of {PI_NAME}) /ActualText ({PI_NAME})>>".encode()
        root = pdf.make_indirect(
            pikepdf.Dictionary(Type=pikepdf.Name.StructTreeRoot, K=pikepdf.Array([elem]))
        )
        elem.P = root
        pdf.Root.StructTreeRoot = root
        pdf.Root.MarkInfo = pikepdf.Dictionary(Marked=True)
        page.obj.StructParents = 0
        page.contents_add(
            pdf.make_stream(b"/Figure " + props + b" BDC 0 0 1 rg 50 50 80 40 re f EMC")
        )
    elif place == "layer":
        ocg = pdf.make_indirect(
            pikepdf.Dictionary(Type=pikepdf.Name.OCG, Name=pikepdf.String(f"Notes {PI_NAME}"))
        )
        pdf.Root.OCProperties = pikepdf.Dictionary(
            OCGs=pikepdf.Array([ocg]),
            D=pikepdf.Dictionary(
                Name=pikepdf.String(f"View of {PI_NAME}"),
                ON=pikepdf.Array([ocg]),
                Order=pikepdf.Array([pikepdf.Array([name, ocg])]),
            ),
        )
        unlisted = pdf.make_indirect(  # not in /OCGs, as a careless writer leaves one
            pikepdf.Dictionary(Type=pikepdf.Name.OCG, Name=pikepdf.String(f"By {PI_NAME}"))
        )
        page.add_resource(ocg, pikepdf.Name.Properties, pikepdf.Name.oc1)
        page.add_resource(unlisted, pikepdf.Name.Properties, pikepdf.Name.oc2)
        page.contents_add(
            pdf.make_stream(
                b"/OC /oc1 BDC 0 1 0 rg 50 50 80 40 re f EMC /OC /oc2 BDC 0 0 1 rg 150 50 80 40"
                b" re f EMC"
            )
        )
    elif place == "page_label":
        pdf.Root.PageLabels = pikepdf.Dictionary(
            Nums=pikepdf.Array([0, pikepdf.Dictionary(S=pikepdf.Name.D, P=name)])
        )
    elif place in ("flate_jpeg", "jpeg2000"):
        if place == "flate_jpeg":
            image = _image(
                pdf,
                zlib.compress(photo_jpeg()),
                ["/FlateDecode", "/DCTDecode"],
                ColorSpace=pikepdf.Name.DeviceRGB,
            )
        else:
            image = _image(pdf, jp2_with_metadata(), ["/JPXDecode"])
        page.add_resource(image, pikepdf.Name.XObject, pikepdf.Name.Im1)
        page.contents_add(pdf.make_stream(b"q 40 0 0 40 100 600 cm /Im1 Do Q"))
    elif place == "inline_image":
        jpeg = photo_jpeg().replace(f"sent by {PI_EMAIL}".encode(), b"")
        page.contents_add(
            pdf.make_stream(
                b"q 40 0 0 40 100 600 cm BI /W 16 /H 16 /CS /RGB /BPC 8 /F /DCT /IM false"
                + f" /Author ({PI_NAME}) ID ".encode()
                + jpeg
                + b"\nEI Q"
            )
        )
    else:
        raise ValueError(place)
    return _save(pdf)


def form_tree_pdf() -> bytes:
    """The PI's name where the scan did not look: a form field's child (``/Kids``, not a
    widget on the page) and an annotation's rich text (``/RC``) and subject (``/Subj``)."""
    pdf = pikepdf.open(io.BytesIO(plain_pdf()))
    kid = pdf.make_indirect(pikepdf.Dictionary(T=pikepdf.String("name"), V=pikepdf.String(PI_NAME)))
    parent = pdf.make_indirect(
        pikepdf.Dictionary(FT=pikepdf.Name.Tx, T=pikepdf.String("team"), Kids=[kid])
    )
    kid.Parent = parent
    pdf.Root.AcroForm = pikepdf.Dictionary(Fields=pikepdf.Array([parent]))
    annot = pikepdf.Dictionary(
        Type=pikepdf.Name.Annot,
        Subtype=pikepdf.Name.Text,
        Rect=[10, 10, 20, 20],
        Subj=pikepdf.String(f"Query from {PI_INST}"),
        RC=pikepdf.String(f"<body><p>Signed {PI_EMAIL}</p></body>"),
    )
    pdf.pages[0].obj.Annots = pdf.make_indirect(pikepdf.Array([pdf.make_indirect(annot)]))
    return _save(pdf)


def _raw_pdf(objects: list[bytes]) -> bytes:
    """A PDF written by hand, its objects in the order given (pikepdf writes its own
    order), with a correct cross-reference table."""
    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{i} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{o:010d} 00000 n \n".encode() for o in offsets)
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R >>\nstartxref\n{xref}\n%%EOF\n".encode()
    )
    return bytes(out)


def zip_in_a_stream_pdf(archive: bytes, padding: int = 120_000) -> bytes:
    """A PDF that is no ZIP archive (the archive sits in an image stream near its start,
    more than 64 KiB before its end) and whose rewrite is one: the rewrite writes the
    page's contents before its resources, so the image, whose filter (CCITT fax) no
    program decodes and the rewrite copies as it is, comes last, the archive's end
    record within the last 64 KiB, where a ZIP reader looks for it."""

    def stream(keys: bytes, data: bytes) -> bytes:
        length = str(len(data)).encode()
        return b"<< " + keys + b" /Length " + length + b" >>\nstream\n" + data + b"\nendstream"

    filler = bytes(random.Random(7).choice(b"0123456789abcdef") for _ in range(padding))
    image = b"/Type /XObject /Subtype /Image /Width 8 /Height 8 /BitsPerComponent 1 "
    image += b"/ColorSpace /DeviceGray /Filter /CCITTFaxDecode"
    return _raw_pdf(
        [
            b"<< /Type /Catalog /Pages 2 0 R >>",
            b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] "
            b"/Resources << /XObject << /Z 4 0 R >> >> /Contents 5 0 R >>",
            stream(image, archive),
            stream(b"", b"q Q\n%" + filler + b"\n"),
        ]
    )


def signed_pdf() -> bytes:
    """A PDF signed for long-term validation, as a PI's e-signature tool writes it: the
    document security store (``/DSS``) holds the signer's certificate, an OCSP answer and
    a per-signature ``/VRI`` entry, and the legal attestation (``/Legal``) names the
    signer too. The certificate is a DER stream whose subject is the PI (copied as it is,
    since it is not compressed)."""
    pdf = pikepdf.open(io.BytesIO(plain_pdf()))
    cert = pdf.make_stream(b"0\x82\x01\x00" + f"CN={PI_NAME}, O={PI_INST}, E={PI_EMAIL}".encode())
    ocsp = pdf.make_stream(f"OCSP good for {PI_NAME}".encode())
    vri = pikepdf.Dictionary(Cert=pikepdf.Array([cert]), TU=pikepdf.String(PI_NAME))
    pdf.Root.DSS = pdf.make_indirect(
        pikepdf.Dictionary(
            Certs=pikepdf.Array([cert]),
            OCSPs=pikepdf.Array([ocsp]),
            VRI=pikepdf.Dictionary({"/0A1B2C": vri}),
        )
    )
    pdf.Root.Legal = pikepdf.Dictionary(Attestation=pikepdf.String(f"Signed by {PI_NAME}"))
    return _save(pdf)


def named_pages_pdf() -> bytes:
    """A PDF whose name dictionary holds pages outside the page tree (``/Templates``, the
    pages a form's script can spawn, and ``/Pages``, named pages): a CV page naming the PI
    that no viewer shows but any extractor reads. It also carries a web-capture ``/URLS``
    tree whose key is the PI's home page."""
    pdf = pikepdf.open(io.BytesIO(plain_pdf()))
    cv = pdf.make_stream(f"BT /F1 12 Tf 72 720 Td (CV of {PI_NAME}, {PI_INST}) Tj ET".encode())
    hidden = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Template,
            MediaBox=[0, 0, 595, 842],
            Contents=cv,
            Resources=pdf.pages[0].Resources,
        )
    )
    home = f"https://turkana-radio.example/~{SURNAME}/"
    pdf.Root.Names = pikepdf.Dictionary(
        Templates=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("cv"), hidden])),
        Pages=pikepdf.Dictionary(Names=pikepdf.Array([pikepdf.String("cv"), hidden])),
        URLS=pikepdf.Dictionary(
            Names=pikepdf.Array(
                [pikepdf.String(home), pikepdf.Dictionary(Type=pikepdf.Name.SpiderContentSet)]
            )
        ),
    )
    return _save(pdf)


def private_keys_pdf() -> bytes:
    """A PDF whose document catalogue, page tree node and page carry keys a writing tool
    chose (a catalogue ``/Author``, a page's ``/LastEditor`` and ``/ID``), separation
    information naming the PI, an output intent whose ``/Info`` names the profile's
    maker and reader requirements with a note: none of them is drawn, all of them are
    text in the file for any extractor."""
    pdf = pikepdf.open(io.BytesIO(plain_pdf()))
    text = pikepdf.String(f"{PI_NAME}, {PI_INST}")
    pdf.Root.Author = text
    pdf.Root.OutputIntents = pikepdf.Array(
        [
            pikepdf.Dictionary(
                Type=pikepdf.Name.OutputIntent,
                S=pikepdf.Name.GTS_PDFA1,
                OutputConditionIdentifier=pikepdf.String("sRGB"),
                Info=pikepdf.String(f"Profile tuned by {PI_NAME}"),
            )
        ]
    )
    pdf.Root.Requirements = pikepdf.Array(
        [pikepdf.Dictionary(S=pikepdf.Name.EnableJavaScripts, Note=text)]
    )
    pdf.Root.Pages.Owner = text
    page = pdf.pages[0].obj
    page.LastEditor = text
    page.ID = pikepdf.String(PI_EMAIL)
    page.SeparationInfo = pikepdf.Dictionary(DeviceColorant=text, Pages=pikepdf.Array([page]))
    return _save(pdf)


def named_font_pdf() -> bytes:
    """A PDF whose text is set in a font the PI made of her own handwriting, as a
    handwriting-font service names it: the font's names (family, full and PostScript
    names, in the embedded TrueType program's name table and in the PDF's ``/BaseFont``
    and ``/FontName``) are the PI's. Built from matplotlib's DejaVu Sans, renamed."""
    from pathlib import Path
    from tempfile import TemporaryDirectory

    import matplotlib
    from fontTools.ttLib import TTFont

    source = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
    font = TTFont(source)
    font["name"].names = []
    postscript = SURNAME.replace(" ", "") + "-Hand"
    for name_id, text in ((1, PI_NAME), (2, "Regular"), (4, PI_NAME), (6, postscript)):
        font["name"].setName(text, name_id, 3, 1, 0x409)
        font["name"].setName(text, name_id, 1, 0, 0)
    with TemporaryDirectory() as tmp:
        path = Path(tmp) / "hand.ttf"
        font.save(path)
        pdf = FPDF()
        pdf.add_page()
        pdf.add_font("hand", fname=str(path))
        pdf.set_font("hand", size=12)
        pdf.cell(text="A neutral scientific justification.")
        return bytes(pdf.output())
