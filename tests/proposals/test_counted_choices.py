"""Which requests a proposal's requested amount counts (mend9b): all of them, or under a
cap of k awards per PI its first k choices, a bundle being one choice (an "any node"
application lists every node it would go to, to be given one)."""

from opencall.proposals.domain import counted_choices


def test_without_a_cap_every_request_counts() -> None:
    assert counted_choices([None, None, "a"], None) == [True, True, True]


def test_a_cap_counts_the_first_choices_a_bundle_once() -> None:
    assert counted_choices([None, None, None], 1) == [True, False, False]
    assert counted_choices(["seat1", "seat1", "seat2", "seat2"], 1) == [True, True, False, False]
    assert counted_choices([None, "b", "b", None], 2) == [True, True, True, False]
    assert counted_choices([], 1) == []
