"""The TAC chair's work after the grades (trialtac18): move a proposal of the calibrated
ranked list up or down, or set it in a band (accept, reserve, reject), each change with a
reason that is audited and that the applicant reads in the decision's explanation; preview
what the chair's order does to the allocation (who gains and who loses capacity, and the
who-benefits figures by income group, UN region and LDC status); lock the list.

A chair withheld from a proposal (their team's, a recorded conflict) neither sees it here
nor moves it (``reviews.policies.require_hands_off``); the reasons may name no reviewer of
the call and no other proposal (its code, its title, a member of its team), since the
applicant reads them. The allocation reads the
chair's order through ``allocation.tac_order`` (also when run as the cycle's step)."""

from __future__ import annotations

import dataclasses
import threading
from collections import OrderedDict
from collections.abc import Collection, Hashable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall import auditlog
from opencall.allocation import preview_solves, services, tac_order
from opencall.allocation.models import TAC_BANDS, Decision, TacAdjustment, TacLock
from opencall.allocation.reasons import require_clean
from opencall.calls.models import Call
from opencall.calls.schemas import review_settings
from opencall.errors import DomainError
from opencall.optim.messages import M_, filled, render
from opencall.people.queries import countries_named
from opencall.proposals.models import Proposal
from opencall.proposals.services import lock_call_for_close
from opencall.reviews import queries as rq
from opencall.reviews.policies import require_hands_off
from opencall.reviews.services import ranking_is_current

#: the call states in which the chair changes the list (after the grades, before the release)
TAC_STATES = ("ranking", "allocation")
MAX_REASON = 2000
#: the time each of the preview's two solves may take
PREVIEW_TIME_LIMIT_S = 20.0


def _lock_call(session: Session, call: Call) -> None:
    """Serialise a change, the lock and the release of ``call`` (the release takes the
    same lock): the call's row, exclusively, until the commit; then re-read what
    :func:`_require_open` checks, so that a change checked before a lock or a release that
    committed first is refused rather than landing after it."""
    session.flush()
    lock_call_for_close(session, call)
    session.refresh(call, ["decisions_released_at"])


def version(session: Session, call: Call) -> int:
    """The version of ``call``'s list: the number of changes made to it. A move counts
    places in the list as it stands, so a change is refused when the list changed since
    its author read it (``seen``, :func:`adjust`): two chairs at once never move a
    proposal by places that are no longer the ones they saw."""
    n = session.scalar(
        select(func.count()).select_from(TacAdjustment).where(TacAdjustment.call_id == call.id)
    )
    return int(n or 0)


def _require_reason(reason: str) -> str:
    said = reason.strip()
    if not said:
        raise DomainError("Every change to the list needs a reason.", field="reason")
    if len(said) > MAX_REASON:
        raise DomainError(
            "A reason is at most %(n)s characters long.", field="reason", n=MAX_REASON
        )
    return said


def _require_open(session: Session, call: Call) -> None:
    if call.status not in TAC_STATES:
        raise DomainError(
            "The TAC chair changes the ranked list while the call is in ranking or allocation."
        )
    if call.decisions_released_at is not None:
        raise DomainError("Decisions were already released; the list can no longer change.")
    if tac_order.lock_of(session, call) is not None:
        raise DomainError("The TAC list of this call is locked.")


def adjust(
    session: Session,
    call: Call,
    proposal: Proposal,
    *,
    move: int | None = None,
    band: str | None = None,
    reason: str,
    actor_id: int | None = None,
    seen: int | None = None,
) -> TacAdjustment:
    """Move ``proposal`` ``move`` places up (down when negative), or set it in ``band``
    ("" takes it out of its band), with ``reason``; audited as ``tac.adjusted``. Every
    input is checked before anything is written. ``seen``: the :func:`version` of the
    list its author read (None: not checked); refused when the list changed since.
    Changes to one call's list are made one at a time (its row locked)."""
    require_hands_off(session, proposal, actor_id)
    _lock_call(session, call)
    _require_open(session, call)
    if seen is not None and seen != version(session, call):
        raise DomainError(
            "The list changed since you read it (another change was made); read it again "
            "and make your change on the list as it stands now.",
            code="conflict",
        )
    ranked = [r.proposal_id for r in rq.ranking(session, call)]
    if proposal.call_id != call.id or proposal.id not in ranked:
        raise DomainError("This proposal is not in the call's ranked list.")
    if (move is None) == (band is None):
        raise DomainError("Give either a move (places up or down) or a band.", field="move")
    if move is not None and (move == 0 or abs(move) >= len(ranked)):
        raise DomainError(
            "A move is a number of places up (or down, negative) between 1 and %(n)s.",
            field="move",
            n=max(len(ranked) - 1, 1),
        )
    if band is not None and band not in (*TAC_BANDS, ""):
        raise DomainError("A band is accept, reserve or reject (or none).", field="band")
    said = _require_reason(reason)
    require_clean(session, call, proposal, said)
    row = TacAdjustment(
        call_id=call.id,
        proposal_id=proposal.id,
        kind="move" if move is not None else "band",
        steps=move or 0,
        band=band or "",
        reason=said,
        actor_id=actor_id,
    )
    session.add(row)
    session.flush()
    auditlog.record(
        session,
        "tac.adjusted",
        "proposal",
        proposal.id,
        actor_id=actor_id,
        call_id=call.id,
        reason=said,
        data={"kind": row.kind, "steps": row.steps, "band": row.band},
    )
    return row


def lock(session: Session, call: Call, *, actor_id: int | None = None) -> TacLock:
    """Lock the chair's list: no more moves or bands (audited as ``tac.locked``)."""
    _lock_call(session, call)
    _require_open(session, call)
    if not rq.ranking(session, call):
        raise DomainError("Calibrate and rank the proposals before locking the list.")
    row = TacLock(call_id=call.id, locked_by=actor_id)
    session.add(row)
    session.flush()
    auditlog.record(
        session,
        "tac.locked",
        "call",
        call.id,
        actor_id=actor_id,
        call_id=call.id,
        data={"adjustments": len(tac_order.adjustments(session, call))},
    )
    return row


def unlock(session: Session, call: Call, *, reason: str, actor_id: int | None = None) -> None:
    """Reopen a locked list (the user office, ``policies.may_unlock_list``), with a reason
    kept on the audit log (``tac.unlocked``, with who locked it and when); refused once
    the decisions are released: what the applicants read no longer changes."""
    said = _require_reason(reason)
    _lock_call(session, call)
    if call.decisions_released_at is not None:
        raise DomainError("Decisions were already released; the list can no longer change.")
    row = tac_order.lock_of(session, call)
    if row is None:
        raise DomainError("The TAC list of this call is not locked.")
    locked = {"locked_at": row.locked_at.isoformat(), "locked_by": row.locked_by}
    session.delete(row)
    session.flush()
    auditlog.record(
        session, "tac.unlocked", "call", call.id,
        actor_id=actor_id, call_id=call.id, reason=said, data=locked,
    )  # fmt: skip


#: the sentence the applicant whose reserve proposal is offered freed capacity reads
RESERVE_OFFERED = M_(
    "offered capacity that a declined award freed, as the first proposal of the TAC "
    "chair's reserve list that fits in it: %(reason)s"
)


def offer_reserve(session: Session, call: Call, *, actor_id: int | None = None) -> services.Offer:
    """Offer the capacity freed by a declined award to the first proposal of the chair's
    reserve list, in the chair's order, whose whole award fits in what the call's awards
    leave free (``services.next_in_line``: the override's capacity check, never
    overdrawing a pool). Its decision becomes awarded, explained by the chair's reason for
    the reserve band; audited as ``decision.offered`` and ``tac.reserve_offered`` (with
    the reserve proposals passed over as too large). The caller mails its team.

    The rule when none fits: refused, nothing changes; the capacity stays free for an
    offer by hand to a smaller proposal next in line. A member withheld from the first
    fitting proposal (their team's, a recorded conflict) is refused without being told
    which: it is not passed over for the next one."""
    _lock_call(session, call)
    if (
        call.decisions_released_at is None
        or call.status == "archived"
        or not services.declines(session, call)
    ):
        raise DomainError(
            "An offer to the next in line follows a declined award of a released call."
        )
    rows = tac_order.adjustments(session, call)
    order, band = tac_order.chair_order([r.proposal_id for r in rq.ranking(session, call)], rows)
    declined = {x.proposal_id for x in services.declines(session, call)}
    waiting = set(
        session.scalars(
            select(Decision.proposal_id).where(
                Decision.call_id == call.id, Decision.outcome.in_(services.OFFERABLE)
            )
        )
    )
    reserve = {
        pid for pid, b in band.items() if b == "reserve" and pid in waiting and pid not in declined
    }
    if not reserve:
        raise DomainError("The TAC list has no proposal on the reserve list waiting for an offer.")
    line = [(p, shares) for _rank, p, shares in services.next_in_line(session, call)]
    fitting = [p for p, _shares in line if p.id in reserve]
    if not fitting:
        raise DomainError(
            "No proposal of the reserve list fits in the capacity free now: the capacity "
            "stays free; offer it by hand to a proposal next in line that fits, or leave it."
        )
    first = fitting[0]
    try:
        require_hands_off(session, first, actor_id)
    except DomainError:
        raise DomainError(
            "The next proposal of the reserve list is withheld from you (your team's, or "
            "a recorded conflict): another member of the call's staff makes this offer."
        ) from None
    why = next(a.reason for a in reversed(rows) if a.proposal_id == first.id and a.kind == "band")
    done = services.offer(
        session,
        call,
        first,
        reason=why,
        actor_id=actor_id,
        explain=filled(RESERVE_OFFERED, reason=why),
    )
    # the reserve proposals before it in the chair's order: passed over, too large
    ahead = [pid for pid in order[: order.index(first.id)] if pid in reserve]
    auditlog.record(
        session,
        "tac.reserve_offered",
        "proposal",
        first.id,
        actor_id=actor_id,
        call_id=call.id,
        reason=why,
        data={"proposal_id": first.id, "passed_over": ahead},
    )
    return done


@dataclass(frozen=True)
class Place:
    """One proposal of the list: its place in the calibrated and in the chair's order,
    its band, and (in a preview) what the allocation awards it in each (pool id: amount)."""

    proposal_id: int
    calibrated: int
    chair: int
    band: str = ""
    before: dict[int, float] = field(default_factory=dict)
    after: dict[int, float] = field(default_factory=dict)
    #: the first and last calibrated place of the proposals tied with it on the score
    #: (None: not tied); the calibration orders a tie by the mean of the raw grades
    tie: tuple[int, int] | None = None

    @property
    def change(self) -> str:
        """ "gains", "loses", "shifts" (the same amount, of other resources) or "same"
        capacity under the chair's order."""
        pools = set(self.before) | set(self.after)
        delta = sum(self.after.get(p, 0.0) - self.before.get(p, 0.0) for p in pools)
        if delta > 1e-6:
            return "gains"
        if delta < -1e-6:
            return "loses"
        moved = any(abs(self.after.get(p, 0.0) - self.before.get(p, 0.0)) > 1e-6 for p in pools)
        return "shifts" if moved else "same"


@dataclass(frozen=True)
class GroupFigure:
    """Who benefits, before and after the chair's changes: the awards (proposals awarded)
    and the amount of the call's first resource (and those of its type and unit) to one
    group of one grouping (``income_group``, ``un_region``, ``ldc``)."""

    cut: str
    group: str
    awards_before: int
    awards_after: int
    amount_before: float
    amount_after: float


@dataclass(frozen=True)
class ChairList:
    places: list[Place]
    locked: TacLock | None
    adjustments: list[TacAdjustment]
    groups: list[GroupFigure] = field(default_factory=list)
    #: the pool whose unit the groups' amounts are in (None: no preview)
    unit_pool_id: int | None = None
    #: proposals withheld from the reader, left out of the rows and of the figures
    left_out: int = 0


def chair_list(session: Session, call: Call, hidden: Collection[int]) -> ChairList:
    """The list as the chair sees it (none of ``hidden``): each proposal's place in the
    calibrated order and in theirs, its band, and their changes so far."""
    rs = review_settings(call.review_settings)
    ranked = rq.ranking(session, call)
    merit = services.allocation_merit(session, call, ranked, rs) if ranked else {}
    before = tac_order.calibrated_order(
        merit, rs.lower_is_better, {r.proposal_id: r.rank for r in ranked}
    )
    tied = tac_order.ties(merit, before)
    rows = tac_order.adjustments(session, call)
    after, band = tac_order.chair_order(before, rows)
    at = {pid: i + 1 for i, pid in enumerate(after)}
    places = [
        Place(pid, i + 1, at[pid], band.get(pid, ""), tie=tied.get(pid))
        for i, pid in enumerate(before)
        if pid not in hidden
    ]
    places.sort(key=lambda x: x.chair)
    return ChairList(
        places=places,
        locked=tac_order.lock_of(session, call),
        adjustments=[a for a in rows if a.proposal_id not in hidden],
        left_out=sum(1 for pid in before if pid in hidden),
    )


#: the preview's solves of the problems seen lately, in this process (each web worker keeps
#: its own): {(database, digest of the call, seed and whole problem): awards by proposal};
#: the solves shared by the workers are in the database (``preview_solves``).
#: A problem that differs in anything (a move, a grade, a pool, the policy) is a new key,
#: so what is kept is what solving it again would give; the calibrated order's problem
#: does not change with the chair's moves, so a preview after a move solves one problem.
_SOLVED: OrderedDict[Hashable, dict[int, dict[int, float]]] = OrderedDict()
_SOLVED_LOCK = threading.Lock()
_SOLVED_SIZE = 16


def chair_problem(session: Session, call: Call, problem: Any, meta: dict[str, Any]) -> Any:
    """The allocation problem in the chair's order, from ``problem`` built in the calibrated
    order (``services.build_problem(..., chair_order=False)``): the same requests with the
    scores handed out by place in the chair's order and those set aside by a band
    infeasible with the chair's sentence, which is what ``build_problem`` builds in the
    chair's order (tests/allocation/test_tac_reserve.py checks they are equal), without
    reading every proposal again. ``problem`` itself when the chair made no change."""
    rs = review_settings(call.review_settings)
    ranked = rq.ranking(session, call)
    merit = services.allocation_merit(session, call, ranked, rs)
    chair, set_aside = tac_order.chair_merit(
        session, call, merit, rs.lower_is_better, {r.proposal_id: r.rank for r in ranked}
    )
    if chair is merit and not set_aside:
        return problem
    requests = []
    for r in problem.requests:
        pid = int(r.proposal_id)
        kw: dict[str, Any] = {"merit": float(chair[pid])}
        why = set_aside.get(pid)
        # (a FAST request whose targets are never visible says so whatever the band)
        if why is not None and not (meta["kind"][r.id] == "fast" and not r.demand):
            kw.update(feasible=False, infeasible_reason=render(why), infeasible_message=why)
        requests.append(dataclasses.replace(r, **kw))
    return dataclasses.replace(problem, requests=tuple(requests))


def _awarded(
    session: Session, call: Call, problem: Any, meta: dict[str, Any], *, seed: int, reuse: bool
) -> dict[int, dict[int, float]]:
    """What the allocation awards each proposal in ``problem`` (pool id: amount). With
    ``reuse``, a solve kept in this process (``_SOLVED``) or in the database
    (``preview_solves.shared``: one solve of a problem for all the views at once, in every
    worker) answers; without, it is solved here."""
    from opencall.optim import allocation as al

    def solve() -> dict[int, dict[int, float]]:
        res = al.solve_allocation(problem, seed=seed, time_limit_s=PREVIEW_TIME_LIMIT_S)
        out: dict[int, dict[int, float]] = {}
        for rid, per_pool in res.amounts.items():
            pid = meta["index"][rid][0]
            for name, amount in per_pool.items():
                if amount > 1e-9:
                    pool = meta["pool_id"][name]
                    out.setdefault(pid, {})
                    out[pid][pool] = out[pid].get(pool, 0.0) + float(amount)
        return out

    if not reuse:
        return solve()
    url = session.connection().engine.url.render_as_string(hide_password=True)
    digest = preview_solves.digest(call.id, seed, problem, meta["index"], meta["pool_id"])
    key = (url, digest)
    with _SOLVED_LOCK:
        kept = _SOLVED.get(key)
        if kept is not None:
            _SOLVED.move_to_end(key)
            return kept
    out = preview_solves.shared(session, call.id, digest, solve)
    with _SOLVED_LOCK:
        _SOLVED[key] = out
        while len(_SOLVED) > _SOLVED_SIZE:
            _SOLVED.popitem(last=False)
    return out


def _problem(session: Session, call: Call, *, seed: int, chair_order: bool) -> tuple[Any, Any]:
    from opencall.optim import allocation as al

    try:
        return services.build_problem(session, call, seed=seed, chair_order=chair_order)
    except (al.PolicyError, al.ProblemError) as exc:
        raise DomainError("The allocation problem is invalid: %(error)s", error=exc) from exc


def preview(
    session: Session, call: Call, hidden: Collection[int], *, reuse: bool = True
) -> ChairList:
    """:func:`chair_list` with the allocation run in the calibrated order and in the
    chair's (nothing stored): what each proposal gains or loses, and who benefits by income
    group, UN region and LDC status (the proposals in ``hidden`` left out of both).

    The problem is built once (:func:`chair_problem` gives the chair's order of it);
    without a change by the chair the two orders are one problem, solved once; a problem
    solved lately in this process is not solved again (``_SOLVED``: kept by a digest of the
    whole problem), nor one solved, or being solved, for another view in any process
    (``preview_solves.shared``). ``reuse=False``: both built and solved on every call (the preview of
    round 18, the bench's peer)."""
    if call.anonymity == "dual" and call.ranking_frozen_at is None:
        # the figures by income group, region and LDC tell about the teams
        raise DomainError(
            "Freeze the ranking before allocating: in a dual-anonymous call the allocation "
            "uses and explains facts about the teams."
        )
    base = chair_list(session, call, hidden)
    if base.places and not ranking_is_current(session, call):
        raise DomainError(
            "The grades changed since the last calibration; calibrate again before "
            "allocating (unfreeze the ranking first if it is frozen)."
        )
    if not base.places:
        raise DomainError("Calibrate and rank the proposals before allocating.")
    last = rq.latest_run(session, call, "allocation")
    seed = last.seed if last is not None else 0
    problem, meta = _problem(session, call, seed=seed, chair_order=False)
    before = _awarded(session, call, problem, meta, seed=seed, reuse=reuse)
    if reuse:
        # built once: the chair's order changes the scores and the bands' set-asides only
        chair = chair_problem(session, call, problem, meta)
        # no change by the chair: one problem, one solve
        after = before if chair is problem else _awarded(session, call, chair, meta,
                                                         seed=seed, reuse=True)  # fmt: skip
    else:
        problem, meta = _problem(session, call, seed=seed, chair_order=True)
        after = _awarded(session, call, problem, meta, seed=seed, reuse=False)
    places = [
        dataclasses.replace(
            x, before=before.get(x.proposal_id, {}), after=after.get(x.proposal_id, {})
        )
        for x in base.places
    ]
    first = (call.pools[0].pool.pool_type, call.pools[0].pool.unit) if call.pools else None
    counted = {cp.pool_id for cp in call.pools if (cp.pool.pool_type, cp.pool.unit) == first}
    return ChairList(
        places=places,
        locked=base.locked,
        adjustments=base.adjustments,
        groups=_groups(session, places, counted),
        unit_pool_id=call.pools[0].pool_id if call.pools else None,
        left_out=base.left_out,
    )


def _groups(session: Session, places: list[Place], counted: set[int]) -> list[GroupFigure]:
    ids = [x.proposal_id for x in places]
    props = {p.id: p for p in session.scalars(select(Proposal).where(Proposal.id.in_(ids)))}
    # the PIs' countries, not the reference data's 250 (scale20)
    countries = countries_named(
        session, [p.pi_member.country_iso3 if p.pi_member else None for p in props.values()]
    )
    tally: dict[tuple[str, str], list[float]] = {}
    for x in places:
        p = props[x.proposal_id]
        c = countries.get((p.pi_member.country_iso3 or "") if p.pi_member else "")
        keys = (
            ("income_group", (c.income_group if c else "") or "unknown"),
            ("un_region", (c.un_region if c else "") or "Unknown"),
            ("ldc", ("LDC" if c.ldc else "non-LDC") if c else "Unknown"),
        )
        for key in keys:
            t = tally.setdefault(key, [0, 0, 0.0, 0.0])
            t[0] += 1 if x.before else 0
            t[1] += 1 if x.after else 0
            t[2] += sum(v for k, v in x.before.items() if k in counted)
            t[3] += sum(v for k, v in x.after.items() if k in counted)
    order = {"income_group": 0, "un_region": 1, "ldc": 2}
    return [
        GroupFigure(cut, g, int(t[0]), int(t[1]), t[2], t[3])
        for (cut, g), t in sorted(tally.items(), key=lambda kv: (order[kv[0][0]], kv[0][1]))
    ]
