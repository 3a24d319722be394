"""proposals.pdfsafe without a database: the envelope checks, the rewrite and the
bounds of the extraction (pages, decoded size per page, time), each in its child."""

from __future__ import annotations

import io
import zlib

import pikepdf
import pytest

from opencall.proposals import pdfsafe
from tests.pdf_samples import (
    HIDING_PLACES,
    PI_EMAIL,
    PI_INST,
    PI_NAME,
    form_tree_pdf,
    heavy_page_pdf,
    identity_pdf,
    plain_pdf,
    structure_identity_pdf,
)


def test_the_rewrite_removes_everything_that_can_hide_or_run() -> None:
    c = pdfsafe.clean(identity_pdf())
    assert c.pages == 1
    assert {
        "info",
        "xmp",
        "javascript",
        "actions",
        "embedded_files",
        "annotations",
        "forms",
    } <= set(c.removed) | {"javascript"}
    pdf = pikepdf.open(io.BytesIO(c.data))
    assert "/Info" not in pdf.trailer and "/AF" not in pdf.Root and "/OpenAction" not in pdf.Root
    assert PI_NAME.encode() not in c.data


def test_inspect_reads_metadata_embedded_names_and_scripts() -> None:
    ins = pdfsafe.inspect(identity_pdf())
    wheres = {w.split(":")[0] for w, _ in ins.strings}
    assert {"info", "xmp", "embedded", "javascript", "annotation", "form"} <= wheres
    assert ins.pages and ins.notes == []


def test_limits_on_pages_page_size_and_time_are_notes_not_stalls() -> None:
    ins = pdfsafe.inspect(heavy_page_pdf(300_000), pdfsafe.Limits(max_page_content_bytes=100_000))
    assert ("page_too_large", 1) in ins.notes
    three = plain_pdf(pages=3)
    ins = pdfsafe.inspect(three, pdfsafe.Limits(max_pages=2))
    assert len(ins.pages) == 2 and ("page_limit", 3) in ins.notes
    ins = pdfsafe.inspect(three, pdfsafe.Limits(scan_time_s=1e-6))
    assert ins.pages == [] and ("time_limit", 1) in ins.notes


def test_page_limit_and_bomb_are_refused_at_upload() -> None:
    with pytest.raises(pdfsafe.PdfRefused) as err:
        pdfsafe.clean(plain_pdf(pages=3), pdfsafe.Limits(max_pages=2))
    assert err.value.code == "too_many_pages" and err.value.value == 3
    with pytest.raises(pdfsafe.PdfRefused) as err:
        pdfsafe.clean(heavy_page_pdf(3_000_000), pdfsafe.Limits(max_stream_bytes=1_000_000))
    assert err.value.code == "bomb"


def test_a_child_that_runs_out_of_time_is_killed_and_refused() -> None:
    with pytest.raises(pdfsafe.PdfRefused) as err:
        pdfsafe.clean(plain_pdf(), pdfsafe.Limits(time_s=1e-3))
    assert err.value.code == "time_limit"


@pytest.mark.parametrize("progressive", [False, True])
def test_the_rewrite_removes_identity_from_figures_and_threads(progressive: bool) -> None:
    """The reviewers' copy of a PDF whose figure is a photo with its author in the JPEG's
    EXIF, XMP and comment (and bytes after its end), and with an article thread whose
    information dictionary names the author: none of it is left, and the figure is the
    same picture. Before, the stream's bytes and the thread were copied as they were."""
    from PIL import Image

    from tests.pdf_samples import PI_EMAIL, PI_INST, hidden_identity_pdf

    original = hidden_identity_pdf(progressive=progressive)
    assert PI_NAME.encode() in original
    c = pdfsafe.clean(original)
    for who in (PI_NAME, PI_INST, PI_EMAIL):
        assert who.encode() not in c.data, who
    assert {"image_metadata", "threads"} <= set(c.removed)
    pdf = pikepdf.open(io.BytesIO(c.data))
    assert "/Threads" not in pdf.Root and "/B" not in pdf.pages[0].obj
    image = pdf.pages[0].Resources.XObject.Im1
    kept = Image.open(io.BytesIO(image.read_raw_bytes()))
    sent = pikepdf.open(io.BytesIO(original))
    photo = Image.open(io.BytesIO(sent.pages[0].Resources.XObject.Im1.read_raw_bytes()))
    assert kept.size == photo.size and list(kept.getdata()) == list(photo.getdata())
    assert not kept.getexif() and "comment" not in kept.info
    assert kept.info["icc_profile"] == photo.info["icc_profile"]  # the colours kept


def _decoded(data: bytes) -> bytes:
    """Every byte of a PDF as a reader sees it: object streams undone and every stream
    decoded from its general compression (image codecs are left as they are stored; an
    image under Flate and a codec is added inflated)."""
    out = io.BytesIO()
    pdf = pikepdf.open(io.BytesIO(data))
    pdf.save(
        out,
        object_stream_mode=pikepdf.ObjectStreamMode.disable,
        stream_decode_level=pikepdf.StreamDecodeLevel.generalized,
        compress_streams=False,
    )
    layered = [
        zlib.decompress(obj.read_raw_bytes())
        for obj in pdf.objects
        if isinstance(obj, pikepdf.Stream)
        and isinstance(obj.get("/Filter"), pikepdf.Array)
        and obj.Filter[0] == "/FlateDecode"
    ]
    return b"".join([out.getvalue(), *layered])


def _rendered(data: bytes) -> list[bytes]:
    import pypdfium2

    doc = pypdfium2.PdfDocument(data)
    try:
        return [bytes(page.render(scale=1).to_pil().tobytes()) for page in doc]
    finally:
        doc.close()


@pytest.mark.parametrize("place", HIDING_PLACES)
def test_the_rewrite_removes_identity_from_outline_structure_layers_labels_and_images(
    place: str,
) -> None:
    """The PI's name in a bookmark, a figure's alternate or actual text (structure tree,
    marked content), a layer's name, a page label, a JPEG under Flate, a JPEG 2000
    figure's metadata boxes or an inline image's JPEG: none of it reaches the reviewers'
    copy (before, each was copied as it was), and every page looks exactly the same."""
    original = structure_identity_pdf(place)
    assert PI_NAME.encode() in _decoded(original)
    c = pdfsafe.clean(original)
    copy = _decoded(c.data)
    for who in (PI_NAME, PI_INST, PI_EMAIL):
        assert who.encode() not in copy, who
    assert _rendered(c.data) == _rendered(original)


@pytest.mark.parametrize("place", ["outline", "alt_text", "marked_content", "layer", "page_label"])
def test_the_scan_reads_outline_structure_layers_and_labels(place: str) -> None:
    """The applicant is told: the scan reads each of these texts of the original."""
    ins = pdfsafe.inspect(structure_identity_pdf(place))
    assert any(PI_NAME in text for _, text in ins.strings), ins.strings


def test_the_scan_reads_form_field_children_and_rich_text_comments() -> None:
    ins = pdfsafe.inspect(form_tree_pdf())
    texts = " ".join(text for _, text in ins.strings)
    for who in (PI_NAME, PI_INST, PI_EMAIL):
        assert who in texts, who
    c = pdfsafe.clean(form_tree_pdf())  # the copy had them removed already
    for who in (PI_NAME, PI_INST, PI_EMAIL):
        assert who.encode() not in _decoded(c.data), who


def test_a_pdf_from_an_old_dos_tool_ending_in_ctrl_z_is_accepted() -> None:
    """Old DOS and Windows tools end a file with Ctrl-Z (0x1A, the DOS end-of-file mark)
    after the last ``%%EOF``; every reader opens such a file. It is a PDF, not a
    polyglot (trialapp14); anything more after it still is refused."""
    old = plain_pdf().rstrip() + b"\r\n\x1a"
    cleaned = pdfsafe.clean(old)
    assert cleaned.pages == 1 and cleaned.data.startswith(b"%PDF-")
    with pytest.raises(pdfsafe.PdfRefused) as refused:
        pdfsafe.check_envelope(old + b"<html>")
    assert refused.value.code == "polyglot"


def test_the_rewrite_removes_the_signers_certificates_and_attestation() -> None:
    """A PI who signs the PDF with a long-term-validation e-signature tool leaves the
    signer's certificate (subject: name, institute, e-mail) in the document security
    store and the signer's name in the legal attestation: the reviewers' copy keeps
    neither. Before, ``/DSS`` and ``/Legal`` were copied as they were."""
    from tests.pdf_samples import signed_pdf

    original = signed_pdf()
    assert PI_NAME.encode() in original
    c = pdfsafe.clean(original)
    for who in (PI_NAME, PI_INST, PI_EMAIL):
        assert who.encode() not in c.data, f"{who} left in the reviewers' copy"
    pdf = pikepdf.open(io.BytesIO(c.data))
    assert "/DSS" not in pdf.Root and "/Legal" not in pdf.Root
    assert "signatures" in c.removed


def test_the_rewrite_removes_pages_hidden_outside_the_page_tree() -> None:
    """A page named in the name dictionary (a form's template, a named page) is no page a
    viewer shows, but its text is in the file for any extractor: the reviewers' copy
    keeps neither it nor the web-capture URL tree naming the PI's home page. Before,
    ``/Templates``, ``/Pages`` and ``/URLS`` were copied with the rest of ``/Names``."""
    from tests.pdf_samples import SURNAME, named_pages_pdf

    original = named_pages_pdf()
    assert PI_NAME.encode() in _decoded(original)
    c = pdfsafe.clean(original)
    for who in (PI_NAME, PI_INST, SURNAME):
        assert who.encode() not in _decoded(c.data), f"{who} left in the reviewers' copy"
    pdf = pikepdf.open(io.BytesIO(c.data))
    assert len(pdf.pages) == 1
    assert not {"/Templates", "/Pages", "/URLS"} & set(pdf.Root.Names.keys())
    assert "hidden_pages" in c.removed


def test_the_rewrite_keeps_only_the_catalogue_and_page_keys_a_viewer_needs() -> None:
    """A writing tool's own keys in the document catalogue, the page tree and a page (and
    the separation information, output intents and requirements, which no viewer needs
    to show a page) are text any extractor reads: the reviewers' copy keeps only the keys
    that draw or navigate the document. Before, only a list of known keys was removed and
    any other key was copied as it was."""
    from tests.pdf_samples import private_keys_pdf

    original = private_keys_pdf()
    assert PI_NAME.encode() in _decoded(original)
    c = pdfsafe.clean(original)
    for who in (PI_NAME, PI_INST, PI_EMAIL):
        assert who.encode() not in _decoded(c.data), f"{who} left in the reviewers' copy"
    pdf = pikepdf.open(io.BytesIO(c.data))
    assert len(pdf.pages) == 1
    assert "private_data" in c.removed
    assert _rendered(c.data) == _rendered(original)


def test_the_rewrite_renames_embedded_fonts() -> None:
    """A font made of the PI's handwriting carries her name in ``/BaseFont``, the font
    descriptor's ``/FontName`` and the embedded program's name table (Latin-1 and
    UTF-16): the reviewers' copy names the font "Font 1", draws the same page, and the
    glyphs are kept. Before, fonts were copied as they were."""
    from tests.pdf_samples import SURNAME, named_font_pdf

    original = named_font_pdf()
    assert SURNAME.encode() in _decoded(original)
    c = pdfsafe.clean(original)
    decoded = _decoded(c.data)
    for who in (PI_NAME, SURNAME, SURNAME.replace("-", "")):
        for coded in (who.encode(), who.encode("utf-16-be")):
            assert coded not in decoded, f"{who} left in the reviewers' copy"
    assert "font_names" in c.removed
    assert _rendered(c.data) == _rendered(original)
