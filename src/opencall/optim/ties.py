"""The seeded tie-break every solver shares: between requests (awards) of equal merit, the
order depends on the seed and each one's stable id only, never on its position in the input
(the order rows came out of the database), so that shuffling the input leaves the decision
as it was."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray


def tie_key(seed: int, rid: str) -> bytes:
    """The sort key of id ``rid`` under ``seed``: a BLAKE2b digest of both (the same on
    every machine and run, unlike Python's ``hash``)."""
    return hashlib.blake2b(f"{int(seed)}\x00{rid}".encode(), digest_size=16).digest()


def tie_ranks(ids: Sequence[str], seed: int) -> NDArray[np.int64]:
    """Each id's place (0: first, wins the tie) in the seeded order of ``ids``: by
    :func:`tie_key`, then by the id itself (so that equal keys, were they ever to meet, still
    do not fall back on the position)."""
    order = sorted(range(len(ids)), key=lambda i: (tie_key(seed, ids[i]), ids[i]))
    ranks = np.empty(len(ids), dtype=np.int64)
    ranks[order] = np.arange(len(ids))
    return ranks
