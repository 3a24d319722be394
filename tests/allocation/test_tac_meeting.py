"""The TAC chair at the meeting (trialrev20): a change the page refuses keeps what the
chair typed (the reason, the move or the band) in that proposal's row, so a long note is
never lost to a wrong number of places or to a list another chair changed meanwhile; and
the list filters by band, with the count in each band."""

from __future__ import annotations

import re

from sqlalchemy import func, select

from opencall.allocation import tac
from opencall.allocation.models import TacAdjustment
from opencall.reviews import queries as rq
from opencall.reviews.models import RankedProposal
from tests.allocation.test_tac import _ranked, _web_world
from tests.api.test_writes import token
from tests.web.conftest import Web, csrf

NOTE = "Unique timing window; the PI's instrument returns in May — « keep » مرصد"


def _row(html: str, pid: int) -> str:
    m = re.search(rf'<tr id="t{pid}">(.*?)</tr>', html, re.S)
    assert m, f"no row for proposal {pid}"
    return m.group(1)


def _count(web: Web) -> int:
    with web.factory() as s:
        return int(s.scalar(select(func.count()).select_from(TacAdjustment)) or 0)


def test_a_refused_change_keeps_the_note_and_the_move_typed(web: Web) -> None:
    slug, chair, ids, _names = _web_world(web)
    c = web.login(chair)
    t = csrf(c, f"/manage/calls/{slug}/tac")
    # too many places: refused, nothing kept, and the note is still in that row's form
    r = c.post(
        f"/manage/calls/{slug}/tac/{ids[3]}",
        data={"csrf_token": t, "action": "move", "direction": "up", "places": "9", "reason": NOTE},
    )
    assert r.status_code == 400 and 'id="tac-error"' in r.text
    assert _count(web) == 0
    row = _row(r.text, ids[3])
    assert 'value="9"' in row, row
    assert NOTE.replace("'", "&#39;") in row, row
    assert 'id="tac-error-row"' in row
    # the other rows keep their empty forms
    assert NOTE.replace("'", "&#39;") not in _row(r.text, ids[0])
    # a band with a list changed meanwhile (an old version): the band and the note stay
    r = c.post(
        f"/manage/calls/{slug}/tac/{ids[2]}",
        data={"csrf_token": t, "action": "band", "band": "reserve", "reason": NOTE, "seen": "7"},
    )
    assert r.status_code == 409 or r.status_code == 400
    row = _row(r.text, ids[2])
    assert '<option value="band" selected>' in row, row
    assert '<option value="reserve" selected>' in row, row
    assert NOTE.replace("'", "&#39;") in row
    assert _count(web) == 0


def test_the_list_filters_by_band_with_the_counts(web: Web) -> None:
    slug, chair, ids, _names = _web_world(web)
    c = web.login(chair)
    t = csrf(c, f"/manage/calls/{slug}/tac")
    for pid, band in ((ids[1], "reserve"), (ids[2], "reserve"), (ids[3], "accept")):
        r = c.post(
            f"/manage/calls/{slug}/tac/{pid}",
            data={"csrf_token": t, "action": "band", "band": band, "reason": "Panel view."},
        )
        assert r.status_code == 303
    r = c.get(f"/manage/calls/{slug}/tac?band=reserve")
    assert r.status_code == 200
    shown = re.findall(r'<tr id="t(\d+)">', r.text)
    assert shown == [str(ids[1]), str(ids[2])]
    counts = re.search(r'<p id="tac-bands">(.*?)</p>', r.text, re.S)
    assert counts, r.text
    assert "reserve (2)" in counts.group(1) and "accept (1)" in counts.group(1)
    assert "no band (1)" in counts.group(1) and "All (4)" in counts.group(1)
    r = c.get(f"/manage/calls/{slug}/tac?band=none")
    assert re.findall(r'<tr id="t(\d+)">', r.text) == [str(ids[0])]
    # places stay the chair's places, not the row numbers of the filtered list
    assert re.search(rf'<tr id="t{ids[0]}"><td class="num">2</td>', r.text)
    # a bogus band: said, and the whole list shown
    r = c.get(f"/manage/calls/{slug}/tac?band=bogus")
    assert r.status_code == 400 and 'id="tac-error"' in r.text
    assert len(re.findall(r'<tr id="t(\d+)">', r.text)) == 4
    # the same in French
    r = web.login(chair, "fr").get(f"/manage/calls/{slug}/tac?band=reject")
    assert "Afficher :" in r.text and "Aucune proposition dans cette bande." in r.text


def _tie(db, first: int, second: int) -> None:  # type: ignore[no-untyped-def]
    """The ranking with places ``first`` and ``second`` (0-based) tied on the calibrated
    score, the second ranked first (its raw grades' mean is higher: the calibration's
    tie-break), as a calibration that reads them so stores them."""
    ranked = {r.rank: r for r in db.scalars(select(RankedProposal))}
    a, b = ranked[first + 1], ranked[second + 1]
    a.score = b.score = (a.score + b.score) / 2
    a.rank, b.rank = b.rank, a.rank
    db.flush()


def test_a_tie_keeps_the_rankings_order_and_is_explained(db) -> None:  # type: ignore[no-untyped-def]
    call, props, _reviewers = _ranked(db)
    _tie(db, 0, 1)
    by_rank = [r.proposal_id for r in rq.ranking(db, call)]
    assert by_rank[:2] == [props[1].id, props[0].id]
    listed = tac.chair_list(db, call, set())
    # the TAC list's calibrated places are the ranking's (not the proposals' ids)
    assert [x.proposal_id for x in listed.places] == by_rank
    first, second = listed.places[0], listed.places[1]
    assert (first.calibrated, second.calibrated) == (1, 2)
    # and the tie is said: both span places 1 to 2; the others are not tied
    assert first.tie == (1, 2) and second.tie == (1, 2)
    assert listed.places[2].tie is None and listed.places[3].tie is None


def test_the_page_says_which_places_are_tied(web: Web) -> None:
    slug, chair, ids, _names = _web_world(web)
    with web.factory() as s:
        _tie(s, 2, 3)
        s.commit()
    r = web.login(chair).get(f"/manage/calls/{slug}/tac")
    assert r.status_code == 200
    assert re.findall(r'<tr id="t(\d+)">', r.text) == [
        str(i) for i in (ids[0], ids[1], ids[3], ids[2])
    ]
    assert "tied, places 3–4" in _row(r.text, ids[2]) and "tied" not in _row(r.text, ids[0])
    assert 'id="tac-ties"' in r.text
    r = web.login(chair, "es").get(f"/manage/calls/{slug}/tac")
    assert "empatada, puestos 3–4" in _row(r.text, ids[2])
    r = web.client().get(f"/api/v1/calls/{slug}/tac", headers=token(web, chair))
    tied = {x["proposal_id"]: x["tied_places"] for x in r.json()["places"]}
    assert tied == {ids[0]: None, ids[1]: None, ids[2]: [3, 4], ids[3]: [3, 4]}


def test_a_change_made_on_a_filtered_list_comes_back_to_it(web: Web) -> None:
    slug, chair, ids, _names = _web_world(web)
    c = web.login(chair)
    r = c.get(f"/manage/calls/{slug}/tac?band=none")
    assert 'name="shown" value="none"' in _row(r.text, ids[1])
    t = csrf(c, f"/manage/calls/{slug}/tac?band=none")
    r = c.post(
        f"/manage/calls/{slug}/tac/{ids[1]}",
        data={"csrf_token": t, "action": "band", "band": "reserve", "reason": "Later.",
              "shown": "none"},
    )  # fmt: skip
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/manage/calls/{slug}/tac?band=none")
    # a bogus value sent back is dropped, not put in the address
    r = c.post(
        f"/manage/calls/{slug}/tac/{ids[2]}",
        data={"csrf_token": t, "action": "band", "band": "reserve", "reason": "Later.",
              "shown": "x\r\nSet-Cookie: a=b"},
    )  # fmt: skip
    assert r.status_code == 303
    assert r.headers["location"].startswith(f"/manage/calls/{slug}/tac?")
    assert "band=" not in r.headers["location"] and "Set-Cookie" not in r.headers["location"]
