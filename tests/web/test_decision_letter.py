"""The decision as a letter the applicant keeps: a plain-text file (UTF-8) of the outcome
page, in the reader's language and zone, to read offline (on a shared computer, a phone
between two connections, with a screen reader) and to forward. It says what the page
says to the team and nothing the team may not see (the panel's remarks, the reviewers)."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from opencall.scheduling.models import ScheduleEntry
from tests.web.conftest import Web, World, said_to
from tests.web.test_public import publish

pytestmark = pytest.mark.filterwarnings("ignore")


def test_the_decision_letter_is_a_text_file_in_the_readers_language_and_zone(
    web: Web, world: World
) -> None:
    with web.factory() as s:
        publish(s, world)
        s.commit()
        start = s.scalars(select(ScheduleEntry.start)).one()
    pid = world.ids["proposal"]
    pi = web.login(world.emails["pi"], "fr")
    page = html.unescape(pi.get(f"/proposals/{pid}/outcome").text)
    assert f'href="/proposals/{pid}/outcome.txt"' in page
    r = pi.get(f"/proposals/{pid}/outcome.txt")
    assert r.status_code == 200, r.status_code
    assert r.headers["content-type"] == "text/plain; charset=utf-8"
    assert r.headers["content-disposition"].startswith("attachment; filename=")
    assert r.headers["content-disposition"].endswith('-decision.txt"')
    assert "no-store" in r.headers["cache-control"]  # private: never kept by a proxy
    letter = r.text
    assert "<" not in letter and "&#" not in letter and "&amp;" not in letter  # no markup
    # in French: the outcome, its priority and explanation, the award, the schedule in the
    # reader's zone (the PI's country's: Tanzania), the reviewers' feedback
    assert "Pulsar timing with FAST" in letter
    assert "accordé" in letter and "Priorité A" in letter
    assert "fits the LST range." in letter and "fits the LST range." in page  # as the page
    assert "6,5 heures" in letter
    assert "Crab pulsar, 19-beam" in letter
    assert said_to(web.factory, world.emails["pi"], start, "fr") in re.sub(r"\s+", " ", letter)
    assert "A compelling timing case." in letter
    assert f"/proposals/{pid}/outcome" in letter  # where the page is, once back online
    # nothing the team may not see
    assert "Panel-only remark." not in letter and "Reviewer Hidden" not in letter
    # in Chinese for a reader who reads Chinese
    zh = web.login(world.emails["coi"], "zh").get(f"/proposals/{pid}/outcome.txt")
    assert zh.status_code == 200, zh.status_code
    assert "结果" in zh.text and "评审意见" in zh.text and "优先级 A" in zh.text, zh.text[:500]


def test_the_letter_is_for_the_team_only_and_only_once_released(web: Web, world: World) -> None:
    pid = world.ids["proposal"]
    # no decision released yet: no letter (as no outcome page)
    assert web.login(world.emails["pi"]).get(f"/proposals/{pid}/outcome.txt").status_code == 404
    with web.factory() as s:
        publish(s, world)
        s.commit()
    assert web.login(world.emails["other"]).get(f"/proposals/{pid}/outcome.txt").status_code == 404
    r = web.client().get(f"/proposals/{pid}/outcome.txt")
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")


def test_a_letter_without_a_decision_says_so(web: Web, world: World) -> None:
    """Released, and no decision for this proposal (the page says so): the letter too."""
    with web.factory() as s:
        publish(s, world)
        s.commit()
    pid = world.ids["other_proposal"]
    r = web.login(world.emails["other"], "es").get(f"/proposals/{pid}/outcome.txt")
    assert r.status_code == 200
    assert "No decision has been recorded" not in r.text
    assert "No se ha registrado ninguna decisión" in r.text, r.text[:800]
