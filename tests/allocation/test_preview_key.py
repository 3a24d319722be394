"""The key of a TAC preview's problem (``allocation.preview_solves.digest``, mend21): a
view that meets a problem already keyed in its process (rebuilt from the same rows, a new
object equal to the old) does not canonicalise the whole problem again, and a change to
any input, any field of any part, even a dict changed in place, gives another key, the
same one a process that never met the first would give (never a stale solve)."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from opencall.allocation import preview_solves
from opencall.optim import allocation as al


def problem(n: int = 12) -> tuple[Any, ...]:
    """The parts ``tac._awarded`` keys: call id, seed, the problem, the request index and
    the pools' ids; built anew on each call, as each view builds it."""
    pools = (
        al.Pool(id="lst-00", capacity=40.0, unit="h", kind="time", room=30.0),
        al.Pool(id="lst-01", capacity=25.5, whole=True, changeover=0.5),
    )
    requests = tuple(
        al.Request(
            id=f"r{i}",
            proposal_id=f"p{i}",
            pi_id=f"pi{i % 5}",
            merit=1.0 + i / 7,
            demand={"lst-00": 2.0 + i % 3, "lst-01": 1.0 + i % 2},
            min_fraction=0.5,
            bundle="b" if i % 4 == 0 else None,
            preference=i % 2,
            infeasible_message={"msgid": "not visible", "args": {"n": i}},
        )
        for i in range(n)
    )
    policy = al.AllocationPolicy(
        allow_partial=True,
        max_awards_per_pi=3,
        awards_held_by_pi={"pi1": 1},
        max_amount_per_pi_by_pool={"lst-00": 9.0},
        amount_held_by_pi={"pi2": {"lst-00": 1.0}},
        resource_limits={"lst-01": al.ResourceLimit(max_per_proposal=4.0)},
        group_share_rules=(al.GroupShareRule(group="low_lmic", min_share=0.1),),
    )
    groups = (al.Group("low_lmic", frozenset(f"p{i}" for i in range(0, n, 3))),)
    prob = al.AllocationProblem(pools=pools, requests=requests, policy=policy, groups=groups)
    index = {f"r{i}": (100 + i, "lst-00") for i in range(n)}
    pool_id = {"lst-00": 7, "lst-01": 8}
    return (42, 3, prob, index, pool_id)


def _changed(value: Any) -> Iterator[Any]:
    """Values unlike ``value`` of its kind (a leaf changed, an entry added or dropped)."""
    if isinstance(value, bool):
        yield not value
    elif isinstance(value, int):
        yield value + 1
    elif isinstance(value, float):
        yield value + 0.25
        yield -value if value else 1e-9
    elif isinstance(value, str):
        yield value + "x"
    elif value is None:
        yield 0.0
    elif isinstance(value, frozenset):
        yield value | {"p-new"}
        if value:
            yield value - {min(value)}
    elif isinstance(value, dict):
        yield {**value, "extra": 1}
        if value:
            yield {k: v for k, v in list(value.items())[1:]}
    elif isinstance(value, tuple):
        yield value[1:]
        if value:
            yield (*value, value[0])


def _variants(x: Any) -> Iterator[tuple[str, Any]]:
    """``x`` with one thing changed, every way :func:`_changed` knows, at every depth."""
    for alt in _changed(x):
        if alt != x or type(alt) is not type(x):  # (an empty tuple less its first item)
            yield "", alt
    if dataclasses.is_dataclass(x) and not isinstance(x, type):
        for f in dataclasses.fields(x):
            for where, alt in _variants(getattr(x, f.name)):
                try:  # a problem the optimiser refuses is never keyed
                    new = dataclasses.replace(x, **{f.name: alt})
                except (ValueError, TypeError):
                    continue
                yield f"{type(x).__name__}.{f.name}{where}", new
    elif isinstance(x, tuple):
        for i, v in enumerate(x):
            for where, alt in _variants(v):
                yield f"[{i}]{where}", (*x[:i], alt, *x[i + 1 :])
    elif isinstance(x, dict):
        for k, v in x.items():
            for where, alt in _variants(v):
                yield f"[{k!r}]{where}", {**x, k: alt}


def counting(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    calls = [0]
    inner: Callable[[Any], Any] = preview_solves._canonical

    def counted(x: Any) -> Any:
        calls[0] += 1
        return inner(x)

    monkeypatch.setattr(preview_solves, "_canonical", counted)
    return calls


def test_a_problem_met_again_is_not_canonicalised_again(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = counting(monkeypatch)
    first = preview_solves.digest(*problem())
    assert calls[0] > 100  # the whole problem, once
    calls[0] = 0
    again = problem()  # the next view: built anew from the same rows
    assert again[2] is not problem()[2] and again[2] == problem()[2]
    assert preview_solves.digest(*again) == first
    assert calls[0] == 0


def test_any_change_to_the_problem_changes_its_key(monkeypatch: pytest.MonkeyPatch) -> None:
    parts = problem()
    base = preview_solves.digest(*parts)
    seen = {base: "base"}
    variants = list(_variants(parts))
    assert len(variants) > 250  # every field of every part, a few ways each
    for where, alt in variants:
        key = preview_solves.digest(*alt)
        # as a process that never met ``parts`` keys it: the memo serves no other's key
        monkeypatch.setattr(preview_solves, "_MEMO", type(preview_solves._MEMO)())
        assert preview_solves.digest(*alt) == key, where
        monkeypatch.undo()
        assert key not in seen, (where, seen.get(key))
        seen[key] = where
    assert preview_solves.digest(*problem()) == base


def test_a_dict_changed_in_place_changes_the_key() -> None:
    parts = problem()
    base = preview_solves.digest(*parts)
    parts[2].requests[3].demand["lst-00"] = 99.0  # the same objects, another problem
    assert preview_solves.digest(*parts) != base
    parts[3]["r5"] = (999, "lst-01")
    changed = preview_solves.digest(*parts)
    assert changed not in (base, preview_solves.digest(*problem()))
