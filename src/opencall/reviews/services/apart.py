"""Reviewers kept from reviewing each other (trialcrowd10): the automatic assignment's
rule that no two people review each other's proposals in a call (reciprocal reviewing)
and no three to ``reviews.domain.MAX_RING`` (trialcrowd11) review round a ring (A reviews
B's, B reviews C's, ..., the last reviews A's), whatever their affinities. In distributed
review, where the applicants review each other, the best total paired people of one field
both ways as a rule; so did a panel whose members apply to the call. See ``reviews.domain.collusion_cycles``."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np

from opencall.errors import DomainError
from opencall.people.models import User
from opencall.proposals.models import Proposal
from opencall.reviews.domain import MAX_RING, JudgeGraph, Pair, collusion_cycles

#: rounds of solving again; each forbids one pair of every cycle the swaps left
APART_ROUNDS = 30
#: pairs of the assignment tried as the other side of a swap, for each pair of a cycle (a
#: sample drawn with the problem's seed when there are more)
SWAP_CANDIDATES = 400
#: swaps that pass the screen counted exactly, for each pair of a cycle (trialcrowd11)
VERIFIED = 8


def solve_apart(
    problem: Any,
    proposals: list[Proposal],
    reviewers: list[User],
    teams: dict[int, set[int]],
    max_len: int = MAX_RING,
) -> tuple[Any, Any, dict[str, Any]]:
    """Solve ``problem`` so that the result has no cycle of two to ``MAX_RING`` reviewers.

    After each solve the cycles in the result are undone first by swaps of reviewers
    between two proposals (each keeps its number of reviewers and each reviewer their
    load, the conflicts, forbidden pairs and diversity caps hold; the swap that undoes
    the most cycles for the least affinity first), and the swapped assignment is solved
    again with its pairs forced, so that the result and its figures are the solver's.
    A cycle no swap undoes gives one of its pairs (the least affinity among those the
    run may undo: not forced by hand or by an answer) to the conflicts, and the problem
    is solved again. The result is then the best the solver finds with those pairs
    forbidden, not proven best over every assignment free of cycles. A cycle made only
    of forced pairs is kept and reported. Returns the problem as last solved, its result
    and ``{"avoided": pairs forbidden or swapped away, "kept": cycles of forced pairs}``.
    """
    from opencall.optim.assignment import solve_assignment

    # positions throughout: a team's members who review nothing in the call close no cycle
    pos_r = {r.id: j for j, r in enumerate(reviewers)}
    team_pos = {
        i: frozenset(pos_r[u] for u in teams.get(p.id, ()) if u in pos_r)
        for i, p in enumerate(proposals)
    }
    base = problem
    forced = {(int(a), int(b)) for a, b in np.asarray(base.forced).reshape(-1, 2).tolist()}
    avoided: set[Pair] = set()
    swapped = False
    for _round in range(APART_ROUNDS):
        res = solve_assignment(problem)
        pairs = list(
            zip(np.asarray(res.proposals).tolist(), np.asarray(res.reviewers).tolist(), strict=True)
        )
        cycles = collusion_cycles(pairs, team_pos, max_len)
        kept = [c for c in cycles if all(pair in forced for pair in c)]
        if len(cycles) == len(kept):
            ids = [[[proposals[i].id, reviewers[j].id] for i, j in c] for c in kept]
            return problem, res, {"avoided": len(avoided), "kept": ids}
        fixed = set(pairs)
        if not swapped:
            fixed, gone = _swap_apart(base, fixed, forced, team_pos, max_len)
            avoided |= gone
            cycles = collusion_cycles(sorted(fixed), team_pos, max_len)
            if all(all(pair in forced for pair in c) for c in cycles):
                swapped = True
                problem = replace(base, forced=np.array(sorted(fixed), np.int64).reshape(-1, 2))
                continue
        # else the solver filled a gap the swaps left with a pair that closes a cycle
        score = _scores(base, list(fixed))
        cut: set[Pair] = set()
        for cycle in cycles:
            free = [pair for pair in cycle if pair not in forced]
            if free and not cut.intersection(free):
                cut.add(min(free, key=lambda pr: (score[pr], pr)))
        avoided |= cut
        conflicts = np.asarray(base.conflicts, np.int64).reshape(-1, 2).tolist()
        base = replace(
            base, conflicts=np.array(sorted({*map(tuple, conflicts), *cut}), dtype=np.int64)
        )
        problem, swapped = base, False
    raise DomainError(
        "The assignment could not keep reviewers from reviewing each other in %(n)s rounds.",
        n=APART_ROUNDS,
    )


def _scores(problem: Any, pairs: list[Pair]) -> dict[Pair, float]:
    from opencall.optim.assignment import affinity_of_pairs

    if not pairs:
        return {}
    p, r = (np.array(x, dtype=np.int64) for x in zip(*pairs, strict=True))
    return dict(zip(pairs, affinity_of_pairs(problem, p, r).tolist(), strict=True))


def _swap_apart(
    problem: Any,
    pairs: set[Pair],
    forced: set[Pair],
    teams: dict[int, frozenset[int]],
    max_len: int,
) -> tuple[set[Pair], set[Pair]]:
    """Swap reviewers between proposals until no swap undoes a cycle: (the pairs, the
    pairs swapped away). Neither side of a swap is forced; the new pairs are neither
    conflicted nor forbidden, nor over a diversity cap."""
    banned = {
        (int(a), int(b))
        for a, b in np.concatenate(
            [np.asarray(problem.conflicts).reshape(-1, 2), np.asarray(problem.forbidden)]
        )
        .reshape(-1, 2)
        .tolist()
    }
    caps = [(np.asarray(g.labels).tolist(), int(g.cap)) for g in problem.groupings]
    pairs = set(pairs)
    graph = JudgeGraph(pairs, teams, max_len)
    gone: set[Pair] = set()
    of: dict[int, set[int]] = {}
    for p, r in pairs:
        of.setdefault(p, set()).add(r)

    def fits(p: int, out: int, new: int) -> bool:
        others = of[p] - {out}
        return new not in of[p] and all(
            sum(1 for x in others if labels[x] == labels[new]) < cap for labels, cap in caps
        )

    rng = np.random.default_rng(problem.seed)
    for _step in range(4 * len(pairs) + 1):
        cycles = collusion_cycles(sorted(pairs), teams, max_len)
        best: tuple[int, float, Pair, Pair] | None = None
        movable = sorted(pairs - forced)
        if len(movable) > SWAP_CANDIDATES:
            pick = rng.choice(len(movable), SWAP_CANDIDATES, replace=False)
            movable = [movable[i] for i in sorted(pick.tolist())]
        for cycle in cycles:
            for p, r in cycle:
                if (p, r) in forced:
                    continue
                others = [(p2, r2) for p2, r2 in movable if p2 != p and r2 != r]
                others = [
                    (p2, r2)
                    for p2, r2 in others
                    if (p, r2) not in banned
                    and (p2, r) not in banned
                    and fits(p, r, r2)
                    and fits(p2, r2, r)
                ]
                if not others:
                    continue
                new = _scores(
                    problem, [(p, r2) for _p2, r2 in others] + [(p2, r) for p2, _ in others]
                )
                old = _scores(problem, [(p, r), *others])
                # screened first (trialcrowd11): a swap whose new links close a ring in the
                # graph without (p, r) is passed over, read from two bounded searches
                # (people who reach r, people whom p's team reaches) instead of one search
                # of every ring per swap tried, which grows with the bound
                graph.remove((p, r))
                reach_r = graph.within([r], max_len - 1, reverse=True)
                from_p = graph.within(teams.get(p, ()), max_len - 1)
                graph.add((p, r))
                clean = [
                    (p2, r2)
                    for p2, r2 in others
                    if r2 not in from_p and not reach_r.intersection(teams.get(p2, ()))
                ]

                gain = {
                    (p2, r2): new[(p, r2)] + new[(p2, r)] - old[(p, r)] - old[(p2, r2)]
                    for p2, r2 in clean
                }
                clean.sort(key=lambda pr: (-gain[pr], pr))
                # the screen ignores the second swap's links: the best few are counted
                # exactly, and the best of them that undoes more rings than it makes taken
                for p2, r2 in clean[:VERIFIED]:
                    people = {r, r2}
                    before = len(graph.cycles_through(people))
                    _swap(graph, (p, r), (p2, r2))
                    after = len(graph.cycles_through(people))
                    _swap(graph, (p, r2), (p2, r))
                    key = (after - before, -gain[(p2, r2)], (p, r), (p2, r2))
                    if after < before:
                        if best is None or key < best:
                            best = key
                        break
            if best is not None:
                break  # the first cycle a swap undoes, swapped at once
        if best is None:
            return pairs, gone
        _d, _g, (p, r), (p2, r2) = best
        _swap(graph, (p, r), (p2, r2))
        pairs -= {(p, r), (p2, r2)}
        pairs |= {(p, r2), (p2, r)}
        gone |= {(p, r), (p2, r2)}
        of[p] = (of[p] - {r}) | {r2}
        of[p2] = (of[p2] - {r2}) | {r}
    return pairs, gone


def _swap(graph: JudgeGraph, a: Pair, b: Pair) -> None:
    """Exchange the reviewers of pairs ``a`` and ``b`` in ``graph``."""
    graph.remove(a)
    graph.remove(b)
    graph.add((a[0], b[1]))
    graph.add((b[0], a[1]))
