"""The editor's PDF over a slow link that drops, in Chromium (trialapp23): a French
applicant on a phone, the network throttled through the DevTools protocol (Playwright's
CDP session: 400 ms latency, 50 kB/s down, 20 kB/s up), the upload's third chunk cut
and the browser then offline. The page says in French how much arrived, keeps it, and
when the browser is back online goes on from the server's offset (no chunk sent again
from zero); the file stored is the one chosen; the text typed before is not lost."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select

from opencall.proposals.models import Attachment, PartialUpload
from opencall.web.i18n import Translator
from tests.crowd.live import pdf_of_size
from tests.proposals.test_browser_abroad import _db
from tests.proposals.test_browser_phone import PHONE
from tests.web import test_browser as tb

pytestmark = tb.pytestmark
browser = tb.browser  # the module's Chromium (fixture)

CHUNK = 16 * 1024
OFFSET = re.compile(rb'name="offset"\r\n\r\n(\d+)\r\n')
SLOW_2G = {
    "offline": False,
    "latency": 400,
    "downloadThroughput": 50_000,
    "uploadThroughput": 20_000,
}


def test_an_upload_cut_mid_chunk_resumes_from_what_arrived(browser: Any, tmp_path: Path) -> None:
    pdf = pdf_of_size(90_000, seed=23)
    assert len(pdf) > 4 * CHUNK
    path = tmp_path / "justification.pdf"
    path.write_bytes(pdf)
    with tb.Server(tmp_path, upload_chunk_bytes=CHUNK) as srv:
        ctx = browser.new_context(viewport=PHONE, locale="fr-FR", is_mobile=True)
        page = ctx.new_page()
        page.goto(f"{srv.base}/lang/fr?next=/register")
        tb.register_and_verify(srv, page, lambda *_: None, "awa@example.ml", "Awa Traoré", "fr")
        page.goto(f"{srv.base}/calls/{srv.slug}/apply")
        page.fill("#f-title", "Chronométrie des pulsars")
        page.click("main form button")
        page.wait_for_url(re.compile(r"/proposals/\d+"))
        editor = page.url.split("?")[0]
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        cdp.send("Network.emulateNetworkConditions", SLOW_2G)
        # typed, not yet saved, when the upload starts
        page.fill("#f-abstract", "Nous chronométrons des pulsars millisecondes.")
        offsets: list[int] = []

        def chunks(route: Any) -> None:
            req = route.request
            m = OFFSET.search(req.post_data_buffer or b"") if req.method == "POST" else None
            if m is None:
                route.continue_()
                return
            offsets.append(int(m.group(1)))
            if len(offsets) == 3:  # the third chunk: the link drops, and stays down
                ctx.set_offline(True)
                route.abort("connectionreset")
                return
            route.continue_()

        page.route(re.compile(r"/proposals/\d+/uploads/[^/]+$"), chunks)
        page.set_input_files("#f-pdf", str(path))
        page.click('form[action$="/attachments"] button')
        said = Translator("fr").gettext(
            "The connection dropped after %(done)s of %(size)s MB. What arrived is kept: "
            "sending goes on by itself when the connection is back. Keep this page open."
        )
        assert said.startswith("La connexion"), said  # translated
        head = said.split("%(done)s")[0]
        page.locator("#upload-said", has_text=head).wait_for(timeout=60_000)
        # how much arrived, in French numbers: 32 768 of the file's bytes
        assert "0,03" in page.inner_text("#upload-said"), page.inner_text("#upload-said")
        kept = _db(srv, lambda s: s.scalars(select(PartialUpload.received)).one())
        assert kept == 2 * CHUNK  # the two chunks acknowledged; the cut one counts for nothing
        assert _db(srv, lambda s: s.scalar(select(Attachment.id))) is None
        ctx.set_offline(False)  # back: the page goes on by itself
        page.wait_for_url(re.compile(re.escape(editor) + r"\?m=uploaded"), timeout=120_000)
        att = _db(srv, lambda s: s.scalars(select(Attachment)).one())
        assert att.sha256 == hashlib.sha256(pdf).hexdigest()
        assert _db(srv, lambda s: s.scalar(select(PartialUpload.id))) is None
        # every chunk went once, the cut one twice: nothing sent again from zero
        expected = list(range(0, len(pdf), CHUNK))
        assert offsets == expected[:3] + expected[2:], offsets
        # the abstract typed before the upload is still there (saved or kept by the browser)
        typed = "Nous chronométrons des pulsars millisecondes."
        assert page.locator("#f-abstract").input_value() == typed or typed in page.content()
        ctx.close()
