"""A Kenyan applicant in French on a throttled link (Chrome DevTools network
emulation), in a real browser: she registers from the call and comes back to it after
verifying and signing in; a save while she keeps typing loses nothing and says when it
saved; the checklist follows each save; a failed save keeps her text in the browser and
a reload puts it back; three bad targets are reported at once."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from playwright.sync_api import expect

from opencall.web.i18n import Translator
from tests.people.mailbox import mails
from tests.web import test_browser as tb

pytestmark = tb.pytestmark
browser = tb.browser  # the module's Chromium (fixture)

SLOW = {"offline": False, "latency": 2000, "downloadThroughput": 40_000, "uploadThroughput": 20_000}
OFFLINE = {"offline": True, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1}
PASSWORD = "a long password 42"


def _verify_link(srv: tb.Server, email: str) -> str:
    for m in reversed(mails(srv.settings.mail_dir)):
        found = re.search(re.escape(srv.base) + r"(/verify/\S+)", m.body) if m.to == email else None
        if found:
            return found.group(1)
    raise AssertionError("no verification mail")


def _server_text(srv: tb.Server, field: str) -> str:
    from opencall.db import make_engine, make_sessionmaker
    from opencall.proposals.models import Proposal

    engine = make_engine(srv.settings.database_url)
    try:
        with make_sessionmaker(engine)() as s:
            p = s.query(Proposal).one()
            return str(getattr(p, field))
    finally:
        engine.dispose()


def test_applicant_on_a_slow_link(browser: Any, tmp_path: Path) -> None:
    t = Translator("fr")
    saved_word = t.gettext("Saved %(time)s").split("%(time)s")[0].strip()
    with tb.Server(tmp_path) as srv:
        ctx = browser.new_context(locale="fr-FR")
        page = ctx.new_page()
        cdp = ctx.new_cdp_session(page)
        cdp.send("Network.enable")
        page.goto(srv.base + "/lang/fr")
        cdp.send("Network.emulateNetworkConditions", SLOW)

        # registration from the call page, and back to the call after signing in
        page.goto(f"{srv.base}/calls/{srv.slug}")
        page.click('a[href^="/register?next="]')
        page.fill("#f-name", "Wanjiru Kamau")
        page.fill("#f-email", "wanjiru@example.org")
        page.fill("#f-password", PASSWORD)
        page.fill("#f-password2", PASSWORD)
        page.fill("#f-institution", "Kenya Radio Astronomy Institute")
        page.select_option("#f-country_iso3", "KEN")
        page.select_option("#f-language", "fr")
        page.click('form[action="/register"] button')
        page.wait_for_url(re.compile(r"/login\?next=.*m=registered"))
        page.goto(srv.base + _verify_link(srv, "wanjiru@example.org"))
        page.click("main form button")
        page.wait_for_url(re.compile(r"/login\?next=.*m=verified"))
        page.fill("#f-email", "wanjiru@example.org")
        page.fill("#f-password", PASSWORD)
        page.click('form[action="/login"] button')
        page.wait_for_url(re.compile(rf"/calls/{srv.slug}/apply"))

        page.fill("#f-title", "Pulsar timing from Nairobi")
        page.click("main form button")
        page.wait_for_url(re.compile(r"/proposals/\d+"))
        checklist = page.locator("#checklist")
        assert t.gettext("An abstract is required.") in checklist.inner_text()

        # a save during typing: nothing typed during the save is lost
        version_before = page.input_value('#text-form input[name="version"]')
        page.fill("#f-abstract", "We will time millisecond pulsars.")
        page.click("#text-form button")
        page.locator("#f-abstract").press("End")
        page.locator("#f-abstract").press_sequentially(" From Nairobi.", delay=20)
        page.locator("#f-keywords").press_sequentially("pulsars", delay=20)
        status = page.locator("#save-status")
        status.filter(has_text=re.compile(re.escape(saved_word) + r" \d\d:\d\d")).wait_for()
        assert page.input_value("#f-abstract") == "We will time millisecond pulsars. From Nairobi."
        assert page.input_value("#f-keywords") == "pulsars"
        assert _server_text(srv, "abstract") == "We will time millisecond pulsars."
        # the checklist follows the save, without a reload
        assert t.gettext("An abstract is required.") not in checklist.inner_text()
        # every form carries the new version: the next save is not refused as stale
        versions = page.eval_on_selector_all(
            'input[name="version"]', "els => els.map(e => e.value)"
        )
        assert set(versions) == {str(int(version_before) + 1)}
        status.filter(has_text=re.compile(re.escape(saved_word))).wait_for()
        page.click("#text-form button")
        expect(page.locator('#text-form input[name="version"]')).to_have_value(
            str(int(version_before) + 2), timeout=20_000
        )
        assert _server_text(srv, "abstract") == "We will time millisecond pulsars. From Nairobi."
        assert _server_text(srv, "keywords") == "pulsars"

        # a failed save keeps the text in the browser; a reload puts it back
        cdp.send("Network.emulateNetworkConditions", OFFLINE)
        page.fill("#f-science_case", "Millisecond pulsars are precise clocks.")
        page.click("#text-form button")
        status.filter(
            has_text=t.gettext(
                "Not saved: the connection failed. Your text is kept in this browser; press Save "
                "again."
            )
        ).wait_for()
        cdp.send("Network.emulateNetworkConditions", SLOW)
        page.reload()
        page.locator("#draft-restored").wait_for()
        assert page.input_value("#f-science_case") == "Millisecond pulsars are precise clocks."
        assert _server_text(srv, "science_case") == ""
        page.click("#text-form button")
        expect(page.locator('#text-form input[name="version"]')).to_have_value(
            str(int(version_before) + 3), timeout=20_000
        )
        assert _server_text(srv, "science_case") == "Millisecond pulsars are precise clocks."
        page.reload()
        assert page.locator("#draft-restored").count() == 0  # confirmed: the draft is gone

        # three bad targets: all three reported at once, each linked to its cell
        form = page.locator('form[action$="/requests"]')
        form.locator("select[name=receiver]").select_option("19-beam")
        form.locator("select[name=mode]").select_option("Tracking")
        rows = [
            ("Crab pulsar", "25:34:31.9", "+22:00:52", "2"),
            ("South", "10.0", "-76.6", "1"),
            ("North", "20.0", "+69.8", "1"),
        ]
        for i, (name, ra, dec, hours) in enumerate(rows):
            form.locator(f"input[name=targets-{i}-name]").fill(name)
            form.locator(f"input[name=targets-{i}-ra_deg]").fill(ra)
            form.locator(f"input[name=targets-{i}-dec_deg]").fill(dec)
            form.locator(f"input[name=targets-{i}-hours]").fill(hours)
        form.locator("button").click()
        summary = page.locator("#error-summary")
        summary.wait_for()
        links = summary.locator("a")
        expect(links).to_have_count(3)
        hrefs = [links.nth(i).get_attribute("href") or "" for i in range(3)]
        assert [h.split("-", 2)[-1] for h in hrefs] == [
            "targets-0-ra_deg",
            "targets-1-dec_deg",
            "targets-2-dec_deg",
        ]
        for h in hrefs:
            # the cell exists (waited for: on the slow link the summary at the top of the
            # answer is parsed before the table further down has arrived)
            expect(page.locator(h)).to_have_count(1)
        links.nth(1).click()
        expect(page).to_have_url(re.compile(re.escape(hrefs[1]) + "$"))
        ctx.close()
