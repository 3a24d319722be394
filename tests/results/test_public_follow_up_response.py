"""The course follow-up response on the public after-award page (outcomes18): the office's
report had, per wave (6 and 12 months after the course), the participants due and those
who answered; the public page and its CSV had none. They now show it by income group, UN
region and LDC status, the three tables of each wave suppressed together as the page's
other tables are (a count under 5 shown "<5" or hidden "x", enough others hidden that
none can be worked out), a rate only beside counts of five or more, and never a
participant's name."""

from __future__ import annotations

import csv
import datetime as dt
import io

from opencall.outcomes import queries as oq
from opencall.results import services as rs
from tests.results.course_world import course_world
from tests.web.conftest import Web

TODAY = dt.datetime.now(dt.UTC).date()
DONE = TODAY - dt.timedelta(days=420)  # both waves (6 and 12 months) are due
ANSWER = DONE + dt.timedelta(days=183)  # answers the 6-month wave only

#: participants of each country's award, and of them those who answered the first wave
PEOPLE = {"ETH": (9, 6), "DEU": (10, 5), "NPL": (2, 1)}


def _world(web: Web) -> tuple[str, list[str]]:
    with web.factory() as s:
        call, props = course_world(s, list(PEOPLE))
        names = []
        for iso3, (n, k) in PEOPLE.items():
            for i in range(n):
                who = f"Participant{iso3}{i}x"
                names.append(who)
                rs.add_record(s, props[iso3], "course", {"participant": who, "attended": True,
                              "completed": True, "completed_on": DONE.isoformat()},
                              actor_id=None)  # fmt: skip
                if i < k:
                    rs.add_record(s, props[iso3], "followup", {"participant": who,
                                  "followed_up_on": ANSWER.isoformat(), "people_trained": 3},
                                  actor_id=None)  # fmt: skip
        call.status = "published"
        s.commit()
        return call.slug, names


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))


def test_the_public_page_shows_the_follow_up_response_suppressed(web: Web) -> None:
    slug, names = _world(web)
    oq.PUBLIC_AFTER_AWARD.clear()
    rows = _csv(web.client("en").get(f"/calls/{slug}/after-award?format=csv").text)
    got = {
        (x["grouping"], x["group"], x["measure"]): x["value"]
        for x in rows
        if x["table"] == "follow_up_response"
    }
    # 21 participants due at each wave; 12 answered the first, none the second
    assert got[("income_group", "all", "6:due")] == "21"
    assert got[("income_group", "all", "12:due")] == "21"
    assert got[("income_group", "all", "12:answered")] == "0"
    assert got[("ldc", "all", "6:due")] == "21"
    # Nepal's two participants: never a count of one to four
    assert got[("ldc", "LDC", "6:due")] == "11"
    assert not [k for k, v in got.items() if v in ("1", "2", "3", "4")], got
    small = [v for k, v in got.items() if k[1] == "Asia"]
    assert small and all(v in ("<5", "x", "0") for v in small), small
    # a hidden cell is never the only one of its column in a grouping
    for by in oq.PUBLIC_BYS:
        for m in ("6:answered", "6:not_answered"):
            hidden = [k for k, v in got.items() if k[0] == by and k[2] == m and v in ("<5", "x")]
            assert len(hidden) != 1, (by, m, got)
    for lang, heading, note in (
        ("en", "Follow-up response", "No participant is named"),
        ("fr", "Réponses au suivi", "Aucun participant"),
        ("zh", "跟踪报告回复情况", "不列出任何学员姓名"),
        ("es", "Respuesta al seguimiento", "No se nombra a ningún participante"),
    ):
        page = web.client(lang).get(f"/calls/{slug}/after-award")
        assert page.status_code == 200
        assert heading in page.text and note in page.text, lang
        assert 'id="follow-up-response"' in page.text
        assert not [n for n in names if n in page.text]


def test_no_follow_up_table_before_a_wave_is_due(web: Web) -> None:
    with web.factory() as s:
        call, props = course_world(s, ["ETH"])
        rs.add_record(s, props["ETH"], "course", {"participant": "A", "attended": True,
                      "completed": True, "completed_on": TODAY.isoformat()},
                      actor_id=None)  # fmt: skip
        call.status = "published"
        s.commit()
        slug = call.slug
    oq.PUBLIC_AFTER_AWARD.clear()
    page = web.client("en").get(f"/calls/{slug}/after-award")
    assert page.status_code == 200 and 'id="follow-up-response"' not in page.text
    rows = _csv(web.client("en").get(f"/calls/{slug}/after-award?format=csv").text)
    assert not [x for x in rows if x["table"] == "follow_up_response"]


def test_each_wave_s_release_is_kept_and_audited_with_the_earlier_ones(web: Web) -> None:
    """A reader who keeps the page sees participants answer between two visits: each
    wave's tables are kept as releases (``public_releases``, page ``follow_up_<months>``)
    and a new one is suppressed with the earlier ones standing, as the funnel's are."""
    from sqlalchemy import select

    from opencall.outcomes.models import PublicRelease

    slug, _names = _world(web)
    oq.PUBLIC_AFTER_AWARD.clear()
    assert web.client("en").get(f"/calls/{slug}/after-award").status_code == 200
    with web.factory() as s:
        pages = sorted(s.scalars(select(PublicRelease.page)).all())
    assert "follow_up_6" in pages and "follow_up_12" in pages, pages
    # one more answer from Nepal: a new release of the 6-month wave, the earlier kept
    with web.factory() as s:
        from opencall.calls.models import Call
        from opencall.proposals.models import Proposal

        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        nepal = [p for p in s.scalars(select(Proposal).where(Proposal.call_id == call.id))
                 if "NPL" in p.title][0]  # fmt: skip
        rs.add_record(s, nepal, "followup", {"participant": "ParticipantNPL1x",
                      "followed_up_on": ANSWER.isoformat(), "people_trained": 1},
                      actor_id=None)  # fmt: skip
        s.commit()
    oq.PUBLIC_AFTER_AWARD.clear()
    assert web.client("en").get(f"/calls/{slug}/after-award").status_code == 200
    with web.factory() as s:
        six = s.scalars(
            select(PublicRelease.number).where(PublicRelease.page == "follow_up_6")
        ).all()
    assert sorted(six) == [1, 2]
