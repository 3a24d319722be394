"""The after-award bootstraps as they were computed before they were batched
(``after_award.time_to_first_result``, ``after_award.result_shares``): the peer the
tests check the batched ones against, to the last bit, and ``bench/bench_after_award.py``
times them against."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from opencall.outcomes import after_award as aa


def time_to_first_result_before(
    rows: Sequence[aa.AfterAwardRow],
    by: str,
    order: Sequence[str] | None = None,
    *,
    n_boot: int = 500,
    seed: int = 0,
) -> list[aa.TimeToResult]:
    """``after_award.time_to_first_result`` as it was: 500 Kaplan-Meier estimates per
    group, one replicate at a time."""
    rng = np.random.default_rng(seed)
    out = []
    for g, members in aa._grouped(rows, by, order).items():
        times = np.array(
            [
                r.days_to_first_result if r.days_to_first_result is not None else r.follow_up_days
                for r in members
            ],
            dtype=float,
        )
        events = np.array([r.days_to_first_result is not None for r in members])
        med = aa.km_median(times, events)
        lo = hi = None
        if med is not None and len(members) >= 2:
            boots = []
            for _ in range(n_boot):
                idx = rng.integers(0, len(members), len(members))
                m = aa.km_median(times[idx], events[idx])
                boots.append(np.inf if m is None else m)
            lo_v, hi_v = np.quantile(np.array(boots), [0.025, 0.975], method="inverted_cdf")
            lo = float(lo_v)
            hi = None if not np.isfinite(hi_v) else float(hi_v)
        followed = [
            r
            for r in members
            if r.follow_up_days >= 365
            or (r.days_to_first_result is not None and r.days_to_first_result <= 365)
        ]
        k = sum(
            1
            for r in followed
            if r.days_to_first_result is not None and r.days_to_first_result <= 365
        )
        wlo, whi = aa.wilson_interval(k, len(followed))
        out.append(
            aa.TimeToResult(
                group=g,
                awarded=len(members),
                with_result=int(events.sum()),
                median_days=med,
                median_low=lo,
                median_high=hi,
                followed_a_year=len(followed),
                within_a_year=k,
                within_a_year_low=wlo,
                within_a_year_high=whi,
            )
        )
    return out


def result_shares_before(
    rows: Sequence[aa.AfterAwardRow],
    by: str,
    order: Sequence[str] | None = None,
    *,
    n_boot: int = 1000,
    seed: int = 0,
) -> list[aa.ResultShareRow]:
    """``after_award.result_shares`` as it was: each group's draws masked and added
    up apart."""
    n = len(rows)
    results = np.array([sum(int(v) for v in r.outputs.values()) for r in rows], dtype=float)
    total = float(results.sum())
    groups = {g: m for g, m in aa._grouped(rows, by, order).items() if g != "all"}
    member = {g: np.array([r.groups.get(by, "unknown") == g for r in rows]) for g in groups}
    # the bootstrap, 100 replicates at a time (a provider's call has thousands of awards)
    boot: dict[str, tuple[list[float], list[float]]] = {g: ([], []) for g in groups}
    rng = np.random.default_rng(seed)
    for start in range(0, n_boot if total and n else 0, 100):
        idx = rng.integers(0, n, (min(100, n_boot - start), n))
        got, tot = results[idx], results[idx].sum(axis=1)
        ok = tot > 0
        for g, mask in member.items():
            in_g = mask[idx]
            boot[g][0].extend(((got * in_g).sum(axis=1)[ok] / tot[ok]).tolist())
            boot[g][1].extend(in_g.mean(axis=1)[ok].tolist())
    out = []
    for g, members in groups.items():
        mine = member[g]
        k = len(members)
        a_share, a_lo, a_hi = aa.share(k, n)
        got_g = float(results[mine].sum()) if n else 0.0
        r_share = got_g / total if total else None
        r_lo = r_hi = d_lo = d_hi = None
        if boot[g][0]:
            rs, aws = np.array(boot[g][0]), np.array(boot[g][1])
            r_lo, r_hi = (float(x) for x in np.quantile(rs, [0.025, 0.975]))
            d_lo, d_hi = (float(x) for x in np.quantile(rs - aws, [0.025, 0.975]))
        out.append(
            aa.ResultShareRow(
                group=g,
                awards=k,
                award_share=a_share,
                award_share_low=a_lo,
                award_share_high=a_hi,
                results=int(got_g),
                result_share=r_share,
                result_share_low=r_lo,
                result_share_high=r_hi,
                difference=None if r_share is None or a_share is None else r_share - a_share,
                difference_low=d_lo,
                difference_high=d_hi,
                judged=bool(total) and min(k, n - k) >= aa.MIN_JUDGED_AWARDS,
            )
        )
    return out
