"""Which requests a proposal's requested amount counts (mend9b): all of them, or under a
cap of k awards per PI its first k choices, a bundle being one choice (an "any node"
application lists every node it would go to, to be given one)."""

from opencall.proposals.domain import counted_choices, most_of_each


def test_without_a_cap_every_request_counts() -> None:
    assert counted_choices([None, None, "a"], None) == [True, True, True]


def test_a_cap_counts_the_first_choices_a_bundle_once() -> None:
    assert counted_choices([None, None, None], 1) == [True, False, False]
    assert counted_choices(["seat1", "seat1", "seat2", "seat2"], 1) == [True, True, False, False]
    assert counted_choices([None, "b", "b", None], 2) == [True, True, True, False]
    assert counted_choices([], 1) == []


def test_alternatives_naming_one_resource_ask_for_it_once() -> None:
    # trialfac24c: a cleanroom user lists the tool in person, or the tool and staff hours
    # remote-assisted, under a cap of one award: 15 h of the tool, not 30
    bundles = ["remote", "remote", "in-person"]
    amounts = [("tool", 15.0), ("staff", 15.0), ("tool", 15.0)]
    assert most_of_each(bundles, amounts, 1) == {"tool": 15.0, "staff": 15.0}
    # without a cap both may be awarded, and each counts
    assert most_of_each(bundles, amounts, None) == {"tool": 30.0, "staff": 15.0}
    # alternatives naming different resources (any node) each ask for their own
    assert most_of_each([None, None], [("a", 5.0), ("b", 7.0)], 1) == {"a": 5.0, "b": 7.0}
    # under a cap of k, the k largest choices of a resource
    three = [("t", 4.0), ("t", 9.0), ("t", 6.0)]
    assert most_of_each([None, None, None], three, 2) == {"t": 15.0}
