"""Resources that share one instrument (``CapacityPool.exclusive_group``: a beamline's two
machine modes, a vessel's ROV and AUV) in the allocation (trialfac22b): a call may offer
each of them in full, but what it awards across them fits in the instrument's hours.

Each resource of a group is never in use at the same time as another, so the awards on
a set ``S`` of the group's resources need their slots among the hours in which one of
``S`` at least is open (Hall's condition on slots: with each resource's own capacity,
the conditions on every ``S`` are what the schedule needs to place every slot awarded).
One ``SharedCapacity`` per set ``S`` of two resources or more that the awards could
overdraw, in hours: ``sum_{r} sum_{p in S} hours(p) * d_rp * f_r <= open hours of S``,
less the hours other calls hold of the instrument.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from itertools import combinations
from typing import Any

from sqlalchemy.orm import Session

from opencall.calls import services as call_services
from opencall.calls.models import Call, CallPool
from opencall.facilities import services as fac_services

#: a group of more resources than this is held by its whole set only (2^n sets otherwise)
MAX_SUBSETS_OF = 6


def instrument_shares(
    session: Session,
    call: Call,
    pools: Mapping[int, CallPool],
    pool_key: Mapping[int, str],
    capacity: Mapping[int, float],
    requests: Sequence[Any],
) -> list[Any]:
    """The ``SharedCapacity`` rows of the instruments ``call``'s offered ``pools`` share
    (``capacity``: each resource's capacity in the problem, in its slots)."""
    by_group: dict[tuple[int, str], list[CallPool]] = defaultdict(list)
    for cp in pools.values():
        p = cp.pool
        if p.exclusive_group and p.slot_hours and (p.groups_per_slot or 1) == 1:
            by_group[(p.facility_id, p.exclusive_group)].append(cp)
    out: list[Any] = []
    for (_f, name), members in sorted(by_group.items()):
        if len(members) < 2:
            continue
        members.sort(key=lambda cp: cp.pool_id)
        held = sum(call_services.instrument_held(session, members[0].pool, call.id).values())
        by_key = {pool_key[cp.pool_id]: cp.pool for cp in members}
        out += hall_rows(
            name,
            [(k, float(p.slot_hours or 0), capacity[p.id]) for k, p in by_key.items()],
            lambda keys: fac_services.open_hours([by_key[k] for k in keys]),  # noqa: B023
            held,
            requests,
        )
    return out


def hall_rows(
    name: str,
    members: Sequence[tuple[str, float, float]],
    open_hours: Callable[[tuple[str, ...]], float],
    held: float,
    requests: Sequence[Any],
) -> list[Any]:
    """The rows of one instrument ``name``: ``members`` its resources (the problem's pool
    id, hours a slot, capacity in slots), ``open_hours`` the hours in which one of some of
    them at least is open, ``held`` the instrument's hours other calls hold. A row per set
    of two resources or more whose capacities could overdraw its hours (pure)."""
    from opencall.optim import allocation as al

    out: list[Any] = []
    sizes = range(2, len(members) + 1) if len(members) <= MAX_SUBSETS_OF else [len(members)]
    for k in sizes:
        for subset in combinations(members, k):
            keys = tuple(key for key, _h, _c in subset)
            hours = {key: h for key, h, _c in subset}
            room = max(open_hours(keys) - held, 0.0)
            if sum(c * h for _k, h, c in subset) <= room:
                continue  # the resources' own capacities keep the awards inside it
            demand = {
                r.id: sum(d * hours[pid] for pid, d in r.demand.items() if pid in hours)
                for r in requests
            }
            label = " + ".join(keys)
            out.append(
                al.SharedCapacity(
                    f"{name} ({label})", room, {rid: d for rid, d in demand.items() if d > 0}
                )
            )
    return out
