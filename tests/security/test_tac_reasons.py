"""A TAC chair's reason that names another applicant (trialcrowd19). The applicant reads
the chair's reason in their decision's explanation, so a reason naming a reviewer or
another proposal's code is refused (trialtac18); but one naming another proposal's PI or
co-applicant (their name or e-mail) or its title went through, and the applicant read who
else applied and with what ("moved above Dr. X's proposal"). Now those are refused too,
saying neither which, where the chair may see the teams (not in a dual-anonymous call
before its ranking is frozen, where the refusal would tell the chair who applied)."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.allocation import tac
from opencall.allocation.models import TacAdjustment
from opencall.errors import DomainError
from opencall.proposals.models import TeamMember
from tests.allocation.test_tac import _ranked


def _team(s: Session, pid: int) -> list[TeamMember]:
    return list(s.scalars(select(TeamMember).where(TeamMember.proposal_id == pid)))


def _kept(s: Session) -> int:
    return s.scalar(select(func.count(TacAdjustment.id))) or 0


def test_a_reason_naming_another_applicant_or_title_is_refused(db: Session) -> None:
    s = db
    call, props, _ = _ranked(s)
    other = _team(s, props[0].id)[0]
    props[0].title = "Seasonal soil carbon fluxes in tropical dry forests"
    s.flush()
    before = _kept(s)
    for reason in (
        f"stronger than the work of {other.name}",
        f"see {other.email.upper()}",
        "ranked just above Seasonal soil carbon fluxes in tropical dry forests",
    ):
        with pytest.raises(DomainError, match="name no reviewer and no other proposal"):
            tac.adjust(s, call, props[1], move=1, reason=reason)
    assert _kept(s) == before
    # its own team and title are no other proposal's
    own = _team(s, props[1].id)[0]
    tac.adjust(s, call, props[1], move=1, reason=f"{own.name}'s lab fills a gap")
    assert _kept(s) == before + 1


def test_a_dual_anonymous_call_before_the_freeze_tells_no_team(db: Session) -> None:
    s = db
    call, props, _ = _ranked(s)
    call.anonymity, call.ranking_frozen_at = "dual", None
    s.flush()
    other = _team(s, props[0].id)[0]
    # the refusal would tell the chair that this person applied: the teams are hidden
    tac.adjust(s, call, props[1], move=1, reason=f"stronger than the work of {other.name}")
