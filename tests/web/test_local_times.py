"""Times written as the reader reads them (trialapp16): in their language's format
(Babel, CLDR) and their own time zone, the zone named, on the pages and in the e-mails;
an account without a zone reads its country's zone where the country has one, else UTC.
Before, every page and mail wrote "2026-12-20 23:30 UTC" whatever the language, and
only an account with a zone saw it too, as digits."""

from __future__ import annotations

import datetime as dt
import html

import pytest
from sqlalchemy import select

from opencall.calls.queries import call_by_slug
from opencall.people.domain import country_zone
from opencall.people.models import User
from opencall.web.pages import fmt_when
from tests.web.conftest import Web, World, csrf

WHEN = dt.datetime(2026, 12, 20, 23, 30, tzinfo=dt.UTC)


def test_a_time_is_written_in_the_readers_language_and_zone() -> None:
    assert (
        fmt_when(WHEN, "Asia/Kathmandu", "fr") == "21 déc. 2026, 05:15 (heure : Népal, UTC+05:45)"
    )
    assert fmt_when(WHEN, "America/La_Paz", "es") == (
        "20 dic 2026, 19:30 (hora de Bolivia, UTC-04:00)"
    )
    assert (
        fmt_when(WHEN, "Asia/Shanghai", "zh")
        == "2026年12月21日 07:30 (中国（上海）时间, UTC+08:00)"
    )
    assert fmt_when(WHEN, None, "en") == "Dec 20, 2026, 11:30\u202fPM (UTC)"
    assert fmt_when(WHEN, "Africa/Dakar", "fr", seconds=True).startswith("20 déc. 2026, 23:30:00")
    # no language: the neutral form of the refusal sentences, logs and the command line
    assert fmt_when(WHEN, None) == "2026-12-20 23:30 UTC"


def test_an_account_without_a_zone_reads_its_countrys() -> None:
    assert country_zone("NPL") == "Asia/Kathmandu"
    assert country_zone("SEN") == "Africa/Dakar"
    assert country_zone("BOL") == "America/La_Paz"
    # several zones (or none known): UTC, named as such, until the account chooses one
    assert country_zone("USA") is None
    assert country_zone(None) is None
    assert country_zone("XXX") is None
    u = User(email="a@example.org", name="A", password_hash="x", country_iso3="NPL")
    assert u.reading_zone == "Asia/Kathmandu"
    u.time_zone = "Asia/Tokyo"
    assert u.reading_zone == "Asia/Tokyo"


def test_the_deadline_on_the_page_is_in_the_readers_language_and_zone(
    web: Web, world: World
) -> None:
    slug = world.slugs["call"]
    with web.factory() as s:
        call = call_by_slug(s, slug)
        assert call is not None
        closes = call.closes_at
        pi = s.scalars(select(User).where(User.email == world.emails["pi"])).one()
        pi.time_zone = None  # the country's zone: Tanzania, Africa/Dar_es_Salaam
        pi.language = "es"
        s.commit()
    c = web.login(world.emails["pi"], "es")
    text = html.unescape(c.get(f"/calls/{slug}").text)
    said = fmt_when(closes, "Africa/Dar_es_Salaam", "es")
    assert "(hora de Tanzania, UTC+03:00)" in said
    assert said in text, text
    assert closes.strftime("%Y-%m-%d %H:%M UTC") not in text
    # the account page says which zone is read and why
    account = html.unescape(c.get("/account").text)
    assert "Africa/Dar_es_Salaam" in account
    # chosen on the account page: that zone, in the reader's language
    tok = csrf(c, "/account")
    r = c.post(
        "/account",
        data={"csrf_token": tok, "name": "Ximena", "time_zone": "America/La_Paz", "language": "es"},
    )
    assert r.status_code == 303, html.unescape(r.text)[:2000]
    text = html.unescape(c.get(f"/calls/{slug}").text)
    assert fmt_when(closes, "America/La_Paz", "es") in text


@pytest.mark.parametrize(
    ("zone", "lang", "named"),
    [
        ("Asia/Kathmandu", "zh", "(尼泊尔时间, UTC+05:45)"),
        ("Pacific/Apia", "en", "(Samoa Time, UTC+13:00)"),
    ],
)
def test_the_receipt_mail_is_in_the_readers_language_and_zone(
    web: Web, world: World, zone: str, lang: str, named: str
) -> None:
    from opencall.proposals.models import Proposal
    from tests.people.mailbox import mails

    with web.factory() as s:
        pi = s.scalars(select(User).where(User.email == world.emails["pi"])).one()
        pi.time_zone = zone
        pi.language = lang
        s.commit()
    c = web.login(world.emails["pi"], lang)
    pid = world.ids["proposal"]
    r = c.post(f"/proposals/{pid}/submit", data={"csrf_token": csrf(c, f"/proposals/{pid}")})
    assert r.status_code == 303, r.text[:500]
    with web.factory() as s:
        p = s.get(Proposal, pid)
        assert p is not None and p.submitted_at is not None
        said = fmt_when(p.submitted_at, zone, lang, seconds=True)
    assert said.endswith(named)
    bodies = [m.body for m in mails(web.settings.mail_dir) if m.to == world.emails["pi"]]
    assert any(said in b for b in bodies), bodies


@pytest.mark.parametrize(
    ("month", "offset"), [(1, "UTC+01:00"), (7, "UTC+02:00")], ids=["winter", "summer"]
)
def test_the_sites_own_clock_is_written_in_the_readers_language(
    web: Web, world: World, month: int, offset: str
) -> None:
    """A call stated in its site's zone: the page gives the site's wall clock too, written
    as the reader's language writes dates (before: "2027-01-15 17:00 Europe/Berlin
    (UTC+01:00)" to every reader). The call closes on the 15th of January or of July of
    next year, in Berlin's winter or summer time whatever the date of the run (flake21:
    it closed 30 days after the real clock, and from late February to late September
    that was summer time: "assert '(heure : Allemagne (Berlin), UTC+01:00)' in '5 juil.
    2027, 17:22 (heure : Allemagne (Berlin), UTC+02:00)'" with --clock-ahead=180)."""
    from opencall.calls.models import Call
    from opencall.db import utcnow

    slug = world.slugs["call"]
    closes = dt.datetime(utcnow().year + 1, month, 15, 15, 0, tzinfo=dt.UTC)
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        call.time_zone = "Europe/Berlin"
        call.closes_at = closes  # still open: it opened 30 days before the clock
        s.commit()
    text = html.unescape(web.client().get(f"/calls/{slug}", headers={"Accept-Language": "fr"}).text)
    site = fmt_when(closes, "Europe/Berlin", "fr")
    assert f"(heure : Allemagne (Berlin), {offset})" in site
    assert site in text, text
    assert closes.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M") not in text
