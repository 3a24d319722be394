"""Issue 13 (items 1-2): uploaded PDFs are rewritten for reviewers, hostile files are
refused, and the anonymity scan runs once per file as a job whose cached findings
the editor and the cockpit read (a page view never extracts or scans).

Every PDF here is built in the test with pikepdf: identity in the Info dictionary,
the XMP packet, an embedded file, a JavaScript OpenAction, an annotation and a form
field; a PDF+ZIP polyglot; a decompression bomb; a file whose structure is broken.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pikepdf
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from opencall import jobs
from opencall.app import create_app
from opencall.cycle import services as cycle
from opencall.people import services as people_services
from opencall.people.models import User
from opencall.proposals import services as prop_services
from opencall.proposals.models import Attachment, Proposal
from opencall.reviews import services as rv
from tests import factories as F
from tests.pdf_samples import (
    PI_EMAIL,
    PI_INST,
    PI_NAME,
    SURNAME,
    heavy_page_pdf,
    identity_pdf,
    plain_pdf,
)
from tests.web.conftest import Web, csrf, full_proposal, make_open, version_of, web_settings


def zip_bytes() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("payload.html", "<script>alert(1)</script>")
    return out.getvalue()


def polyglots() -> dict[str, bytes]:
    base = plain_pdf()
    body = base.rstrip()
    assert body.endswith(b"%%EOF")
    z = zip_bytes()
    # a ZIP whose end record's comment swallows the PDF's tail: it ends with %%EOF
    tail = b"\n%%EOF\n"
    eocd = z[-22:]
    covered = eocd[:-2] + len(tail).to_bytes(2, "little")
    return {
        "zip appended": base + z,
        "data before the header": b"PK\x03\x04" + base,
        "zip before the end marker": body[:-5] + z[:-22] + covered + tail,
    }


def broken_pdf() -> bytes:
    """A real PDF whose cross-reference table points to the wrong places."""
    data = plain_pdf()
    m = re.search(rb"startxref\s+(\d+)", data)
    assert m
    return data[: m.start(1)] + str(int(m.group(1)) + 7).encode() + data[m.end(1) :]


# --------------------------------------------------------------------------- setup


@pytest.fixture
def web(engine: Engine, factory: sessionmaker[Session], tmp_path: Path) -> Iterator[Web]:
    settings = web_settings(
        engine,
        tmp_path,
        max_upload_bytes=2_000_000,
        pdf_max_stream_mb=2,
        pdf_max_page_content_kb=64,
    )
    app = create_app(settings)
    yield Web(app, settings, factory, tmp_path)
    app.state.engine.dispose()


def _world(s: Session) -> dict[str, Any]:
    call = F.fast_call(s, requires_pdf=False)
    make_open(call)
    pi = F.user(s, name=PI_NAME, institution=PI_INST, country="KEN", email=PI_EMAIL)
    p = full_proposal(s, call, pi)
    reviewer = F.user(s, name="Rev Iewer", email="reviewer@panel.example")
    tech = F.user(s, name="Tech Staff", email="tech@staff.example")
    chair = F.user(s, name="Chair Person", email="chair@staff.example")
    office = F.user(s, name="Office Person", email="office@staff.example")
    people_services.grant_role(s, reviewer.id, "reviewer", call_id=call.id)
    people_services.grant_role(s, tech.id, "technical_reviewer", call_id=call.id)
    people_services.grant_role(s, chair.id, "chair", call_id=call.id)
    people_services.grant_role(s, office.id, "call_manager", provider_id=call.provider_id)
    return {"call": call, "proposal": p, "reviewer": reviewer}


def _world_ids(s: Session) -> dict[str, Any]:
    w = _world(s)
    s.flush()
    return {"slug": w["call"].slug, "proposal": w["proposal"].id, "reviewer": w["reviewer"].id}


@pytest.fixture
def world(factory: sessionmaker[Session], small_worlds: Any) -> dict[str, Any]:
    """:func:`_world` (built once per session and backend, see tests/conftest.py)."""
    return small_worlds.get("pdf-hygiene", factory, _world_ids)  # type: ignore[no-any-return]


def upload(c: TestClient, pid: int, data: bytes, name: str = "case.pdf") -> Any:
    tok = csrf(c, f"/proposals/{pid}")
    return c.post(
        f"/proposals/{pid}/attachments",
        data={"csrf_token": tok, "version": version_of(c, pid)},
        files={"pdf": (name, data, "application/pdf")},
    )


def to_review(web: Web, world: dict[str, Any]) -> int:
    """Submit, close, move to review and assign the reviewer; returns the assignment id."""
    with web.factory() as s:
        p = s.get(Proposal, world["proposal"])
        assert p is not None
        prop_services.submit(s, p)
        call = p.call
        prop_services.close_call(s, call, reason="test", now=call.closes_at + dt.timedelta(1))
        cycle.transition_call(s, call, "review")
        reviewer = s.get(User, world["reviewer"])
        assert reviewer is not None
        a = rv.add_assignment(s, call, p, reviewer)
        s.commit()
        aid = a.id
    jobs.run_pending(web.factory, web.app.state.jobs)
    return aid


def identity_strings() -> list[bytes]:
    out = []
    for s in (PI_NAME, SURNAME, "Wamalwa", "wamalwa", PI_INST, PI_EMAIL, "Turkana"):
        out += [s.encode(), s.encode("utf-16-be")]
    return out


def assert_clean(data: bytes) -> None:
    """No identity in the bytes, and nothing a PDF can hide it in or run."""
    for s in identity_strings():
        assert s not in data, s
    pdf = pikepdf.open(io.BytesIO(data))
    assert "/Info" not in pdf.trailer
    root = pdf.Root
    for key in ("/Metadata", "/OpenAction", "/AA", "/AcroForm"):
        assert key not in root, key
    assert "/EmbeddedFiles" not in root.get("/Names", {})
    assert "/JavaScript" not in root.get("/Names", {})
    for page in pdf.pages:
        assert "/Annots" not in page.obj
    for obj in pdf.objects:
        if isinstance(obj, pikepdf.Dictionary | pikepdf.Stream):
            assert obj.get("/S") != pikepdf.Name.JavaScript
            assert "/JS" not in obj and "/EmbeddedFile" != obj.get("/Type")
            if isinstance(obj, pikepdf.Stream):
                body = obj.read_bytes()
                for s in identity_strings():
                    assert s not in body, s


# --------------------------------------------------------------------------- tests


def test_reviewers_never_receive_the_identity_and_the_office_keeps_the_original(
    web: Web, world: dict[str, Any]
) -> None:
    pid = world["proposal"]
    pi = web.login(PI_EMAIL)
    r = upload(pi, pid, identity_pdf(), f"{SURNAME}_proposal.pdf")
    assert r.status_code == 303, r.text[:500]
    aid = to_review(web, world)

    # the reviewer's download: the rewritten copy, under a neutral name
    rev = web.login("reviewer@panel.example")
    got = rev.get(f"/review/assignments/{aid}/pdf/0")
    assert got.status_code == 200 and got.content.startswith(b"%PDF-")
    assert SURNAME not in got.headers["content-disposition"]
    # private: never sniffed as another type, never kept in a shared cache
    assert got.headers["x-content-type-options"] == "nosniff"
    assert got.headers["cache-control"] == "private, no-store"
    assert_clean(got.content)
    assert len(pikepdf.open(io.BytesIO(got.content)).pages) == 1

    # the technical reviewer's copy: the same rewritten file
    tech = web.login("tech@staff.example")
    page = tech.get(f"/technical/proposals/{pid}")
    assert f"/technical/proposals/{pid}/pdf/0" in page.text
    got_tech = tech.get(f"/technical/proposals/{pid}/pdf/0")
    assert got_tech.status_code == 200 and got_tech.content == got.content
    assert (
        web.login("chair@staff.example").get(f"/technical/proposals/{pid}/pdf/0").status_code == 404
    )

    with web.factory() as s:
        att = s.query(Attachment).filter_by(proposal_id=pid).one()
        att_id = att.id
    url = f"/proposals/{pid}/attachments/{att_id}"
    # the team gets what reviewers get
    assert_clean(pi.get(url).content)
    # reviewers, technical reviewers and the chair get no original through the team's route
    for who in ("reviewer@panel.example", "tech@staff.example", "chair@staff.example"):
        assert web.login(who).get(url).status_code == 404
    # the user office keeps the original, byte for byte
    office = web.login("office@staff.example").get(url)
    assert office.status_code == 200
    original = pikepdf.open(io.BytesIO(office.content))
    assert str(original.docinfo["/Author"]) == PI_NAME
    assert "wamalwa_castellanos_cv.txt" in original.attachments


def test_the_applicant_is_warned_of_identity_in_metadata_and_embedded_files(
    web: Web, world: dict[str, Any]
) -> None:
    pid = world["proposal"]
    # the worker has run the scans queued when the world was built (a request runs
    # inline only the jobs it queued itself)
    jobs.run_pending(web.factory, web.app.state.jobs)
    pi = web.login(PI_EMAIL)
    assert upload(pi, pid, identity_pdf()).status_code == 303
    page = pi.get(f"/proposals/{pid}")
    assert page.status_code == 200
    warning = page.text[page.text.index('id="anonymity"') :]
    assert "the PDF&#39;s properties (metadata)" in warning or "the PDF's properties" in warning
    assert "a file embedded in the PDF" in warning
    assert "a comment in the PDF" in warning and "a form field in the PDF" in warning
    assert "a script in the PDF" in warning
    assert PI_NAME in warning and PI_INST in warning
    assert "removed from the copy reviewers receive" in warning
    assert 'id="anonymity-pending"' not in page.text
    # French, too
    page = web.login(PI_EMAIL, "fr").get(f"/proposals/{pid}")
    assert "un fichier joint au PDF" in page.text


@pytest.mark.parametrize(("place", "label"), [("outline", "a bookmark in the PDF")])
def test_the_applicant_is_warned_of_a_name_in_bookmarks(
    web: Web, world: dict[str, Any], place: str, label: str
) -> None:
    """A name in a bookmark's title (read by the scan now; before, it was not) is shown as
    removed from the reviewers' copy, in the applicant's language."""
    from tests.pdf_samples import structure_identity_pdf

    pid = world["proposal"]
    jobs.run_pending(web.factory, web.app.state.jobs)
    pi = web.login(PI_EMAIL)
    assert upload(pi, pid, structure_identity_pdf(place)).status_code == 303
    warning = pi.get(f"/proposals/{pid}").text.split('id="anonymity"', 1)[1]
    assert label in warning and PI_NAME in warning
    assert "removed from the copy reviewers receive" in warning
    assert "un signet du PDF" in web.login(PI_EMAIL, "fr").get(f"/proposals/{pid}").text


@pytest.mark.parametrize(
    "kind", ["zip appended", "data before the header", "zip before the end marker"]
)
def test_polyglots_are_refused_and_nothing_changes(
    web: Web, world: dict[str, Any], kind: str
) -> None:
    pid = world["proposal"]
    pi = web.login(PI_EMAIL)
    with web.factory() as s:
        before = F.table_counts(s)
    r = upload(pi, pid, polyglots()[kind])
    assert r.status_code == 400
    assert "combined with another kind of file" in r.text or "This file is not a PDF." in r.text, (
        kind
    )
    with web.factory() as s:
        assert F.table_counts(s) == before
    assert not list(web.settings.upload_dir.rglob("*.pdf"))


def test_unparseable_encrypted_and_bomb_files_are_refused_with_a_clear_message(
    web: Web, world: dict[str, Any]
) -> None:
    pid = world["proposal"]
    pi = web.login(PI_EMAIL)
    enc = io.BytesIO()
    pikepdf.open(io.BytesIO(plain_pdf())).save(
        enc, encryption=pikepdf.Encryption(owner="o", user="u")
    )
    cases = {
        "broken": (broken_pdf(), "This PDF cannot be read"),
        "truncated": (plain_pdf()[:-300] + b"\n%%EOF\n", "This PDF cannot be read"),
        "encrypted": (enc.getvalue(), "Password-protected PDFs cannot be accepted."),
        # 6 MB of drawing operators in a few kB; the limit here is 2 MB per stream
        "bomb": (heavy_page_pdf(6 * 1024 * 1024), "expands to more than 2 MB"),
    }
    with web.factory() as s:
        before = F.table_counts(s)
    for name, (data, message) in cases.items():
        if name == "bomb":
            assert len(data) < 60_000
        r = upload(pi, pid, data)
        assert r.status_code == 400, name
        assert message in r.text, (name, re.findall(r'class="error"[^>]*>([^<]*)', r.text))
    with web.factory() as s:
        assert F.table_counts(s) == before
    assert not list(web.settings.upload_dir.rglob("*.pdf"))


def _count_extraction(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """Count every call of the extractor and the scanners, wherever they are imported."""
    calls: dict[str, int] = {}
    names = (
        "inspect",
        "clean",
        "scan_pdf",
        "scan_text",
        "scan_pages",
        "scan_label",
        "extract_pdf_text",
        "_pdf_pages",
        "anonymity_findings",
    )
    for modname, mod in list(sys.modules.items()):
        if not modname.startswith("opencall.") or mod is None:
            continue
        for name in names:
            fn = getattr(mod, name, None)
            if not callable(fn) or name == "inspect" and not modname.endswith("pdfsafe"):
                continue

            def counted(*a: Any, _fn: Any = fn, _name: str = name, **kw: Any) -> Any:
                calls[_name] = calls.get(_name, 0) + 1
                return _fn(*a, **kw)

            monkeypatch.setattr(mod, name, counted)
    return calls


def test_page_views_never_extract_and_read_cached_findings(
    web: Web, world: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    pid = world["proposal"]
    pi = web.login(PI_EMAIL)
    # a page whose content is over the scan's limit (64 kB here) but under the upload's
    assert upload(pi, pid, heavy_page_pdf(500_000), "figure.pdf").status_code == 303
    calls = _count_extraction(monkeypatch)
    page = pi.get(f"/proposals/{pid}")
    assert page.status_code == 200
    assert calls == {}, calls
    assert "Page 1 of the PDF is too complex to check automatically" in page.text
    monkeypatch.undo()

    # the identity PDF replaces it; the upload's job scans it once
    assert upload(pi, pid, identity_pdf()).status_code == 303
    to_review(web, world)
    calls = _count_extraction(monkeypatch)
    office = web.login("office@staff.example")
    for _ in range(3):
        assert PI_NAME in pi.get(f"/proposals/{pid}").text
        cockpit = office.get(f"/manage/calls/{world['slug']}")
        assert cockpit.status_code == 200
        assert PI_NAME in cockpit.text[cockpit.text.index('id="anonymity"') :]
    chair = web.login("chair@staff.example").get(f"/manage/calls/{world['slug']}")
    assert "•••" in chair.text and PI_NAME not in chair.text
    assert calls == {}, calls


def test_files_stored_before_cleaning_are_never_served_raw_then_rewritten(
    web: Web, world: dict[str, Any]
) -> None:
    """A file stored before this change has no clean copy: reviewers get nothing (never
    the original) until ``opencall proposals clean-pdfs`` rewrites it."""
    pid = world["proposal"]
    assert upload(web.login(PI_EMAIL), pid, identity_pdf()).status_code == 303
    with web.factory() as s:
        att = s.query(Attachment).filter_by(proposal_id=pid).one()
        att.clean_storage_key = None
        att.clean_size = None
        s.commit()
    aid = to_review(web, world)
    rev = web.login("reviewer@panel.example")
    assert rev.get(f"/review/assignments/{aid}/pdf/0").status_code == 404
    from typer.testing import CliRunner

    from opencall.cli import app as cli_app

    env = {
        "OPENCALL_DATABASE_URL": web.settings.database_url,
        "OPENCALL_UPLOAD_DIR": str(web.settings.upload_dir),
    }
    out = CliRunner().invoke(cli_app, ["proposals", "clean-pdfs"], env=env)
    assert out.exit_code == 0, out.output
    assert "1 clean copies made" in out.output
    got = rev.get(f"/review/assignments/{aid}/pdf/0")
    assert got.status_code == 200
    assert_clean(got.content)


def test_copies_made_before_a_new_rule_are_made_again_on_request(
    web: Web, world: dict[str, Any]
) -> None:
    """A clean copy made before the rewrite learnt a rule (a JPEG figure's metadata, an
    article thread) keeps what that rule removes: ``clean-pdfs`` leaves it, ``clean-pdfs
    --again`` makes every copy again from its original (an unchanged copy is not counted;
    the original, which the revision names, never changes)."""
    from typer.testing import CliRunner

    from opencall.cli import app as cli_app
    from opencall.proposals.services.blobs import store_blob
    from tests.pdf_samples import hidden_identity_pdf

    pid = world["proposal"]
    sent = hidden_identity_pdf()
    assert upload(web.login(PI_EMAIL), pid, sent).status_code == 303
    with web.factory() as s:
        att = s.query(Attachment).filter_by(proposal_id=pid).one()
        original, copy = att.storage_key, att.clean_storage_key
        att.clean_storage_key = store_blob(web.settings.upload_dir, sent)  # an older copy
        s.commit()
    aid = to_review(web, world)
    rev = web.login("reviewer@panel.example")
    assert PI_NAME.encode() in rev.get(f"/review/assignments/{aid}/pdf/0").content
    env = {
        "OPENCALL_DATABASE_URL": web.settings.database_url,
        "OPENCALL_UPLOAD_DIR": str(web.settings.upload_dir),
    }
    out = CliRunner().invoke(cli_app, ["proposals", "clean-pdfs"], env=env)
    assert out.exit_code == 0 and "0 clean copies made" in out.output, out.output
    assert PI_NAME.encode() in rev.get(f"/review/assignments/{aid}/pdf/0").content
    for made in ("1", "0"):  # the second time every copy is as the rewrite makes it
        out = CliRunner().invoke(cli_app, ["proposals", "clean-pdfs", "--again"], env=env)
        assert out.exit_code == 0 and f"{made} clean copies made" in out.output, out.output
    got = rev.get(f"/review/assignments/{aid}/pdf/0")
    assert got.status_code == 200
    for who in identity_strings():  # the JPEG is stored as it is coded: its bytes are here
        assert who not in got.content, who
    with web.factory() as s:
        att = s.query(Attachment).filter_by(proposal_id=pid).one()
        assert (att.storage_key, att.clean_storage_key) == (original, copy)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)  # the web layer's answer
def test_a_hostile_file_name_is_kept_to_a_name_and_served_as_an_attachment(
    web: Web, world: dict[str, Any]
) -> None:
    """A file name with folders (either separator), a right-to-left override that turns
    "reportgnp.pdf" into "reportfdp.png" on screen, quotes that would end the header's
    value, or nothing left at all: stored as a bare name ending in .pdf, and served as an
    attachment (``filename*`` for anything but plain ASCII), a PDF never sniffed."""
    c = web.login(PI_EMAIL)
    pid = world["proposal"]
    names = {
        "../../etc/passwd": ("passwd.pdf", 'attachment; filename="passwd.pdf"'),
        "C:\\Users\\N\\prop.pdf": ("prop.pdf", 'attachment; filename="prop.pdf"'),
        "report\u202egnp.pdf": ("reportgnp.pdf", 'attachment; filename="reportgnp.pdf"'),
        '"; filename=evil.html': (  # the client sends the quote as %22 (HTML's form rule)
            "%22; filename=evil.html.pdf",
            "attachment; filename*=utf-8''%2522%3B%20filename%3Devil.html.pdf",
        ),
        "/": ("document.pdf", 'attachment; filename="document.pdf"'),
    }
    for i, (sent, (stored, disposition)) in enumerate(names.items()):
        assert upload(c, pid, plain_pdf(f"Version {i}"), name=sent).status_code == 303
        with web.factory() as s:
            att = s.query(Attachment).filter_by(proposal_id=pid).one()
            assert att.filename == stored, sent
        got = c.get(f"/proposals/{pid}/attachments/{att.id}")
        assert got.headers["content-disposition"] == disposition, sent
        assert got.headers["content-type"] == "application/pdf"
        assert got.headers["x-content-type-options"] == "nosniff"


def test_a_retried_upload_of_the_same_file_is_one_file_and_says_uploaded(
    web: Web, world: dict[str, Any]
) -> None:
    """On a flaky link the answer to an upload is lost and the browser (or the person)
    sends the same form again, with the version the page had: the file is stored once,
    and the retry is told it was uploaded, not that the proposal changed meanwhile."""
    pi = web.login(PI_EMAIL)
    pid = world["proposal"]
    data = plain_pdf()
    tok, version = csrf(pi, f"/proposals/{pid}"), version_of(pi, pid)

    def send() -> Any:
        return pi.post(
            f"/proposals/{pid}/attachments",
            data={"csrf_token": tok, "version": version},
            files={"pdf": ("case.pdf", data, "application/pdf")},
        )

    first = send()
    assert first.status_code == 303 and "m=uploaded" in first.headers["location"]
    with web.factory() as s:
        before = F.table_counts(s)
    again = send()  # the same form, the same version: the first answer never arrived
    assert again.status_code == 303, re.findall(r'class="error"[^>]*>([^<]*)', again.text)
    assert "m=uploaded" in again.headers["location"]
    with web.factory() as s:
        assert F.table_counts(s) == before  # no second row, no audit event, no new version
        rows = s.query(Attachment).filter_by(proposal_id=pid).all()
        assert len(rows) == 1 and rows[0].filename == "case.pdf"


def test_a_rewrite_that_would_be_a_zip_archive_is_refused_and_nothing_changes(
    web: Web, world: dict[str, Any]
) -> None:
    """trialcrowd22: the envelope check read the upload only. A file with a ZIP archive
    in an image stream more than 64 KiB before its end passed it, and the rewrite (the
    copy reviewers and chairs download) wrote that stream last: the copy opened as an
    archive (``zipfile`` read the page out of it). The copy is checked as the upload is,
    and such a file is refused as a polyglot, nothing stored."""
    from opencall.proposals import pdfsafe
    from tests.pdf_samples import zip_in_a_stream_pdf

    data = zip_in_a_stream_pdf(zip_bytes())
    pdfsafe.check_envelope(data)  # the upload itself is no archive
    assert not zipfile.is_zipfile(io.BytesIO(data))
    with pytest.raises(pdfsafe.PdfRefused) as refused:
        pdfsafe.clean(data)
    assert refused.value.code == "polyglot"
    pid = world["proposal"]
    pi = web.login(PI_EMAIL)
    with web.factory() as s:
        before = F.table_counts(s)
    r = upload(pi, pid, data)
    assert r.status_code == 400 and "combined with another kind of file" in r.text
    with web.factory() as s:
        assert F.table_counts(s) == before
    assert not list(web.settings.upload_dir.rglob("*.pdf"))
