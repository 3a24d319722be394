"""Page views with a hostile PDF attached: before (extraction inside the request) and
after (cached findings of the anonymity-scan job), in the same run.

The PDF reproduces the probe of issue 13: a few kB on disk, one page whose content
stream inflates to ``--content-mb`` MB of text-showing operators. "Before" is what
every editor and cockpit view did on main (``anonymity.scan_pdf`` over the stored
file, i.e. pypdf text extraction and the scan); "after" is the real GET of the
editor and of the cockpit through the app (SQLite), which reads cached findings.
Also reported: the upload's rewrite (child process, bounded) and the scan job.

    nice .venv/bin/python bench/bench_pdf.py --content-mb 2 --views 5
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import statistics
import tempfile
import time
import zlib
from pathlib import Path

import pikepdf


def probe_pdf(content_mb: float) -> bytes:
    pdf = pikepdf.new()
    pdf.add_blank_page()
    font = pdf.make_indirect(
        pikepdf.Dictionary(
            Type=pikepdf.Name.Font, Subtype=pikepdf.Name.Type1, BaseFont=pikepdf.Name.Helvetica
        )
    )
    pdf.pages[0].obj.Resources = pikepdf.Dictionary(Font=pikepdf.Dictionary(F1=font))
    op = b"BT /F1 9 Tf 72 700 Td (Pulsar timing) Tj ET\n"
    ops = op * int(content_mb * 1024 * 1024 / len(op))
    stream = pdf.make_stream(zlib.compress(ops, 9))
    stream.Filter = pikepdf.Name.FlateDecode
    pdf.pages[0].obj.Contents = stream
    out = io.BytesIO()
    pdf.save(out)
    return out.getvalue()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--content-mb", type=float, default=2.0)
    ap.add_argument("--views", type=int, default=5)
    ap.add_argument("--out", default="bench/out/pdf.json")
    args = ap.parse_args()

    from tests import factories as F
    from tests.web.conftest import csrf, full_proposal, make_open

    from opencall import migrate
    from opencall.app import create_app
    from opencall.cycle import services as cycle_services
    from opencall.db import make_engine, make_sessionmaker
    from opencall.people import services as people_services
    from opencall.people.services import load_countries
    from opencall.proposals import services as prop_services
    from opencall.proposals.anonymity import TeamIdentity, scan_pdf
    from opencall.settings import Settings

    data = probe_pdf(args.content_mb)
    team = [TeamIdentity("Ngozi Wamalwa", "Lake Turkana Radio Observatory", "n@example.org")]

    # before: what main did in every editor and cockpit view
    t0 = time.perf_counter()
    scan_pdf(data, team)
    before = time.perf_counter() - t0

    tmp = Path(tempfile.mkdtemp(prefix="oc-bench-pdf-"))
    url = f"sqlite:///{tmp / 'db.sqlite3'}"
    engine = make_engine(url)
    migrate.upgrade(engine)
    factory = make_sessionmaker(engine)
    with factory() as s:
        load_countries(s)
        call = F.fast_call(s, requires_pdf=False)
        make_open(call)
        pi = F.user(s, name="Ngozi Wamalwa", email="pi@bench.example")
        office = F.user(s, name="Office", email="office@bench.example")
        people_services.grant_role(s, office.id, "call_manager", provider_id=call.provider_id)
        p = full_proposal(s, call, pi)
        s.commit()
        pid, slug = p.id, call.slug
    settings = Settings(
        database_url=url, secret_key="bench", upload_dir=tmp / "uploads", mail_dir=tmp / "mail"
    )
    app = create_app(settings)
    from fastapi.testclient import TestClient

    def login(email: str) -> TestClient:
        c = TestClient(app, follow_redirects=False)
        c.post(
            "/login",
            data={"csrf_token": csrf(c), "email": email, "password": "correct horse battery"},
        )
        return c

    c = login("pi@bench.example")
    tok = csrf(c, f"/proposals/{pid}")
    settings_inline = settings.inline_jobs
    t0 = time.perf_counter()
    r = c.post(
        f"/proposals/{pid}/attachments",
        data={"csrf_token": tok},
        files={"pdf": ("probe.pdf", data, "application/pdf")},
    )
    upload_and_scan = time.perf_counter() - t0  # the rewrite + (inline) the scan job
    assert r.status_code == 303, r.text[:300]
    editor = []
    for _ in range(args.views):
        t0 = time.perf_counter()
        assert c.get(f"/proposals/{pid}").status_code == 200
        editor.append(time.perf_counter() - t0)
    with factory() as s:
        from opencall.proposals.models import Proposal

        prop = s.get(Proposal, pid)
        prop_services.submit(s, prop)
        prop_services.close_call(
            s, prop.call, reason="bench", now=prop.call.closes_at + dt.timedelta(1)
        )
        cycle_services.transition_call(s, prop.call, "review")
        s.commit()
    o = login("office@bench.example")
    cockpit = []
    for _ in range(args.views):
        t0 = time.perf_counter()
        assert o.get(f"/manage/calls/{slug}").status_code == 200
        cockpit.append(time.perf_counter() - t0)
    res = {
        "pdf_bytes": len(data),
        "content_mb": args.content_mb,
        "before_extract_per_view_s": round(before, 3),
        "after_editor_view_median_s": round(statistics.median(editor), 4),
        "after_cockpit_view_median_s": round(statistics.median(cockpit), 4),
        "upload_with_inline_scan_s": round(upload_and_scan, 3),
        "inline_jobs": settings_inline,
        "ratio_editor": round(before / statistics.median(editor), 1),
        "ratio_cockpit": round(before / statistics.median(cockpit), 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(res, indent=2))
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()
