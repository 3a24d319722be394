"""Numbers typed as other digits (trialcrowd20). Several forms guarded ``int(raw)`` with
``raw.isdigit()``, which is true for "²" (a superscript two) and "①" (a circled one):
``int`` refuses both, so an applicant's continuation (``POST /proposals/{id}/continues``),
the TAC chair's move with its list's version (``seen``), a record's award
(``award_id``) and the office's import counts in the post-award page's address each
answered 500 (a ValueError) rather than the form's own refusal. Now these read a number
with ``inputs.whole_number`` (ASCII digits, bounded), and such a value is no number."""

from __future__ import annotations

import pytest

from opencall.inputs import whole_number
from opencall.proposals.models import Proposal
from tests import factories as F
from tests.allocation.test_tac import _web_world
from tests.results.awards_world import telescope_cycles
from tests.results.conftest import Awarded
from tests.results.test_continuation import _next_call
from tests.web.conftest import Web, csrf

ODD = ("²", "①", "٣\u200b", "１")


def test_whole_number_reads_ascii_digits_only() -> None:
    assert whole_number("42") == 42 and whole_number(" 7 ") == 7
    for bad in (*ODD, "", "-1", "+3", "1e3", "3.0", "x", "9" * 40):
        assert whole_number(bad) is None, bad
    assert whole_number("1000", most=999) is None and whole_number("999", most=999) == 999


def test_a_continuation_named_by_other_digits_is_refused(web: Web) -> None:
    from tests.authz.test_workspace_matrix import session_client

    with web.factory() as s:
        amina = F.user(s, country="KEN", email="amina-digits20@example.org")
        jonas = F.user(s, country="DEU")
        (c0, (_a0, _j0)), = telescope_cycles(s, [[(amina, True), (jonas, True)]])  # fmt: skip
        draft = _next_call(s, c0, amina)
        s.commit()
        pid = draft.id
    client, tok = session_client(web, "amina-digits20@example.org")
    for bad in ODD:
        r = client.post(f"/proposals/{pid}/continues", data={"csrf_token": tok, "continues": bad})
        assert r.status_code == 400, (bad, r.status_code)
        assert "Name an award of your own at this provider." in r.text
    with web.factory() as s:
        assert s.get(Proposal, pid).continues_id is None  # type: ignore[union-attr]


def test_a_tac_move_with_a_version_in_other_digits_is_not_a_500(web: Web) -> None:
    slug, chair, ids, _ = _web_world(web)
    c = web.login(chair)
    t = csrf(c, f"/manage/calls/{slug}/tac")
    form = {"csrf_token": t, "action": "move", "direction": "up", "places": "1", "reason": "Why."}
    r = c.post(f"/manage/calls/{slug}/tac/{ids[3]}", data={**form, "seen": "²"})
    # no version read: not checked, as a form without one
    assert r.status_code == 303, r.status_code
    r = c.post(f"/manage/calls/{slug}/tac/{ids[3]}", data={**form, "places": "①"})
    assert r.status_code == 400 and "whole number" in r.text


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_record_or_a_count_in_other_digits_is_not_a_500(web: Web, aw: Awarded) -> None:
    c = web.login(aw.emails["manager"])
    r = c.get(f"/manage/calls/{aw.slug}/postaward?imported=²&skipped=1")
    assert r.status_code == 200, r.status_code
    pi = web.login(aw.emails["pi"])
    t = csrf(pi, f"/awards/{aw.awarded}")
    r = pi.post(
        f"/awards/{aw.awarded}/records",
        data={"csrf_token": t, "kind": "other", "award_id": "²", "description": "x"},
    )
    assert r.status_code in (303, 400), r.status_code
