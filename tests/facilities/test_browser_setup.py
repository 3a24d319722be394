"""An operator sets up a facility of a kind no preset has in a real browser
(Debian's Chromium through Playwright): a cryo-electron-microscopy centre with
two microscopes offering 24-hour sessions over three months, one of them down
for a maintenance week, each with its request form. The resource pages speak of
sessions, never of seats."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from opencall import migrate
from opencall.db import make_engine, make_sessionmaker
from opencall.facilities import services as fs
from opencall.facilities.models import CapacityPool, Facility
from opencall.people import services as people_services
from opencall.people.services import load_countries
from tests import factories as F
from tests.web.test_browser import CHROMIUM, LiveServer

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore"),
    pytest.mark.skipif(
        not CHROMIUM.exists(), reason="Debian's Chromium (/usr/bin/chromium) is not installed"
    ),
]
EMAIL = "head@cryo.example.org"


class Server(LiveServer):
    """A fresh SQLite site with one provider and its administrator, served live."""

    def __init__(self, tmp: Path) -> None:
        self.url = f"sqlite:///{tmp / 'cryo.sqlite3'}"
        engine = make_engine(self.url)
        migrate.upgrade(engine)
        with make_sessionmaker(engine)() as s:
            load_countries(s)
            prov = fs.create_provider(s, name="Cryo-EM Centre", slug="cryo", country_iso3="ZAF")
            head = F.user(s, email=EMAIL, name="Centre Head")
            people_services.grant_role(s, head.id, "provider_admin", provider_id=prov.id)
            s.commit()
        engine.dispose()
        super().__init__(self.url, tmp)


def add_microscope(page: Any, name: str, amount: str) -> str:
    form = page.locator('form[action$="/resources"]')
    form.locator("#f-name").fill(name)
    form.locator("#f-unit").select_option("session")
    form.locator("#f-amount").fill(amount)
    form.locator("#f-period_start").fill("2027-07-01")
    form.locator("#f-period_end").fill("2027-09-28")
    form.locator("#f-slot_hours").fill("24")
    form.locator("button").click()
    page.wait_for_url(re.compile(r"/manage/resources/\d+"))
    return page.url.split("?")[0]


def test_operator_sets_up_a_cryo_em_centre(browser: Any, tmp_path: Path) -> None:
    with Server(tmp_path) as srv:
        page = browser.new_context(locale="en-GB").new_page()
        page.goto(srv.base + "/login")
        page.fill("#f-email", EMAIL)
        page.fill("#f-password", "correct horse battery")
        page.click('form[action="/login"] button')
        page.wait_for_url(re.compile(r"/dashboard"))

        page.goto(srv.base + "/manage/providers/cryo")
        new = page.locator('form[action$="/facilities"]')
        new.locator("#f-name").fill("Cryo-EM")
        new.locator("#f-slug").fill("cryo-em")
        new.locator("#f-kind").select_option("custom")
        new.locator("button").click()
        page.wait_for_url(re.compile(r"/manage/providers/cryo\?m=saved"))
        page.click("main h2 a")
        page.wait_for_url(re.compile(r"/manage/facilities/\d+"))
        facility_url = page.url

        # too many sessions for three months: refused beside the field, nothing saved
        page.locator('form[action$="/resources"] #f-name').fill("Krios G4")
        form = page.locator('form[action$="/resources"]')
        form.locator("#f-unit").select_option("session")
        form.locator("#f-amount").fill("100")
        form.locator("#f-period_start").fill("2027-07-01")
        form.locator("#f-period_end").fill("2027-09-28")
        form.locator("#f-slot_hours").fill("24")
        form.locator("button").click()
        expect(page.locator("#err-amount")).to_contain_text("at most 90 fit")

        page.goto(facility_url)
        krios = add_microscope(page, "Krios G4", "80")
        page.goto(facility_url)
        glacios = add_microscope(page, "Glacios", "80")

        # the maintenance week: 83 sessions still fit, so 80 stays possible
        page.goto(glacios)
        page.fill("#f-first_day", "2027-08-02")
        page.fill("#f-last_day", "2027-08-08")
        page.fill("#f-reason", "maintenance")
        page.locator('form[action$="/unavailable"] button').click()
        page.wait_for_url(re.compile(r"/manage/resources/\d+\?m=saved"))
        assert "maintenance" in page.locator("#calendar").inner_text()
        # an overlapping period is refused with a clear message
        page.fill("#f-first_day", "2027-08-05")
        page.fill("#f-last_day", "2027-08-10")
        page.fill("#f-reason", "again")
        page.locator('form[action$="/unavailable"] button').click()
        # the answer's calendar (the page sent from has one too, without the message)
        expect(page.locator("#calendar")).to_contain_text("overlap")

        for url in (krios, glacios):
            page.goto(url)
            page.fill("#f-key", "grids")
            page.select_option("#f-type", "number")
            page.fill("#f-flabel_en", "Grids")
            page.fill("#f-flabel_fr", "Grilles")
            page.fill("#f-min", "1")
            page.fill("#f-max", "12")
            page.check("#f-integer")
            page.check("#f-required")
            page.locator('form[action$="/fields"] button').click()
            page.wait_for_url(re.compile(r"/manage/resources/\d+\?m=saved"))
            text = page.locator("main").inner_text()
            assert "Grids" in text
            assert "session" in page.locator("#unit").inner_text()
            assert "80 sessions" in page.locator("#capacity").inner_text()
            assert "seat" not in page.content().lower()

        page.goto(glacios)
        assert "83 sessions" in page.locator("main").inner_text()  # slots that fit

    engine = make_engine(srv.url)
    with make_sessionmaker(engine)() as s:
        fac = s.scalar(select(Facility).where(Facility.slug == "cryo-em"))
        assert fac is not None and fac.kind == "custom"
        pools = list(s.scalars(select(CapacityPool).where(CapacityPool.facility_id == fac.id)))
        assert sorted((p.name, p.unit, p.amount, p.slot_hours) for p in pools) == [
            ("Glacios", "session", 80, 24),
            ("Krios G4", "session", 80, 24),
        ]
        down = {p.name: [(u.reason, u.starts_at.date().isoformat()) for u in p.unavailable]
                for p in pools}  # fmt: skip
        assert down == {"Glacios": [("maintenance", "2027-08-02")], "Krios G4": []}
        assert all(p.request_fields[0]["key"] == "grids" for p in pools)
    engine.dispose()
