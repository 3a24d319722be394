"""Synthetic review worlds with a planted reviewer-group bias, for validating ``optim.bias``.

A world: proposals from applicants in a small table of real countries (UN region, World Bank
income group, LDC status as in the reference data), reviewers from another mix of those
countries, ``per_proposal`` distinct reviewers per proposal with balanced loads (never from the
applicant's country).  Grades on a 1-5 scale in 0.1 steps::

    grade = round(3 + s_r * q_p + b_r + e_i - bias [i affected])

with nuisance that a naive method would mistake for bias: quality ``q_p`` lower on average for
low-income applicants (``quality_gap``), leniency ``b_r`` that differs between reviewer
regions, reviewer-specific scales ``s_r`` and noise levels.  A world also carries the grades it
would have had without the bias (same draws), so the effect of the bias and of a correction on
the calibrated ranking can be measured exactly.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from opencall.optim.bias import BiasData, BiasModel, Interaction, interaction_model
from opencall.optim.calibration import GradeScale, GradeSet, calibrate

__all__ = [
    "COUNTRIES",
    "STRUCTURES",
    "Structure",
    "Verdict",
    "World",
    "judge",
    "make_world",
    "ranking_gap",
    "true_effects",
]

#: iso3 -> (UN region, income group, LDC)
COUNTRIES: dict[str, tuple[str, str, bool]] = {
    "ETH": ("Africa", "low", True),
    "MWI": ("Africa", "low", True),
    "KEN": ("Africa", "lower-middle", False),
    "NGA": ("Africa", "lower-middle", False),
    "ZAF": ("Africa", "upper-middle", False),
    "AFG": ("Asia", "low", True),
    "BGD": ("Asia", "lower-middle", True),
    "IND": ("Asia", "lower-middle", False),
    "CHN": ("Asia", "upper-middle", False),
    "JPN": ("Asia", "high", False),
    "HTI": ("Americas", "lower-middle", True),
    "BOL": ("Americas", "lower-middle", False),
    "BRA": ("Americas", "upper-middle", False),
    "MEX": ("Americas", "upper-middle", False),
    "USA": ("Americas", "high", False),
    "CHL": ("Americas", "high", False),
    "SRB": ("Europe", "upper-middle", False),
    "DEU": ("Europe", "high", False),
    "FRA": ("Europe", "high", False),
    "GBR": ("Europe", "high", False),
    "PNG": ("Oceania", "lower-middle", False),
    "AUS": ("Oceania", "high", False),
}

CUT_INDEX = {"un_region": 0, "income_group": 1, "ldc": 2, "lmic": 1}
LMIC = ("low", "lower-middle")

# Applicants: about half from low- and lower-middle-income countries.
APPLICANT_MIX: dict[str, float] = {
    "ETH": 6, "MWI": 4, "KEN": 7, "NGA": 7, "ZAF": 5, "AFG": 2, "BGD": 5, "IND": 9,
    "CHN": 8, "JPN": 4, "HTI": 2, "BOL": 3, "BRA": 6, "MEX": 4, "USA": 9, "CHL": 3,
    "SRB": 2, "DEU": 5, "FRA": 4, "GBR": 4, "PNG": 1, "AUS": 3,
}  # fmt: skip
# Reviewers: mostly from high-income countries, Europe the largest region.
REVIEWER_MIX: dict[str, float] = {
    "ETH": 2, "KEN": 3, "NGA": 2, "ZAF": 4, "IND": 6, "CHN": 6, "JPN": 6, "BRA": 4,
    "MEX": 2, "USA": 14, "CHL": 3, "SRB": 3, "DEU": 14, "FRA": 12, "GBR": 14, "AUS": 5,
}  # fmt: skip


@dataclass(frozen=True)
class Structure:
    """Who is biased against whom: ``reviewers`` and ``victims`` are ``(cut, groups)``."""

    name: str
    reviewers: tuple[str, frozenset[str]]
    victims: tuple[str, frozenset[str]]
    description: str
    #: weights multiplied into the applicant / reviewer mix of this structure's worlds (with or
    #: without bias), so that the biased reviewers meet the victims in >= 25 % of the reviews
    applicant_boost: tuple[tuple[str, float], ...] = ()
    reviewer_boost: tuple[tuple[str, float], ...] = ()

    def mixes(self) -> tuple[dict[str, float], dict[str, float]]:
        a, r = dict(self.applicant_boost), dict(self.reviewer_boost)
        return (
            {k: v * a.get(k, 1.0) for k, v in APPLICANT_MIX.items()},
            {k: v * r.get(k, 1.0) for k, v in REVIEWER_MIX.items()},
        )


STRUCTURES: dict[str, Structure] = {
    s.name: s
    for s in (
        Structure(
            "region-vs-lmic",
            ("un_region", frozenset({"Europe"})),
            ("income_group", frozenset({"low", "lower-middle"})),
            "reviewers from Europe grade low- and lower-middle-income applicants lower",
            reviewer_boost=(("DEU", 2.0), ("FRA", 2.0), ("GBR", 2.0), ("SRB", 2.0)),
        ),
        Structure(
            "income-vs-lmic",
            ("income_group", frozenset({"high"})),
            ("income_group", frozenset({"low", "lower-middle"})),
            "high-income reviewers grade low- and lower-middle-income applicants lower",
        ),
        Structure(
            "income-vs-africa",
            ("income_group", frozenset({"high"})),
            ("un_region", frozenset({"Africa"})),
            "high-income reviewers grade applicants from Africa lower",
            applicant_boost=(("ETH", 1.8), ("MWI", 1.8), ("KEN", 1.8), ("NGA", 1.8), ("ZAF", 1.8)),
        ),
        Structure(
            "region-vs-ldc",
            ("un_region", frozenset({"Europe"})),
            ("ldc", frozenset({"LDC"})),
            "reviewers from Europe grade applicants from LDCs lower",
            applicant_boost=(("ETH", 4.0), ("MWI", 4.0), ("AFG", 4.0), ("BGD", 4.0), ("HTI", 4.0)),
            reviewer_boost=(("DEU", 1.9), ("FRA", 1.9), ("GBR", 1.9), ("SRB", 1.9)),
        ),
    )
}


def _label(iso3: str, cut: str) -> str:
    v = COUNTRIES[iso3][CUT_INDEX[cut]]
    if cut == "ldc":
        return "LDC" if v else "non-LDC"
    if cut == "lmic":
        return "low or lower-middle" if v in LMIC else "upper-middle or high"
    return str(v)


@dataclass(frozen=True)
class World:
    data: BiasData  # biased grades (higher is better)
    unbiased_grade: NDArray[np.float64]  # the same world without the bias
    affected: NDArray[np.bool_]  # per review
    victim: NDArray[np.bool_]  # per proposal
    quality: NDArray[np.float64]
    bias: float
    structure: Structure | None

    @property
    def affected_share(self) -> float:
        return float(self.affected.mean())


def _draw(rng: np.random.Generator, mix: Mapping[str, float], n: int) -> list[str]:
    """``n`` countries in the proportions of ``mix`` (quotas by largest remainder, so every
    world of a structure has the same composition), in random order."""
    keys = list(mix)
    w = np.array([mix[k] for k in keys], dtype=float)
    exact = w / w.sum() * n
    counts = np.floor(exact).astype(int)
    rest = n - int(counts.sum())
    order = np.lexsort((rng.random(len(keys)), -(exact - counts)))
    counts[order[:rest]] += 1
    out = [k for k, c in zip(keys, counts, strict=True) for _ in range(int(c))]
    return [out[i] for i in rng.permutation(n)]


def make_world(
    seed: int,
    *,
    bias: float = 0.0,
    structure: str | Structure | None = None,
    n_proposals: int = 400,
    per_proposal: int = 3,
    n_reviewers: int = 100,
    quality_gap: float = 0.2,
    scale_sd: float = 0.15,
    noise_range: tuple[float, float] = (0.35, 0.7),
    grade_range: tuple[float, float] = (1.0, 5.0),
    applicant_mix: Mapping[str, float] | None = None,
    reviewer_mix: Mapping[str, float] | None = None,
) -> World:
    """One seeded world; ``bias`` points are taken off every affected grade (``structure``).

    A ``structure`` with ``bias=0`` is a world without bias with that structure's mix of
    applicants and reviewers (the matching false-alarm check)."""
    rng = np.random.default_rng(seed)
    st = STRUCTURES[structure] if isinstance(structure, str) else structure
    a_mix, r_mix = st.mixes() if st is not None else (APPLICANT_MIX, REVIEWER_MIX)
    a_iso = _draw(rng, applicant_mix or a_mix, n_proposals)
    r_iso = _draw(rng, reviewer_mix or r_mix, n_reviewers)
    # assignment: distinct reviewers, never from the applicant's country, balanced loads
    load = np.zeros(n_reviewers)
    prop_idx: list[int] = []
    rev_idx: list[int] = []
    for p in range(n_proposals):
        ok = np.array([r_iso[j] != a_iso[p] for j in range(n_reviewers)])
        key = load + rng.random(n_reviewers) * 0.9 + np.where(ok, 0.0, 1e9)
        chosen = np.argsort(key)[:per_proposal]
        for j in chosen:
            load[j] += 1
            prop_idx.append(p)
            rev_idx.append(int(j))
    pi = np.array(prop_idx, dtype=np.int64)
    ri = np.array(rev_idx, dtype=np.int64)
    a_inc = np.array([_label(c, "income_group") for c in a_iso])
    quality = rng.normal(0.0, 0.8, n_proposals) - quality_gap * np.isin(
        a_inc, ["low", "lower-middle"]
    )
    region_shift = {"Africa": 0.15, "Americas": 0.05, "Asia": -0.1, "Europe": -0.15}
    leniency = rng.normal(0.0, 0.3, n_reviewers) + np.array(
        [region_shift.get(_label(c, "un_region"), 0.0) for c in r_iso]
    )
    scale = np.exp(rng.normal(0.0, scale_sd, n_reviewers))
    noise_sd = rng.uniform(*noise_range, n_reviewers)
    raw = (
        3.0 + scale[ri] * quality[pi] + leniency[ri] + rng.normal(0.0, 1.0, ri.size) * noise_sd[ri]
    )
    victim = np.zeros(n_proposals, dtype=bool)
    affected = np.zeros(ri.size, dtype=bool)
    if st is not None:
        rc, rgs = st.reviewers
        vc, vgs = st.victims
        victim = np.array([_label(c, vc) in vgs for c in a_iso])
        biased_r = np.array([_label(c, rc) in rgs for c in r_iso])
        affected = biased_r[ri] & victim[pi]

    def grade(x: NDArray[np.float64]) -> NDArray[np.float64]:
        return np.asarray(np.clip(np.round(x, 1), *grade_range), dtype=np.float64)

    biased = grade(raw - bias * affected)
    unbiased = grade(raw)
    data = BiasData(
        proposal_idx=pi,
        reviewer_idx=ri,
        grade=biased,
        n_proposals=n_proposals,
        n_reviewers=n_reviewers,
        reviewer_groups={c: [_label(x, c) for x in r_iso] for c in CUT_INDEX if c != "lmic"},
        applicant_groups={c: [_label(x, c) for x in a_iso] for c in CUT_INDEX},
    )
    return World(data, unbiased, affected, victim, quality, bias, st)


# --------------------------------------------------------------------------- evaluation


def _key(c: Interaction) -> tuple[str, str, str, str]:
    return (c.reviewer_cut, c.reviewer_group, c.applicant_cut, c.applicant_group)


def true_effects(world: World, model: BiasModel) -> dict[tuple[str, str, str, str], float]:
    """The planted bias as each tested cell sees it: the same model fitted to the noise-free
    bias term alone (0 for every cell in a world without bias)."""
    if world.bias == 0 or not world.affected.any():
        return {_key(c): 0.0 for c in model.interactions}
    d = world.data
    clean = BiasData(
        d.proposal_idx,
        d.reviewer_idx,
        -world.bias * world.affected.astype(np.float64),
        d.n_proposals,
        d.n_reviewers,
        d.reviewer_groups,
        d.applicant_groups,
    )
    truth = interaction_model(clean, weighting="none", min_cell_reviews=1, min_group_reviewers=1)
    got = {_key(c): c.estimate for c in truth.interactions}
    return {_key(c): got.get(_key(c), 0.0) for c in model.interactions}


@dataclass(frozen=True)
class Verdict:
    """How one fitted model did on one world.

    ``detected``: a flagged cell that the planted bias drives (true effect at least half the
    bias) with the right sign.  ``false_alarm``: in a world without bias, any flag.
    ``off_target``: flagged cells the bias does not drive (true effect under a tenth of it) or
    with the wrong sign.  ``estimate``/``truth``: the strongest target cell.
    """

    detected: bool
    any_flag: bool
    off_target: int
    estimate: float | None
    truth: float | None
    target_mdb: float | None


def judge(world: World, model: BiasModel) -> Verdict:
    truth = true_effects(world, model)
    b = abs(world.bias)
    flagged = model.flagged
    if b == 0:
        return Verdict(False, bool(flagged), len(flagged), None, None, None)
    targets = [c for c in model.interactions if abs(truth[_key(c)]) >= 0.5 * b]
    detected = any(
        c.significant and np.sign(c.estimate) == np.sign(truth[_key(c)]) for c in targets
    )
    off = sum(
        1
        for c in flagged
        if abs(truth[_key(c)]) < 0.1 * b or np.sign(c.estimate) != np.sign(truth[_key(c)])
    )
    best = max(targets, key=lambda c: abs(truth[_key(c)]) / c.se, default=None)
    return Verdict(
        detected,
        bool(flagged),
        off,
        None if best is None else best.estimate,
        None if best is None else truth[_key(best)],
        None if best is None else best.mdb,
    )


def ranking_gap(world: World, grades: NDArray[np.float64]) -> float:
    """Mean calibrated consensus of the victims minus that of everyone else, relative to the
    same world graded without the bias (0 = no trace of the bias in the consensus)."""
    d = world.data

    def consensus(g: NDArray[np.float64]) -> NDArray[np.float64]:
        lo = min(1.0, float(g.min()))
        hi = max(5.0, float(g.max()))
        half = max(3.0 - lo, hi - 3.0) + 1e-9
        gs = GradeSet(
            d.proposal_idx, d.reviewer_idx, g, d.n_proposals, d.n_reviewers,
            GradeScale(3.0 - half, 3.0 + half),
        )  # fmt: skip
        return calibrate(gs, n_bootstrap=0).consensus

    delta = consensus(grades) - consensus(world.unbiased_grade)
    v = world.victim
    if not v.any() or v.all():
        return 0.0
    return float(delta[v].mean() - delta[~v].mean())
