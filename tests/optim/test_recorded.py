"""The digest that ties a recorded peer's answer to its instance (``tests/optim/recorded.py``,
speedopt21): the same for the same problem, another for any change of a field."""

from __future__ import annotations

import dataclasses as dc
import zoneinfo

import pytest
from tests.optim import recorded
from tests.optim import trial20 as t20


def test_the_same_instance_has_the_same_digest() -> None:
    for make in (lambda: t20.slot_instance(2, "dateline"), lambda: t20.alloc_instance(3, "heavy"),
                 lambda: t20.assignment_instance(4, "conflicts")):  # fmt: skip
        assert recorded.digest(make()) == recorded.digest(make())


def test_a_change_of_any_kind_of_field_changes_the_digest() -> None:
    pb = t20.assignment_instance(0, "ties")
    aff = pb.affinity.copy()
    aff[0, 0] += 1e-12  # an array's value
    assert recorded.digest(dc.replace(pb, affinity=aff)) != recorded.digest(pb)
    assert recorded.digest(dc.replace(pb, affinity=pb.affinity.astype("float32"))) != (
        recorded.digest(pb)
    )  # its dtype
    slots = t20.slot_instance(2, "dateline")
    r0 = slots.resources[0]
    other = r0.start.astimezone(zoneinfo.ZoneInfo("Etc/UTC"))  # the same offset too
    assert other == r0.start and str(other.tzinfo) != str(r0.start.tzinfo)  # the same instant
    moved = dc.replace(slots, resources=(dc.replace(r0, start=other), *slots.resources[1:]))
    assert recorded.digest(moved) != recorded.digest(slots)
    alloc = t20.alloc_instance(3, "heavy")
    r = alloc.requests[0]
    pool = sorted(r.demand)[0]
    req = dc.replace(r, demand={**r.demand, pool: r.demand[pool] + 1e-9})
    assert recorded.digest(dc.replace(alloc, requests=(req, *alloc.requests[1:]))) != (
        recorded.digest(alloc)
    )  # a dict's value


def test_a_value_with_no_canonical_form_is_refused() -> None:
    with pytest.raises(TypeError, match="no canonical form for object"):
        recorded.canonical(object())
