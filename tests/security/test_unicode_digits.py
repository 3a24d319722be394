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
from tests.web.conftest import Web, World, csrf, version_of

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


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
@pytest.mark.parametrize("url,name", [("/review/year-limit", "max_per_year"),
                                      ("/review/load-limit", "max_at_once")])  # fmt: skip
def test_a_limit_of_thousands_of_digits_is_refused_not_a_500(web: Web, url: str, name: str) -> None:
    """``str.isdecimal`` let 5,000 digits through to ``int``, which refuses more than
    4,300 (a ValueError, a 500); now no whole number, the form's refusal, nothing kept."""
    with web.factory() as s:
        email = F.user(s, email="digits20@example.org").email
        s.commit()
    c = web.login(email)
    for bad in ("9" * 5000, "²", "1" * 30):
        r = c.post(url, data={"csrf_token": csrf(c, "/review"), name: bad})
        assert r.status_code == 400, (bad[:5], r.status_code)


@pytest.mark.parametrize("engine", ["sqlite"], indirect=True)
def test_a_request_form_with_thousands_of_digits_is_refused_not_a_500(
    web: Web, world: World
) -> None:
    """The applicant's request form read its line count (``rows``), its lines' numbers
    (``targets-<n>-name``) and its resource (``pool_id``) with ``isdecimal`` and ``int``:
    5,000 digits were a 500 on the busiest form of a call. Now no number: the form's
    refusal, 400, nothing kept."""
    from tests.web.test_forms import _fast_form

    c = web.login(world.emails["coi"])
    pid = world.ids["proposal"]
    tok = csrf(c, f"/proposals/{pid}")
    many = "9" * 5000
    good = [("Crab", "05:34:31.9", "+22:00:52", "2")]
    for form in (
        {**_fast_form(tok, good), "rows": many},
        _fast_form(tok, good, **{f"targets-{many}-name": "Vela"}),
        _fast_form(tok, good, kind="sample", pool_id=many),
        _fast_form(tok, good, kind="sample", pool_id="²"),
    ):
        form["version"] = version_of(c, pid)
        r = c.post(f"/proposals/{pid}/requests", data=form)
        assert r.status_code in (303, 400), (r.status_code, r.text[-300:])
