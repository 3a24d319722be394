"""proposals.pdfsafe without a database: the envelope checks, the rewrite and the
bounds of the extraction (pages, decoded size per page, time), each in its child."""

from __future__ import annotations

import io

import pikepdf
import pytest

from opencall.proposals import pdfsafe
from tests.pdf_samples import PI_NAME, heavy_page_pdf, identity_pdf, plain_pdf


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
