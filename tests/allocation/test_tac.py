"""The TAC chair's work after the grades (trialtac18): moves and bands on the calibrated
ranked list, each with a reason (audited, and said in the applicant's explanation), the
preview of what the chair's order does to the allocation (who gains, who loses, who
benefits by income group, UN region and LDC status), and the lock. A conflicted chair
neither sees nor moves a proposal; bad input is refused and changes nothing."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import Engine, func, inspect, select
from sqlalchemy.orm import Session

from opencall import auditlog, migrate
from opencall.allocation import services as al
from opencall.allocation import tac, tac_order
from opencall.allocation.models import Decision, TacAdjustment, TacLock
from opencall.calls.models import Call
from opencall.cycle import services as cycle
from opencall.errors import DomainError
from opencall.people import services as people_services
from opencall.people.queries import user_by_email
from opencall.proposals.models import Proposal
from opencall.reviews import queries as rq
from opencall.reviews import services as rv
from opencall.reviews.models import Conflict
from tests import factories as F
from tests.api.test_writes import token
from tests.web.conftest import Web, csrf


def _ranked(s: Session, n: int = 4) -> tuple[Call, list[Proposal], list[Any]]:
    """A call in allocation: ``n`` proposals graded 5, 4, 3, ... (best first), and a
    quality threshold that awards the first two only."""
    call, props, reviewers = F.call_in_review(s, n, 3)
    rv.run_assignment(s, call)
    by_id = {u.id: u for u in reviewers}
    grade = {p.id: 5 - i for i, p in enumerate(props)}
    for a in rq.assignments_of_call(s, call):
        rv.submit_review(
            s, a, by_id[a.reviewer_id], grade=grade[a.proposal_id], comments_to_applicants="ok"
        )
    rv.run_calibration(s, call, n_bootstrap=10)
    cycle.transition_call(s, call, "ranking")
    rv.freeze_ranking(s, call)
    cycle.transition_call(s, call, "allocation")
    call.allocation_policy = {**(call.allocation_policy or {}), "quality_threshold": 3.5}
    s.flush()
    ranked = [r.proposal_id for r in rq.ranking(s, call)]
    assert ranked == [p.id for p in props]
    return call, props, reviewers


def _outcomes(s: Session, call: Call) -> dict[int, str]:
    return {d.proposal_id: d.outcome for d in al.decisions(s, call)}


def _counts(s: Session) -> tuple[int, int, int]:
    return (
        s.scalar(select(func.count()).select_from(TacAdjustment)) or 0,
        s.scalar(select(func.count()).select_from(TacLock)) or 0,
        s.scalar(select(func.count()).select_from(auditlog.AuditEvent)) or 0,
    )


def test_without_a_change_the_allocation_reads_the_calibrated_order(db: Session) -> None:
    s = db
    call, props, _ = _ranked(s)
    same, _meta = al.build_problem(s, call)
    calibrated, _meta = al.build_problem(s, call, chair_order=False)
    assert same == calibrated
    assert tac_order.notes(s, call) == {}
    al.run_allocation(s, call)
    out = _outcomes(s, call)
    assert [out[p.id] for p in props] == ["awarded", "awarded", "not_awarded", "not_awarded"]


def test_a_move_reorders_the_allocation_and_the_applicant_reads_why(db: Session) -> None:
    s = db
    call, props, _ = _ranked(s)
    chair = F.user(s)
    tac.adjust(s, call, props[3], move=3, reason="Unique timing window.", actor_id=chair.id)
    listed = tac.chair_list(s, call, frozenset())
    assert [x.proposal_id for x in listed.places] == [props[i].id for i in (3, 0, 1, 2)]
    assert [x.calibrated for x in listed.places] == [4, 1, 2, 3]
    al.run_allocation(s, call)
    out = _outcomes(s, call)
    assert [out[p.id] for p in props] == ["awarded", "not_awarded", "not_awarded", "awarded"]
    d = s.scalar(select(Decision).where(Decision.proposal_id == props[3].id))
    assert d is not None
    assert "the TAC chair moved it up 3 place(s): Unique timing window." in d.explanation
    assert d.explanation_msg and d.explanation_msg[-1]["message"]["params"]["n"] == 3
    ev = s.scalars(
        select(auditlog.AuditEvent).where(auditlog.AuditEvent.action == "tac.adjusted")
    ).one()
    assert ev.reason == "Unique timing window." and ev.actor_id == chair.id


def test_bands_set_aside_or_put_first(db: Session) -> None:
    s = db
    call, props, _ = _ranked(s)
    tac.adjust(s, call, props[0], band="reject", reason="Not feasible this season.")
    tac.adjust(s, call, props[1], band="reserve", reason="Waits for a berth.")
    tac.adjust(s, call, props[3], band="accept", reason="Student training.")
    al.run_allocation(s, call)
    out = _outcomes(s, call)
    assert out[props[0].id] == "not_awarded" and out[props[1].id] == "not_awarded"
    assert out[props[3].id] == "awarded"
    said = {d.proposal_id: d.explanation for d in al.decisions(s, call)}
    assert "reject band: Not feasible this season." in said[props[0].id]
    assert "reserve list: Waits for a berth." in said[props[1].id]
    assert "accept band: Student training." in said[props[3].id]
    # a band taken back ("" ) restores the calibrated order for it
    tac.adjust(s, call, props[0], band="", reason="Feasible after all.")
    al.run_allocation(s, call)
    assert _outcomes(s, call)[props[0].id] == "awarded"


def test_the_preview_says_who_gains_who_loses_and_who_benefits(db: Session) -> None:
    s = db
    call, props, _ = _ranked(s)
    tac.adjust(s, call, props[3], move=3, reason="Unique timing window.")
    before = _counts(s)
    seen = tac.preview(s, call, frozenset())
    assert _counts(s) == before and al.decisions(s, call) == []  # nothing stored
    change = {x.proposal_id: x.change for x in seen.places}
    assert change == {
        props[0].id: "same",
        props[1].id: "loses",
        props[2].id: "same",
        props[3].id: "gains",
    }
    # every PI is Brazilian: the same awards by group, in each grouping
    groups = {(g.cut, g.group): (g.awards_before, g.awards_after) for g in seen.groups}
    assert groups[("income_group", "upper-middle")] == (2, 2)
    assert groups[("un_region", "Americas")] == (2, 2)
    assert groups[("ldc", "non-LDC")] == (2, 2)


def test_no_figures_about_the_teams_before_a_dual_anonymous_ranking_is_frozen(
    db: Session,
) -> None:
    s = db
    call, props, _ = _ranked(s)
    call.anonymity, call.ranking_frozen_at = "dual", None
    s.flush()
    with pytest.raises(DomainError, match="Freeze the ranking"):
        tac.preview(s, call, frozenset())
    # the list itself (codes and places, no team) is the chair's to change
    tac.adjust(s, call, props[3], move=1, reason="Rare target.")


@pytest.mark.parametrize(
    "kw, match",
    [
        ({"move": 1, "reason": "  "}, "needs a reason"),
        ({"move": 0, "reason": "x"}, "between 1 and 3"),
        ({"move": -4, "reason": "x"}, "between 1 and 3"),
        ({"band": "maybe", "reason": "x"}, "accept, reserve or reject"),
        ({"reason": "x"}, "either a move"),
        ({"move": 1, "band": "accept", "reason": "x"}, "either a move"),
        ({"move": 1, "reason": "y" * 2001}, "at most 2000"),
    ],
)
def test_bad_input_is_refused_and_changes_nothing(db: Session, kw: Any, match: str) -> None:
    s = db
    call, props, _ = _ranked(s)
    before = _counts(s)
    with pytest.raises(DomainError, match=match):
        tac.adjust(s, call, props[1], **kw)
    assert _counts(s) == before


def test_a_reason_naming_a_reviewer_or_another_proposal_is_refused(db: Session) -> None:
    s = db
    call, props, reviewers = _ranked(s)
    reviewer = next(u for u in reviewers if rq.assignments_of_call(s, call))
    before = _counts(s)
    for reason in (
        f"{reviewer.name} was too harsh",
        f"see the mail of {reviewer.email.upper()}",
        f"better than {props[0].code}",
    ):
        with pytest.raises(DomainError, match="name no reviewer and no other proposal"):
            tac.adjust(s, call, props[1], move=1, reason=reason)
    assert _counts(s) == before
    # its own code is no other proposal's
    tac.adjust(s, call, props[1], move=1, reason=f"{props[1].code} fills a gap")


def test_a_conflicted_chair_neither_sees_nor_moves_it(db: Session) -> None:
    s = db
    call, props, _ = _ranked(s)
    chair = F.user(s)
    s.add(
        Conflict(call_id=call.id, proposal_id=props[2].id, reviewer_id=chair.id, source="personal")
    )
    s.flush()
    before = _counts(s)
    with pytest.raises(DomainError, match="conflict of interest"):
        tac.adjust(s, call, props[2], move=1, reason="x", actor_id=chair.id)
    assert _counts(s) == before
    from opencall.reviews.policies import withheld

    hidden = withheld(s, chair, call)
    listed = tac.chair_list(s, call, hidden)
    assert props[2].id not in {x.proposal_id for x in listed.places}
    assert listed.left_out == 1
    # another member's change to it is not shown to the conflicted chair either
    tac.adjust(s, call, props[2], move=2, reason="Rare target.")
    assert tac.chair_list(s, call, hidden).adjustments == []
    seen = tac.preview(s, call, hidden)
    assert props[2].id not in {x.proposal_id for x in seen.places}
    assert sum(g.awards_after for g in seen.groups if g.cut == "ldc") == 1


def test_the_lock_and_the_phase(db: Session) -> None:
    s = db
    call, props, _ = _ranked(s)
    tac.lock(s, call)
    before = _counts(s)
    with pytest.raises(DomainError, match="locked"):
        tac.adjust(s, call, props[1], move=1, reason="x")
    with pytest.raises(DomainError, match="locked"):
        tac.lock(s, call)
    assert _counts(s) == before
    other, ps, _ = F.call_in_review(s, 2, 3)
    with pytest.raises(DomainError, match="in ranking or allocation"):
        tac.adjust(s, other, ps[0], move=1, reason="x")


def _web_world(web: Web) -> tuple[str, str, list[int], list[str]]:
    with web.factory() as s:
        call, props, reviewers = _ranked(s)
        chair = F.user(s, email=f"tac-{call.id}@example.org")
        people_services.grant_role(s, chair.id, "call_manager", provider_id=call.provider_id)
        s.commit()
        return call.slug, chair.email, [p.id for p in props], [u.name for u in reviewers]


def test_the_page_and_the_api(web: Web) -> None:
    slug, chair, ids, names = _web_world(web)
    c = web.login(chair)
    r = c.get(f"/manage/calls/{slug}/tac")
    assert r.status_code == 200 and f'id="t{ids[3]}"' in r.text
    t = csrf(c, f"/manage/calls/{slug}/tac")
    # without a reason: refused on the page, nothing kept
    r = c.post(
        f"/manage/calls/{slug}/tac/{ids[3]}",
        data={"csrf_token": t, "action": "move", "direction": "up", "places": "3", "reason": ""},
    )
    assert r.status_code == 400 and 'id="tac-error"' in r.text
    r = c.post(
        f"/manage/calls/{slug}/tac/{ids[3]}",
        data={"csrf_token": t, "action": "move", "direction": "up", "places": "x", "reason": "y"},
    )
    assert r.status_code == 400 and "whole number" in r.text
    r = c.post(
        f"/manage/calls/{slug}/tac/{ids[3]}",
        data={
            "csrf_token": t,
            "action": "move",
            "direction": "up",
            "places": "3",
            "reason": "Unique timing window.",
        },
    )
    assert r.status_code == 303
    r = c.get(f"/manage/calls/{slug}/tac?preview=1")
    assert r.status_code == 200
    assert 'class="change-gains"' in r.text and 'class="change-loses"' in r.text
    assert 'id="tac-groups"' in r.text and "Upper-middle income" in r.text
    assert "Unique timing window." in r.text
    # the same in French
    r = web.login(chair, "fr").get(f"/manage/calls/{slug}/tac?preview=1")
    assert "gagne de la capacité" in r.text
    h = token(web, chair)
    api = web.client()
    r = api.get(f"/api/v1/calls/{slug}/tac", headers=h)
    assert r.status_code == 200
    assert [x["proposal_id"] for x in r.json()["places"]] == [ids[i] for i in (3, 0, 1, 2)]
    r = api.post(
        f"/api/v1/calls/{slug}/tac/{ids[0]}", headers=h, json={"band": "bogus", "reason": "x"}
    )
    assert r.status_code == 422
    r = api.post(
        f"/api/v1/calls/{slug}/tac/{ids[0]}", headers=h, json={"move": 1, "reason": names[0]}
    )
    assert r.status_code == 400 and "no reviewer" in r.json()["detail"]
    r = api.post(
        f"/api/v1/calls/{slug}/tac/{ids[2]}",
        headers=h,
        json={"band": "reserve", "reason": "Waits a season."},
    )
    assert r.status_code == 200 and r.json()["places"][-1]["band"] == "reserve"
    r = api.get(f"/api/v1/calls/{slug}/tac/preview", headers=h)
    assert r.status_code == 200
    change = {x["proposal_id"]: x["change"] for x in r.json()["places"]}
    assert change[ids[3]] == "gains" and change[ids[1]] == "loses"
    r = api.post(f"/api/v1/calls/{slug}/tac/lock", headers=h)
    assert r.status_code == 200 and r.json()["locked_at"]
    r = api.post(f"/api/v1/calls/{slug}/tac/{ids[0]}", headers=h, json={"move": 1, "reason": "x"})
    assert r.status_code == 400 and "locked" in r.json()["detail"]
    r = c.get(f"/manage/calls/{slug}/tac")
    assert 'id="tac-locked"' in r.text and f'action="/manage/calls/{slug}/tac/' not in r.text
    # every change is on the call's audit log, which the provider's administrator reads
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        admin = F.user(s, email=f"admin-{call.id}@example.org")
        people_services.grant_role(s, admin.id, "provider_admin", provider_id=call.provider_id)
        s.commit()
    r = web.login(f"admin-{call.id}@example.org").get(f"/manage/calls/{slug}/audit")
    assert r.status_code == 200
    assert "TAC list changed (a move or a band)" in r.text and "TAC list locked" in r.text
    assert "Unique timing window." in r.text and "Waits a season." in r.text


def test_the_applicant_reads_the_reason_and_no_reviewer(web: Web) -> None:
    slug, chair, ids, names = _web_world(web)
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        p = s.get(Proposal, ids[3])
        assert p is not None
        tac.adjust(s, call, p, move=3, reason="Unique timing window.")
        al.run_allocation(s, call)
        al.release_decisions(s, call)
        pi = s.get(type(F.user(s)), p.pi_user_id)
        assert pi is not None
        email = pi.email
        s.commit()
    for lang, said in (("en", "moved it up 3 place(s)"), ("es", "lo subió 3 puesto(s)")):
        r = web.login(email, lang).get(f"/proposals/{ids[3]}/outcome")
        assert r.status_code == 200 and said in r.text and "Unique timing window." in r.text
        assert not any(n in r.text for n in names)


def test_a_conflicted_chair_is_refused_on_the_page(web: Web) -> None:
    slug, chair, ids, _names = _web_world(web)
    with web.factory() as s:
        call = s.scalars(select(Call).where(Call.slug == slug)).one()
        u = user_by_email(s, chair)
        assert u is not None
        s.add(Conflict(call_id=call.id, proposal_id=ids[1], reviewer_id=u.id, source="personal"))
        code = s.get(Proposal, ids[1]).code  # type: ignore[union-attr]
        s.commit()
    c = web.login(chair)
    r = c.get(f"/manage/calls/{slug}/tac?preview=1")
    assert r.status_code == 200 and f'id="t{ids[1]}"' not in r.text and code not in r.text
    t = csrf(c, f"/manage/calls/{slug}/tac")
    r = c.post(
        f"/manage/calls/{slug}/tac/{ids[1]}",
        data={"csrf_token": t, "action": "band", "band": "accept", "reason": "Strong."},
    )
    assert r.status_code == 404
    r = web.client().post(
        f"/api/v1/calls/{slug}/tac/{ids[1]}",
        headers=token(web, chair),
        json={"band": "accept", "reason": "Strong."},
    )
    assert r.status_code == 404
    with web.factory() as s:
        assert s.scalar(select(func.count()).select_from(TacAdjustment)) == 0


def test_the_migration_goes_down_and_up(engine: Engine) -> None:
    try:
        migrate.downgrade(engine, "trialfac17_01")
        names = set(inspect(engine).get_table_names())
        assert "tac_adjustments" not in names and "tac_locks" not in names
        migrate.upgrade(engine)
        names = set(inspect(engine).get_table_names())
        assert {"tac_adjustments", "tac_locks"} <= names
    finally:
        migrate.upgrade(engine)
