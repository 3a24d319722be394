"""The sentence of a reached group cap, for each grouping the explanations name and for
another one (said by its name), with and without the resource it caps."""

from __future__ import annotations

import pytest

from opencall.optim.allocation.caps import _amount_cap, _awards_cap
from opencall.optim.messages import listing, number, render, unit

NAMED = ["country", "income group", "UN region"]


@pytest.mark.parametrize("per", [*NAMED, "programme"])
def test_cap_sentences(per: str) -> None:
    amount = listing([number("12"), unit("eur")], " ")
    awards, plain, pooled = (
        _awards_cap(per, 2),
        _amount_cap(per, amount, None),
        _amount_cap(per, amount, "Stipends"),
    )
    assert render(awards) == f"the cap of 2 award(s) per {per} was reached"
    assert render(plain) == f"the cap of 12 eur per {per} was reached"
    assert render(pooled) == f"the cap of 12 eur of Stipends per {per} was reached"
    # a named grouping is its own message id (translated whole); another one is a parameter
    named = per in NAMED
    for m in (awards, plain, pooled):
        assert ("per %(per)s" in m["msg"]) is not named
        assert ("per" in m["params"]) is not named
