"""The TAC chair's list as CSV (trialrev20b): the chair's order with the calibrated place,
the ties, the band and every change's reason, for the meeting's minutes. A reason that a
spreadsheet would take for a formula is neutralised, as in every other export; a chair
conflicted with a proposal gets the list without it (nor its changes' reasons); anyone who
may not see the TAC list gets 404 (tests/authz)."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from opencall.calls.models import Call
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal
from opencall.reviews.models import Conflict
from tests import factories as F
from tests.allocation.test_tac import _web_world
from tests.allocation.test_tac_meeting import _tie
from tests.web.conftest import Web, csrf

FORMULA = '=HYPERLINK("http://evil.example","panel")'


def _rows(text: str) -> list[dict[str, str]]:
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text[1:])))


def test_the_tac_list_downloads_as_csv(web: Web) -> None:
    slug, chair, ids, names = _web_world(web)
    with web.factory() as s:
        _tie(s, 2, 3)
        codes = {p.id: p.code for p in s.scalars(select(Proposal).where(Proposal.id.in_(ids)))}
        s.commit()
    c = web.login(chair)
    t = csrf(c, f"/manage/calls/{slug}/tac")
    for pid, form in (
        (ids[0], {"action": "band", "band": "reserve", "reason": FORMULA}),
        (ids[0], {"action": "band", "band": "reject", "reason": "Not feasible this cycle."}),
        (ids[1], {"action": "move", "direction": "down", "places": "1", "reason": "Timing."}),
    ):
        r = c.post(f"/manage/calls/{slug}/tac/{pid}", data={"csrf_token": t, **form})
        assert r.status_code == 303, r.text
    page = c.get(f"/manage/calls/{slug}/tac")
    assert f'href="/manage/calls/{slug}/tac.csv"' in page.text
    r = c.get(f"/manage/calls/{slug}/tac.csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert "attachment" in r.headers["content-disposition"]
    rows = _rows(r.text)
    # the chair's order, as the page lists it
    shown = [int(x) for x in re.findall(r'<tr id="t(\d+)">', page.text)]
    assert [x["proposal"] for x in rows] == [codes[pid] for pid in shown]
    by_code = {x["proposal"]: x for x in rows}
    first = by_code[codes[ids[0]]]
    assert first["band"] == "reject" and first["calibrated_place"] == "1"
    # every change's reason, in the order made; the formula neutralised
    assert first["reasons"].split("\n") == ["'" + FORMULA, "Not feasible this cycle."]
    assert first["changes"] == "band reserve; band reject"
    moved = by_code[codes[ids[1]]]
    assert (moved["changes"], moved["reasons"], moved["band"]) == ("down 1", "Timing.", "")
    assert moved["chair_place"] != moved["calibrated_place"]
    assert (by_code[codes[ids[2]]]["tied_first"], by_code[codes[ids[2]]]["tied_last"]) == (
        "3",
        "4",
    )
    assert by_code[codes[ids[0]]]["tied_first"] == ""
    assert not any(n in r.text for n in names)  # no reviewer named


def test_a_conflicted_chair_gets_the_list_without_that_proposal(web: Web) -> None:
    slug, chair, ids, _names = _web_world(web)
    c = web.login(chair)
    t = csrf(c, f"/manage/calls/{slug}/tac")
    why = "Only instrument able to do it (trialrev20b)."
    r = c.post(
        f"/manage/calls/{slug}/tac/{ids[1]}",
        data={"csrf_token": t, "action": "band", "band": "accept", "reason": why},
    )
    assert r.status_code == 303
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        other = F.user(s, email=f"tac-conflicted-{call.id}@example.org")
        people_services.grant_role(s, other.id, "call_manager", provider_id=call.provider_id)
        s.add(
            Conflict(call_id=call.id, proposal_id=ids[1], reviewer_id=other.id, source="personal")
        )
        code = s.get(Proposal, ids[1]).code  # type: ignore[union-attr]
        email = other.email
        assert user_by_email(s, chair) is not None
        s.commit()
    r = web.login(email).get(f"/manage/calls/{slug}/tac.csv")
    assert r.status_code == 200
    rows = _rows(r.text)
    assert len(rows) == len(ids) - 1
    assert code not in r.text and why not in r.text
    # the chair who is not conflicted gets every row, the reason too
    full = web.login(chair).get(f"/manage/calls/{slug}/tac.csv")
    assert len(_rows(full.text)) == len(ids) and why in full.text
