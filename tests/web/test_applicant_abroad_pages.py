"""An applicant abroad on a phone (branch trialapp22): a Chinese name, the Chinese pages,
360 pixels wide, Dhaka's clock. The pages of her journey that no other axe run reaches
(tests.a11y, test_phone_pages, test_browser_abroad): the e-mail's confirmation, the
forgotten password, the reset, the account's tokens and expertise, the team invitation,
the page that keeps a form after the session ran out, and the same after signing in
again. Each passes axe (no critical or serious violation) and fits the screen."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path
from typing import Any

from sqlalchemy import select, update

from opencall.people.models import UserSession
from opencall.proposals.models import TeamMember
from tests.a11y.test_axe import Checked
from tests.proposals.test_browser_abroad import _db
from tests.proposals.test_browser_phone import PHONE, _wider_than_the_screen
from tests.web import test_browser as tb

pytestmark = tb.pytestmark
browser = tb.browser  # the module's Chromium (fixture)

NAME = "欧阳 娜娜"
PASSWORD = "a long password 42"


def test_the_applicants_other_pages_pass_axe_on_a_phone(browser: Any, tmp_path: Path) -> None:
    check = Checked()
    wide: dict[str, list[str]] = {}

    def look(page: Any, state: str) -> None:
        wide[state] = _wider_than_the_screen(page)
        check(page, state)

    with tb.Server(tmp_path) as srv:
        ctx = check.browser(browser).new_context(
            viewport=PHONE, locale="zh-CN", is_mobile=True, timezone_id="Asia/Dhaka"
        )
        page = ctx.new_page()
        page.goto(f"{srv.base}/lang/zh?next=/register")
        page.goto(srv.base + "/password/forgot")
        look(page, "forgot")
        page.fill("main input[name=email]", "")
        page.evaluate("document.querySelector('main form').noValidate = true")
        page.click("main form button")  # empty: the server's error under the field
        assert page.locator("main [aria-invalid=true]").count() == 1
        look(page, "forgot: error")

        def confirm(p: Any, name: str) -> None:
            if name == "verified":
                look(p, "verified")

        page.goto(f"{srv.base}/register")
        tb.register_and_verify(srv, page, confirm, "nana@example.cn", NAME, "zh")
        page.goto(srv.base + srv.mail_link("nana@example.cn", "/verify/"))
        look(page, "verify (again)")
        for path in ("/account", "/account/tokens", "/account/expertise"):
            page.goto(srv.base + path)
            look(page, path)
        page.goto(f"{srv.base}/calls/{srv.slug}/apply")
        page.fill("#f-title", "脉冲星计时")
        page.click("main form button")
        page.wait_for_url(re.compile(r"/proposals/\d+"))
        editor = page.url.split("?")[0]
        # a co-investigator invited: her invitation page, signed in as her
        page.fill('form[action$="/team"] input[name=email]', "amadou@example.ml")
        page.fill('form[action$="/team"] input[name=name]', "Amadou Traoré")
        page.fill('form[action$="/team"] input[name=institution]', "USTTB")
        page.select_option('form[action$="/team"] select[name=country_iso3]', "MLI")
        page.click('form[action$="/team"] button')
        mid = _db(srv, lambda s: s.scalar(select(TeamMember.id).order_by(TeamMember.id.desc())))
        # the session ends while the editor is open: the form kept, then after sign-in
        page.goto(editor)
        page.fill("#f-science_case", "毫秒脉冲星是精确的时钟。")
        past = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=1)
        _db(srv, lambda s: s.execute(update(UserSession).values(expires_at=past)))
        page.click("#text-form button")
        page.wait_for_selector('form[action="/login"]')
        look(page, "kept: sign in")
        page.fill("#f-email", "nana@example.cn")
        page.fill("#f-password", PASSWORD)
        page.click('form[action="/login"] button')
        page.wait_for_load_state("load")
        assert page.locator("main form dl.carry").count() == 1  # the kept text, shown
        look(page, "kept: send again")
        ctx.close()
        # the invitee registers (in French, from Bamako) and opens the invitation
        ctx = check.browser(browser).new_context(
            viewport=PHONE, locale="fr-FR", is_mobile=True, timezone_id="Africa/Bamako"
        )
        page = ctx.new_page()
        page.goto(f"{srv.base}/lang/fr?next=/register")
        tb.register_and_verify(
            srv, page, lambda *_: None, "amadou@example.ml", "Amadou Traoré", "fr"
        )
        page.goto(f"{srv.base}/invitations/{mid}")
        assert page.locator('main form button[name="action"][value="accept"]').count() == 1
        look(page, "invitation")
        ctx.close()
    assert check.states, "nothing checked"
    assert not any(wide.values()), {k: v for k, v in wide.items() if v}
    assert not check.problems, "\n".join(check.problems)


DROPPED_ZH = "连接中断"  # the start of the page's own words, in Chinese


def test_an_upload_whose_connection_drops_keeps_the_file_and_says_to_send_it_again(
    browser: Any, tmp_path: Path
) -> None:
    """The link drops while the PDF goes up (the request fails: no answer at all). Before,
    the browser left the editor for its own error page, and the file chosen was gone with
    it; now the editor stays, with the file still chosen, says in her language that the
    file was not stored and to press the button again; pressing it stores it once."""
    from opencall.proposals.models import Attachment
    from opencall.web.i18n import Translator
    from tests.pdf_samples import plain_pdf

    pdf = tmp_path / "case.pdf"
    pdf.write_bytes(plain_pdf())
    with tb.Server(tmp_path) as srv:
        ctx = browser.new_context(
            viewport=PHONE, locale="zh-CN", is_mobile=True, timezone_id="Asia/Dhaka"
        )
        page = ctx.new_page()
        page.goto(f"{srv.base}/lang/zh?next=/register")
        tb.register_and_verify(srv, page, lambda *_: None, "nana@example.cn", NAME, "zh")
        page.goto(f"{srv.base}/calls/{srv.slug}/apply")
        page.fill("#f-title", "脉冲星计时")
        page.click("main form button")
        page.wait_for_url(re.compile(r"/proposals/\d+"))
        editor = page.url.split("?")[0]
        # a refusal (not a PDF) reads as the plain post's page: the editor, its error
        bad = tmp_path / "notes.pdf"
        bad.write_bytes(b"not a pdf at all")
        page.set_input_files("#f-pdf", str(bad))
        page.click('form[action$="/attachments"] button')
        page.locator("#err-pdf").wait_for()
        assert page.locator("#f-title").input_value() == "脉冲星计时"
        # (the refusal came through the upload in pieces, trialapp23); the whole file's
        # post, as a browser without Blob.slice sends it, from here on
        page.evaluate(
            "document.querySelector('form[data-upload-chunks]').removeAttribute('data-upload-chunks')"
        )
        page.set_input_files("#f-pdf", str(pdf))
        page.route("**/attachments", lambda route: route.abort("connectionreset"))
        page.click('form[action$="/attachments"] button')
        said = Translator("zh").gettext(
            "The connection dropped before the file was stored. It is still chosen: press "
            "the button again to send it."
        )
        assert said.startswith(DROPPED_ZH), said  # translated
        page.get_by_text(said).wait_for(timeout=10_000)
        assert page.url.split("?")[0] == editor
        assert page.eval_on_selector("#f-pdf", "e => e.files.length") == 1
        assert _db(srv, lambda s: s.scalar(select(Attachment.id))) is None
        check = Checked()
        check(page, "upload dropped")
        assert not check.problems, "\n".join(check.problems)
        # leaving now would lose the chosen file: the page asks first (she stays)
        asked: list[str] = []

        def stay(dialog: Any) -> None:
            asked.append(dialog.type)
            dialog.dismiss()

        page.on("dialog", stay)
        page.locator("header .langs a[hreflang=fr]").click(no_wait_after=True)
        assert asked == ["beforeunload"], asked
        assert page.eval_on_selector("#f-pdf", "e => e.files.length") == 1
        page.unroute("**/attachments")
        page.click('form[action$="/attachments"] button')
        page.wait_for_url(re.compile(re.escape(editor)))
        page.locator("#attachments li").first.wait_for()
        names = _db(srv, lambda s: list(s.scalars(select(Attachment.id))))
        assert len(names) == 1, names
        ctx.close()
