"""The TAC chair's order (trialtac18): the calibrated ranked list of a call with the
chair's moves and bands applied, as the allocation reads it.

With no adjustment for a call, :func:`chair_merit` returns the merit it was given, so the
allocation builds the very same problem as before (the demo's golden results hold).
A move takes a proposal ``steps`` places up (down when negative) in the list as it stands
after the earlier changes; the accept band puts a proposal at the top of the order (in the
list's order among the accepted), which gives it priority but no capacity the call does not
have; the reserve and reject bands take it out of this allocation, explained by the chair's
reason. The allocation then reads the calibrated scores in the chair's order: the score at
each place of the list goes to the proposal the chair put there."""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from opencall.allocation.models import TacAdjustment, TacLock
from opencall.calls.models import Call
from opencall.optim.messages import M_, Message, filled


def adjustments(session: Session, call: Call) -> list[TacAdjustment]:
    """The chair's changes to ``call``'s list, in the order they were made."""
    return list(
        session.scalars(
            select(TacAdjustment).where(TacAdjustment.call_id == call.id).order_by(TacAdjustment.id)
        )
    )


def last_change(session: Session, call: Call) -> int | None:
    """The id of the chair's latest change to ``call``'s list (None: no change). The
    allocation notes the one it read (``SolverRun.summary["tac_change"]``), and the release
    refuses decisions that an allocation made before a later change."""
    return session.scalar(
        select(func.max(TacAdjustment.id)).where(TacAdjustment.call_id == call.id)
    )


def bands(session: Session, call: Call) -> dict[int, str]:
    """Each proposal of ``call`` the chair put in a band, and its band."""
    band: dict[int, str] = {}
    for a in adjustments(session, call):
        if a.kind != "band":
            continue
        if a.band:
            band[a.proposal_id] = a.band
        else:
            band.pop(a.proposal_id, None)
    return band


def lock_of(session: Session, call: Call) -> TacLock | None:
    return session.get(TacLock, call.id)


def chair_order(
    calibrated: Sequence[int], rows: Iterable[TacAdjustment]
) -> tuple[list[int], dict[int, str]]:
    """The chair's order of ``calibrated`` (proposal ids, best first) after ``rows``, and
    the band of each proposal in one. A row about a proposal not in the list is skipped."""
    order = list(calibrated)
    band: dict[int, str] = {}
    for a in rows:
        if a.proposal_id not in order:
            continue
        if a.kind == "move":
            i = order.index(a.proposal_id)
            j = min(max(i - a.steps, 0), len(order) - 1)
            order.insert(j, order.pop(i))
        elif a.band:
            band[a.proposal_id] = a.band
        else:
            band.pop(a.proposal_id, None)
    accepted = [p for p in order if band.get(p) == "accept"]
    return accepted + [p for p in order if band.get(p) != "accept"], band


def tie_key(merit: Mapping[int, float], pid: int) -> float:
    """``merit[pid]`` on a grid of 1e-9 of the largest merit, the grid on which the
    calibration reads ties (``optim.calibration.ranks``): scores that differ by round-off
    alone are the tie they are."""
    size = max((abs(v) for v in merit.values()), default=0.0)
    if not (size > 0 and math.isfinite(size)):
        return merit[pid]
    return round(merit[pid] / (1e-9 * size))


def calibrated_order(
    merit: Mapping[int, float], lower_is_better: bool, rank: Mapping[int, int] | None = None
) -> list[int]:
    """The proposals of ``merit`` best first; proposals tied on the score in the order of
    their ``rank`` in the calibration's ranking (which orders a tie by the mean of the raw
    grades, so that the chair's list and the ranking page agree), then by id."""
    sign = 1.0 if lower_is_better else -1.0
    last = len(merit) + 1
    by = rank or {}
    return sorted(merit, key=lambda pid: (sign * tie_key(merit, pid), by.get(pid, last), pid))


def ties(merit: Mapping[int, float], order: Sequence[int]) -> dict[int, tuple[int, int]]:
    """Each proposal of ``order`` (the calibrated order) tied on the score with another,
    and the first and last calibrated place (1-based) the tie spans."""
    groups: dict[float, list[int]] = {}
    for i, pid in enumerate(order):
        groups.setdefault(tie_key(merit, pid), []).append(i + 1)
    return {
        pid: (groups[k][0], groups[k][-1])
        for pid in order
        if len(groups[k := tie_key(merit, pid)]) > 1
    }


#: a band that takes a proposal out of the allocation, and the sentence that says why
SET_ASIDE = {
    "reserve": M_("the TAC chair put it on the reserve list: %(reason)s"),
    "reject": M_("the TAC chair put it in the reject band: %(reason)s"),
}


def chair_merit(
    session: Session,
    call: Call,
    merit: dict[int, float],
    lower_is_better: bool,
    rank: Mapping[int, int] | None = None,
) -> tuple[dict[int, float], dict[int, Message]]:
    """``merit`` in the chair's order (the scores, best first, handed out by place), and
    the proposals set aside by a band with the sentence that explains it. Unchanged, and
    nothing set aside, when the chair made no change. ``rank``: the calibration's rank of
    each proposal (:func:`calibrated_order`)."""
    rows = adjustments(session, call)
    if not rows:
        return merit, {}
    before = calibrated_order(merit, lower_is_better, rank)
    order, band = chair_order(before, rows)
    scores = [merit[pid] for pid in before]
    out = {pid: scores[i] for i, pid in enumerate(order)}
    reasons = {a.proposal_id: a.reason for a in rows if a.kind == "band"}
    set_aside = {
        pid: filled(SET_ASIDE[b], reason=reasons[pid]) for pid, b in band.items() if b in SET_ASIDE
    }
    return out, set_aside


def notes(session: Session, call: Call) -> dict[int, list[Message]]:
    """Each adjusted proposal's sentences for its decision's explanation: every move with
    its reason, and the accept band (a reserve or reject band is the explanation itself).
    Never who made the change, nor which proposals it passed."""
    rows = adjustments(session, call)
    out: dict[int, list[Message]] = {}
    band: dict[int, TacAdjustment] = {}
    for a in rows:
        if a.kind == "move":
            said = (
                M_(
                    "the TAC chair moved it up %(n)s place(s): %(reason)s",
                    n=a.steps,
                    reason=a.reason,
                )
                if a.steps > 0
                else M_(
                    "the TAC chair moved it down %(n)s place(s): %(reason)s",
                    n=-a.steps,
                    reason=a.reason,
                )
            )
            out.setdefault(a.proposal_id, []).append(said)
        else:
            band[a.proposal_id] = a
    for pid, a in band.items():
        if a.band == "accept":
            out.setdefault(pid, []).append(
                M_("the TAC chair put it in the accept band: %(reason)s", reason=a.reason)
            )
    return out
