"""trialop19b: a lost item's period is stored as data and said in the reader's language.
trialop19 stored the period's reason on the resource in English ("CH-7 lost"), so a
French, Spanish or Chinese reader read English on the resource's page, its call
calendar, its iCalendar feed and the API; and a loan whose ``lost_on`` was corrected
afterwards kept the first period (the resource blocked from the wrong day). Now the
period keeps the item and the loan record (``lost_item``, ``lost_record_id``), every view
renders "%(item)s lost" in the reader's language, and a corrected day (or a loan no
longer lost) moves (or frees) the period."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import select

from opencall.allocation.models import Award
from opencall.facilities.models import PoolUnavailability
from opencall.results import services as res
from opencall.results.models import PostAwardRecord
from opencall.web import security
from tests.authz.test_workspace_matrix import session_client
from tests.scheduling.conftest import SlotWorld
from tests.scheduling.test_lost_item_outage import _krios_b
from tests.scheduling.test_zone_of_a_booked_resource import bearer
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

SAID = {"en": "CH-7 lost", "fr": "CH-7 perdu", "es": "CH-7 perdido", "zh": "CH-7 已遗失"}


def _lose(web: Web, w: SlotWorld) -> tuple[int, int, dict[str, str], list[dt.date]]:
    b, award_id, rows = _krios_b(web, w)
    loan = {"sample": "Cryo holder", "item": "CH-7", "shipped_on": rows[0][1].date().isoformat()}
    days = sorted({t.date() for _i, t, _p in rows})
    with web.factory() as s:
        rec = res.add_node_record(s, s.get_one(Award, award_id), "loan", loan, actor_id=None)
        s.flush()
        lost = {**loan, "condition": "lost", "lost_on": days[-1].isoformat()}
        res.update_record(s, rec, lost, actor_id=None)
        s.commit()
        return b, rec.id, lost, days


def _record(web: Web, rec_id: int, data: dict[str, str]) -> None:
    """The loan record corrected to ``data``, as its author would."""
    with web.factory() as s:
        res.update_record(s, s.get_one(PostAwardRecord, rec_id), data, actor_id=None)
        s.commit()


def _lost_rows(web: Web, b: int) -> list[PoolUnavailability]:
    with web.factory() as s:
        return list(
            s.scalars(
                select(PoolUnavailability).where(
                    PoolUnavailability.pool_id == b, PoolUnavailability.lost_item != ""
                )
            )
        )


def test_a_lost_item_s_period_is_data_said_in_the_reader_s_language(
    web: Web, stored: SlotWorld
) -> None:
    w = stored
    b, rec_id, _lost, _days = _lose(web, w)
    (row,) = _lost_rows(web, b)
    assert row.lost_item == "CH-7" and row.lost_record_id == rec_id
    assert "lost" not in row.reason  # no English sentence stored
    office, _ = session_client(web, w.emails["manager"])
    h = bearer(web, w.emails["manager"])
    for lang, said in SAID.items():
        al = {"Accept-Language": lang}
        office.cookies.set(security.LANG_COOKIE, lang)  # the reader's choice
        for url in (
            f"/manage/resources/{b}",
            f"/manage/calls/{w.slug}/resources/{b}/calendar",
            f"/manage/calls/{w.slug}/resources/{b}/calendar.ics",
        ):
            page = office.get(url)
            assert page.status_code == 200, (url, page.text[:500])
            assert said in page.text, (lang, url)
            if lang != "en":
                assert SAID["en"] not in page.text, (lang, url)
        api = web.client().get(f"/api/v1/resources/{b}/calendar", headers={**h, **al}).json()
        (u,) = [u for u in api["unavailable"] if u["lost_item"]]
        assert u["lost_item"] == "CH-7" and u["reason"] == said, (lang, u)


def test_a_corrected_day_lost_moves_the_period_and_a_found_item_frees_it(
    web: Web, stored: SlotWorld
) -> None:
    b, rec_id, lost, days = _lose(web, stored)
    first = _lost_rows(web, b)[0]
    earlier = days[0]
    _record(web, rec_id, {**lost, "lost_on": earlier.isoformat()})
    (moved,) = _lost_rows(web, b)
    assert moved.starts_at < first.starts_at
    assert abs((moved.starts_at.date() - earlier).days) <= 1
    assert moved.ends_at == first.ends_at
    # later again: the days between are free once more
    later = days[-1]
    _record(web, rec_id, {**lost, "lost_on": later.isoformat()})
    (again,) = _lost_rows(web, b)
    assert again.starts_at == first.starts_at
    # the loan corrected to returned after all: nothing of it blocks the resource
    back = {k: v for k, v in lost.items() if k not in ("condition", "lost_on")}
    _record(web, rec_id, {**back, "returned_on": later.isoformat()})
    assert _lost_rows(web, b) == []
