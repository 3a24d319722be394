"""Who may do what in the review engine: one function per question.

A "no" is answered 404 by the routes (existence does not leak). Identities of
a team are hidden from reviewers in a dual-anonymous call on every page, file
name, e-mail and API response; the chair sees them only once the ranking is
frozen (``Call.ranking_frozen_at``), as ESO does; the user office
(provider_admin, call_manager) handles eligibility and always sees them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Select, or_, select, union
from sqlalchemy.orm import Session, lazyload

from opencall.auditlog import AuditEvent
from opencall.calls.models import Call
from opencall.calls.policies import may_administer as may_administer  # one rule, in calls
from opencall.calls.policies import may_manage_call
from opencall.calls.schemas import review_settings
from opencall.db import utcnow
from opencall.errors import DomainError
from opencall.people.domain import mailbox_key
from opencall.people.models import Country, User
from opencall.people.queries import has_role
from opencall.proposals.models import Proposal, TeamMember
from opencall.proposals.policies import require_not_on_team
from opencall.reviews import queries as q
from opencall.reviews.domain import conflict_sources
from opencall.reviews.models import Conflict, ReviewAssignment
from opencall.reviews.queries import revision as revision  # the views read it from here
from opencall.web.i18n import N_, country_name

ACTIVE = ("assigned", "accepted", "submitted")
#: what a listing shows of a proposal :func:`withheld` from its reader, where its row stays
MSG_WITHHELD = N_("Conflicted: handled by another member of the call's staff.")
REVIEW_STATES = ("closed", "review")


def may_chair(session: Session, user: User | None, call: Call) -> bool:
    """Run the cycle's steps, edit the assignment, see the ranking, override, release."""
    return may_manage_call(session, user, call)


def may_see_identities(session: Session, user: User | None, call: Call) -> bool:
    """Team names, institutions and countries, for the people who run the call."""
    if not may_chair(session, user, call):
        return False
    if call.anonymity != "dual" or call.ranking_frozen_at is not None:
        return True
    return may_administer(session, user, call)


def withheld_query(user: User | None, call: Call) -> Select[tuple[int]]:
    """The ids of the proposals of ``call`` whose review ``user`` may not see although
    they run the call: those whose team they joined (an accepted member, the PI
    included) and those they have a recorded conflict with. Such a chair or call
    manager "leaves the room": the staff listings of the call (assignment, ranking,
    conflicts, decisions, audit log; pages, CSV and API) leave out these proposals'
    reviewers, reviews, grades and conflicts (the proposal itself and its outcome
    stay), and another member of the call's staff handles them (:func:`require_hands_off`)."""
    uid = user.id if user is not None else -1
    on_team = (
        select(TeamMember.proposal_id)
        .join(Proposal, Proposal.id == TeamMember.proposal_id)
        .where(
            Proposal.call_id == call.id,
            TeamMember.user_id == uid,
            TeamMember.status == "accepted",
        )
    )
    conflicted = select(Conflict.proposal_id).where(
        Conflict.call_id == call.id, Conflict.reviewer_id == uid
    )
    return select(union(on_team, conflicted).subquery().c[0])


def require_hands_off(session: Session, proposal: Proposal, actor_id: int | None) -> None:
    """Refuse a staff decision on ``proposal`` (its reviewers chosen or removed by hand,
    an override, a resolution) by an account it is withheld from (:func:`withheld_query`):
    one on its team (:func:`opencall.proposals.policies.require_not_on_team`) or with a
    recorded conflict of interest with it. The refusal is the same whatever else the
    request names, so that it tells nothing of the withheld reviewers."""
    require_not_on_team(proposal, actor_id)
    if actor_id is None:
        return
    conflicted = session.scalar(
        select(Conflict.id)
        .where(Conflict.proposal_id == proposal.id, Conflict.reviewer_id == actor_id)
        .limit(1)
    )
    if conflicted is not None:
        raise DomainError(
            "You have a recorded conflict of interest with this proposal: another member "
            "of the call's staff decides on it.",
            code="own_proposal",
        )


def withheld(session: Session, user: User | None, call: Call) -> frozenset[int]:
    """:func:`withheld_query` as a set, for the pages that filter rows in Python."""
    if user is None:
        return frozenset()
    return frozenset(session.scalars(withheld_query(user, call)))


def withheld_outcome_query(user: User | None, call: Call) -> Select[tuple[int]] | None:
    """The proposals :func:`withheld_query` from ``user`` whose outcome is withheld too:
    until the decisions are released, their outcome, priority, award, counted reviews
    and resolution (they follow from the review) are not shown to the reader (None once
    released: the team is told the outcome then anyway)."""
    return withheld_query(user, call) if call.decisions_released_at is None else None


def withheld_outcome(session: Session, user: User | None, call: Call) -> frozenset[int]:
    """:func:`withheld_outcome_query` as a set."""
    if withheld_outcome_query(user, call) is None:
        return frozenset()
    return withheld(session, user, call)


def visible_events(
    session: Session, user: User | None, call: Call, events: list[AuditEvent]
) -> list[AuditEvent]:
    """The audit events of ``call`` less those of a proposal :func:`withheld` from
    ``user`` (its reviewers, reviews, conflicts and decisions, who did them and why)."""
    hidden = withheld(session, user, call)
    if not hidden:
        return events
    of_hidden = {
        str(i)
        for i in session.scalars(
            select(ReviewAssignment.id).where(
                ReviewAssignment.call_id == call.id, ReviewAssignment.proposal_id.in_(hidden)
            )
        )
    }
    hidden_ids = {str(i) for i in hidden}
    return [
        e
        for e in events
        if not (e.entity == "proposal" and e.entity_id in hidden_ids)
        and not (e.entity == "review_assignment" and e.entity_id in of_hidden)
    ]


def reviewer_sees_team(call: Call) -> bool:
    return call.anonymity != "dual"


def may_open_assignment(session: Session, user: User | None, a: ReviewAssignment) -> bool:
    """The assigned reviewer, while the assignment is active and the pair is not conflicted."""
    return (
        user is not None
        and a.reviewer_id == user.id
        and a.status in ACTIVE
        and not q.is_conflicted(session, a.proposal_id, user.id)
    )


def taken_from(session: Session, user: User | None, a: ReviewAssignment | None) -> bool:
    """Whether ``a`` was ``user``'s and no longer is theirs to open (the chair removed it,
    a conflict was recorded, they declined): their own save of it is told so, not 404."""
    return (
        a is not None
        and user is not None
        and a.reviewer_id == user.id
        and not may_open_assignment(session, user, a)
    )


def may_write_review(session: Session, user: User | None, a: ReviewAssignment) -> bool:
    return (
        may_open_assignment(session, user, a)
        and a.status in ("assigned", "accepted")
        and session.get(Call, a.call_id) is not None
    )


def is_technical_reviewer(session: Session, user: User | None, call: Call) -> bool:
    if user is None:
        return False
    return has_role(
        session, user.id, ("technical_reviewer",), provider_id=call.provider_id, call_id=call.id
    )


def may_technical_review(session: Session, user: User | None, call: Call) -> bool:
    return is_technical_reviewer(session, user, call) and call.status in (
        "closed",
        "review",
        "ranking",
    )


TECHNICAL_STATES = ("closed", "review", "ranking")
#: a safety review is written or changed until the decisions are released (trialfac24):
#: an approval the release waits for is given while the call is in allocation or
#: scheduling (the states the decisions are released in)
SAFETY_STATES = (*TECHNICAL_STATES, "allocation", "scheduling")


def may_safety_review(session: Session, user: User | None, call: Call) -> bool:
    """The call's safety officer (its technical reviewers) reviews the samples of its
    proposals, in a call with a safety review, until the decisions are released."""
    return (
        call.status in SAFETY_STATES
        and call.decisions_released_at is None
        and review_settings(call.review_settings).safety_review
        and is_technical_reviewer(session, user, call)
    )


def safety_review_proposal(
    session: Session, user: User | None, proposal_id: int
) -> Proposal | None:
    """The proposal under review whose samples ``user`` may review for safety, or None:
    not their own, nor one they are conflicted with (as a technical reviewer)."""
    p = session.get(Proposal, proposal_id)
    if (
        p is None
        or user is None
        or p.status not in q.REVIEWABLE
        or not may_safety_review(session, user, p.call)
        or on_team(user, p)
        or p.id in conflicted_proposal_ids(session, user, [p])
    ):
        return None
    return p


def technical_review_calls_of(
    session: Session, user: User | None, states: tuple[str, ...] = TECHNICAL_STATES
) -> list[Call]:
    """The calls of the site this person may technically review now, by id: only those
    with their grant and in a state of technical review (``states``) are read (the
    reviewer's page read every call of the site, each with its resources: scale18),
    without their resources; :func:`technical_review_calls` decides."""
    if user is None:
        return []
    from opencall.people.models import RoleGrant

    granted = select(RoleGrant.call_id, RoleGrant.provider_id).where(
        RoleGrant.user_id == user.id, RoleGrant.role == "technical_reviewer"
    )
    stmt = (
        select(Call)
        .where(
            Call.status.in_(states),
            or_(
                Call.id.in_(granted.with_only_columns(RoleGrant.call_id)),
                Call.provider_id.in_(granted.with_only_columns(RoleGrant.provider_id)),
            ),
        )
        .order_by(Call.id)
        .options(lazyload(Call.pools))
    )
    return technical_review_calls(session, user, list(session.scalars(stmt)), states)


def safety_review_calls_of(session: Session, user: User | None) -> list[Call]:
    """The calls whose proposals' samples this person may review for safety now (what
    :func:`may_safety_review` says of each): the reviewer's page links their lists."""
    return [
        c
        for c in technical_review_calls_of(session, user, SAFETY_STATES)
        if c.decisions_released_at is None and review_settings(c.review_settings).safety_review
    ]


def technical_review_calls(
    session: Session,
    user: User | None,
    calls: list[Call],
    states: tuple[str, ...] = TECHNICAL_STATES,
) -> list[Call]:
    """The calls of ``calls`` this person may technically review now (in ``states``):
    what :func:`may_technical_review` says of each, from one query of their grants."""
    if user is None or not calls:
        return []
    from opencall.people.models import RoleGrant

    grants = session.execute(
        select(RoleGrant.call_id, RoleGrant.provider_id).where(
            RoleGrant.user_id == user.id, RoleGrant.role == "technical_reviewer"
        )
    ).all()
    on_calls = {g.call_id for g in grants if g.call_id is not None}
    on_providers = {g.provider_id for g in grants if g.provider_id is not None}
    return [
        c
        for c in calls
        if (c.id in on_calls or c.provider_id in on_providers) and c.status in states
    ]


def conflicted_proposal_ids(session: Session, user: User, proposals: list[Proposal]) -> set[int]:
    """The proposals this person may not judge, by the rule panel reviewers are held to
    (team, institution, declared co-authorship or personal relation), evaluated now
    (so it holds before the chair's conflicts step has run, and for roles granted
    since), plus every stored conflict (declared by the person or computed)."""
    if not proposals:
        return set()
    from opencall.people.models import Institution

    stored = {
        pid
        for (pid,) in session.execute(
            select(Conflict.proposal_id).where(
                Conflict.reviewer_id == user.id,
                Conflict.proposal_id.in_([p.id for p in proposals]),
            )
        )
    }
    person = q.person_facts(user, q.publications_by_user(session, [user.id]).get(user.id, ()))
    relations = q.relations(session, about=[user])
    contents = q.revision_contents(session, proposals)  # one read, not two a proposal
    inst_ids = {
        t.get("institution_id")
        for p in proposals
        for t in contents[p.id].get("team", [])
        if t.get("institution_id")
    } | {m.institution_id for p in proposals for m in p.members if m.institution_id}
    insts = (
        {i.id: i for i in session.scalars(select(Institution).where(Institution.id.in_(inst_ids)))}
        if inst_ids
        else {}
    )
    out = set(stored)
    for p in proposals:
        rs = review_settings(p.call.review_settings)
        team = q.team_facts(p, contents[p.id], insts)
        if conflict_sources(
            person, team, relations, coauthor_years=rs.coauthor_years, year=utcnow().year
        ):
            out.add(p.id)
    return out


def on_team(user: User, proposal: Proposal) -> bool:
    """Whether ``user`` is on the proposal's team (by account or by e-mail)."""
    key = mailbox_key(user.email)  # an alias of its mailbox too (trialcrowd17)
    return any(m.user_id == user.id or mailbox_key(m.email) == key for m in proposal.members)


def may_technical_review_proposal(session: Session, user: User | None, proposal: Proposal) -> bool:
    """A technical reviewer judges no proposal they are on or conflicted with: the same
    conflicts as panel reviewers (team, institution, co-authorship, declared)."""
    return (
        user is not None
        and may_technical_review(session, user, proposal.call)
        and not on_team(user, proposal)
        and proposal.id not in conflicted_proposal_ids(session, user, [proposal])
    )


def technical_review_blocked(session: Session, user: User, call: Call) -> set[int]:
    """The ids of the proposals under review of ``call`` that ``user`` may not assess
    technically: their own and those they are conflicted with (the conflicts evaluated
    once for the whole call): the proposals that share a fact with them are found in the
    database (:func:`opencall.reviews.queries.conflict_candidates`) and only those are
    read and checked by the rule, not every proposal of the call."""
    person = q.person_facts(user, q.publications_by_user(session, [user.id]).get(user.id, ()))
    ids = q.conflict_candidates(session, call, person, q.relations(session, about=[user]))
    if not ids:
        return set()
    candidates = list(
        session.scalars(select(Proposal).where(Proposal.id.in_(sorted(ids))).order_by(Proposal.id))
    )
    blocked = conflicted_proposal_ids(session, user, candidates)
    return blocked | {p.id for p in candidates if on_team(user, p)}


def technical_review_query(session: Session, user: User, call: Call) -> Select[Proposal]:
    """The proposals under review of ``call`` that ``user`` may assess technically, by
    id, as a query (to read a page of them in the database). The caller has checked
    :func:`may_technical_review`."""
    blocked = technical_review_blocked(session, user, call)
    return (
        select(Proposal)
        .where(
            Proposal.call_id == call.id,
            Proposal.status.in_(q.REVIEWABLE),
            Proposal.id.not_in(sorted(blocked)),
        )
        .order_by(Proposal.id)
    )


def technical_review_proposal(
    session: Session, user: User | None, proposal_id: int
) -> Proposal | None:
    """The proposal under review that ``user`` may assess technically, or None."""
    p = session.get(Proposal, proposal_id)
    if (
        p is None
        or p.status not in q.REVIEWABLE
        or not may_technical_review_proposal(session, user, p)
    ):
        return None
    return p


def anonymised(content: dict[str, Any], *, show_team: bool) -> dict[str, Any]:
    """A frozen revision as a reviewer sees it: no e-mails or institution ids ever;
    in a dual-anonymous call no team at all, and attachments without their file names."""
    out = dict(content)
    team = [] if not show_team else [dict(t) for t in content.get("team", [])]
    for t in team:
        t.pop("email", None)
        t.pop("institution_id", None)
    out["team"] = team
    out["attachments"] = [
        {"pages": a.get("pages", 0), "purpose": a.get("purpose", "")}
        for a in content.get("attachments", [])
    ]
    return out


def reviewer_content(session: Session, proposal: Proposal) -> dict[str, Any]:
    return anonymised(q.revision(session, proposal), show_team=reviewer_sees_team(proposal.call))


def identity(session: Session, lang: str, proposal: Proposal) -> dict[str, str]:
    """The PI's name, institution and country: only where ``may_see_identities``."""
    return identities(session, lang, [proposal])[proposal.id]


def identities(
    session: Session, lang: str, proposals: Sequence[Proposal]
) -> dict[int, dict[str, str]]:
    """:func:`identity` of each proposal, by id, with the PIs' countries read in one
    query (a list's rows looked each up: a query a row)."""
    pis = {p.id: p.pi_member for p in proposals}
    isos = {m.country_iso3 for m in pis.values() if m is not None and m.country_iso3}
    countries = (
        {c.iso3: c for c in session.scalars(select(Country).where(Country.iso3.in_(isos)))}
        if isos
        else {}
    )
    out = {}
    for pid, pi in pis.items():
        if pi is None:
            out[pid] = {"pi": "", "institution": "", "country": ""}
            continue
        country = countries.get(pi.country_iso3) if pi.country_iso3 else None
        out[pid] = {
            "pi": pi.name,
            "institution": pi.institution_name,
            "country": country_name(lang, country.iso2, country.name) if country else "",
        }
    return out
