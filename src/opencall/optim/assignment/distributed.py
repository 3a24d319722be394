"""Distributed peer review: the applicants review each other (conflicts with their own and
their co-investigators' proposals).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from opencall.optim.arrays import IntArray
from opencall.optim.assignment.common import (
    AssignmentProblem,
    Grouping,
    _uniq,
)


def distributed_reviewers(proposal_members: Sequence[Sequence[int]]) -> IntArray:
    """The reviewer ids of a distributed review: every distinct member id, sorted.

    Parameters
    ----------
    proposal_members : sequence of sequences of int
        Per proposal, the ids of its members (applicants).

    Returns
    -------
    numpy.ndarray of int
        Every distinct member id, sorted.
    """
    ids = [int(m) for ms in proposal_members for m in ms]
    return _uniq(np.asarray(ids, np.int64))


def distributed_problem(
    proposal_members: Sequence[Sequence[int]],
    affinity: Any,
    *,
    reviewer_ids: npt.ArrayLike | None = None,
    k: int | npt.ArrayLike = 3,
    min_load: int | npt.ArrayLike = 0,
    max_load: int | npt.ArrayLike | None = None,
    groupings: tuple[Grouping, ...] = (),
    objective: Literal["total", "fair"] = "total",
    seed: int = 0,
) -> AssignmentProblem:
    """Distributed peer review: the applicants review each other.

    Each reviewer is in conflict with every proposal they are on and every proposal of any of
    their co-investigators (anyone who shares a proposal with them).

    Parameters
    ----------
    proposal_members : sequence of sequences of int
        Per proposal, the ids of its members.
    affinity : numpy.ndarray or TopicAffinity
        Proposals x reviewers, reviewers in the order of ``reviewer_ids``.
    reviewer_ids : array_like of int, optional
        Reviewer column ``j`` is applicant ``reviewer_ids[j]`` (default
        ``distributed_reviewers(proposal_members)``).
    k, min_load, max_load, groupings, objective, seed
        As in ``AssignmentProblem``.

    Returns
    -------
    AssignmentProblem
        The problem with those conflicts, ready for ``solve_assignment``.

    References
    ----------
    .. [1] M. Merrifield, D. Saari, "Telescope time without tears: a distributed approach to
       peer review", *Astronomy & Geophysics* 50 (2009) 4.16-4.20.
    """
    import scipy.sparse as sp

    rid = (
        distributed_reviewers(proposal_members)
        if reviewer_ids is None
        else np.asarray(reviewer_ids, np.int64)
    )
    P, R = len(proposal_members), len(rid)
    uids = _uniq(np.concatenate([rid, distributed_reviewers(proposal_members)]))
    rows = np.repeat(np.arange(P), [len(ms) for ms in proposal_members])
    members = np.searchsorted(uids, np.asarray([m for ms in proposal_members for m in ms], int))
    M = sp.csr_matrix((np.ones(len(rows)), (rows, members)), shape=(P, len(uids)))
    M.data[:] = 1.0
    co = (M.T @ M).tocsr()  # people sharing a proposal (incl. oneself)
    conflict = (M @ co[:, np.searchsorted(uids, rid)]).tocoo()  # P x R: p has a coinvestigator
    pairs = np.stack([conflict.row, conflict.col], axis=1).astype(np.int64)
    return AssignmentProblem(
        n_proposals=P,
        n_reviewers=R,
        affinity=affinity,
        k=k,
        min_load=min_load,
        max_load=max_load,
        conflicts=pairs,
        groupings=groupings,
        objective=objective,
        seed=seed,
    )
