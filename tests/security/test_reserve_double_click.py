"""Two reserve-list offers clicked at once (trialcrowd20b). ``POST
/manage/calls/{slug}/tac/reserve/offer`` offered the first proposal of the reserve list
that fits, whatever the chair had seen: a double click (two posts of one page, at once)
offered two proposals where the chair meant one. Now the form carries its page's
one-time key (``once()``, ``page.first_sending``, as a record's form): the second sending
of a page offers nothing and answers as the first did, while an offer made from the page
shown after the first offers the next."""

from __future__ import annotations

import re
import threading
from typing import Any

from sqlalchemy import func, select

from opencall.allocation.models import Decision
from opencall.proposals.models import Proposal
from tests.allocation.test_tac_reserve import _decline, _web_world
from tests.web.conftest import Web, csrf

N = 2


def _awarded(web: Web, ids: list[int]) -> int:
    with web.factory() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(Decision)
                .where(Decision.proposal_id.in_(ids), Decision.outcome == "awarded")
            )
            or 0
        )


def _form(c: Any, slug: str) -> dict[str, str]:
    page = c.get(f"/manage/calls/{slug}/declines").text
    form = re.search(r'<form[^>]*id="reserve-offer">(.*?)</form>', page, re.S)
    assert form is not None
    return dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(1)))


def test_a_double_click_offers_one_and_two_clicks_in_sequence_offer_two(web: Web) -> None:
    slug, chair, ids, _codes = _web_world(web)
    with web.factory() as s:
        p = s.get(Proposal, ids[0])
        assert p is not None
        _decline(s, p)  # frees room for both proposals of the reserve list
        s.commit()
    before = _awarded(web, ids)
    clients = [web.login(chair) for _ in range(N)]
    csrf(clients[0], f"/manage/calls/{slug}/declines")
    form = _form(clients[0], slug)  # one page, its button clicked twice
    start = threading.Barrier(N, timeout=30)
    answers: dict[int, Any] = {}

    def click(i: int) -> None:
        start.wait()
        answers[i] = clients[0].post(f"/manage/calls/{slug}/tac/reserve/offer", data=form)

    threads = [threading.Thread(target=click, args=(i,)) for i in range(N)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    codes = sorted(r.status_code for r in answers.values())
    assert _awarded(web, ids) == before + 1, codes
    assert codes == [303, 303], codes  # the second answered as the first: nothing lost
    # a second offer, deliberate, from the page shown after the first: the next one
    r = clients[0].post(f"/manage/calls/{slug}/tac/reserve/offer", data=_form(clients[0], slug))
    assert r.status_code == 303
    assert _awarded(web, ids) == before + 2
