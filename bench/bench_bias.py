"""Validation of the reviewer-group x applicant-group model (``opencall.optim.bias``) on seeded
synthetic worlds (``opencall.optim.bias_sim``): detection rate with the right sign, false-alarm
rate in worlds without bias, off-target flags, the reduction of the planted gap in the
calibrated consensus after correction, and whether the stated minimum detectable bias holds.

    .venv/bin/python bench/bench_bias.py --seeds 50                # the figures in bench/README.md
    .venv/bin/python bench/bench_bias.py --seeds 3 --mixedlm       # + statsmodels MixedLM timing

Writes ``bench/out/bias.json`` and prints a Markdown summary (``--markdown FILE`` writes it too).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from opencall.optim.bias import correct_grades, interaction_model
from opencall.optim.bias_sim import STRUCTURES, judge, make_world, ranking_gap

TARGET = ("un_region", "Europe", "lmic", "low or lower-middle")


def wilson(k: int, n: int) -> tuple[float, float]:
    if n == 0:
        return (0.0, 1.0)
    z = 1.959964
    p = k / n
    d = 1 + z * z / n
    c = (p + z * z / (2 * n)) / d
    h = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / d
    return (max(0.0, c - h), min(1.0, c + h))


def run_world(
    seed: int, structure: str, bias: float, n_proposals: int, gap: bool
) -> dict[str, Any]:
    w = make_world(seed, bias=bias, structure=structure, n_proposals=n_proposals)
    t0 = time.perf_counter()
    m = interaction_model(w.data)
    fit_s = time.perf_counter() - t0
    v = judge(w, m)
    out: dict[str, Any] = {
        "seed": seed,
        "structure": structure,
        "bias": bias,
        "affected_share": w.affected_share if bias else 0.0,
        "reviews": int(len(w.data.grade)),
        "tested": len(m.interactions),
        "flagged": len(m.flagged),
        "detected": v.detected,
        "any_flag": v.any_flag,
        "off_target": v.off_target,
        "estimate": v.estimate,
        "truth": v.truth,
        "target_mdb": v.target_mdb,
        "mdb_min": m.mdb_summary()["min"],
        "fit_s": fit_s,
    }
    if gap and bias:
        c = correct_grades(w.data, m)
        out["gap_before"] = ranking_gap(w, w.data.grade)
        out["gap_after"] = ranking_gap(w, c.grade)
        out["corrected_cells"] = len(c.cells)
    return out


def mdb_check(seeds: int, n_proposals: int) -> dict[str, Any]:
    """Plant, in each seed's world, a bias equal to the minimum detectable bias the model
    states for the target cell (Europe reviewers x low/lower-middle applicants) on the same
    world without bias; count how often that cell is then flagged with the right sign."""
    hits, stated = 0, []
    for s in range(seeds):
        null = make_world(10_000 + s, structure="region-vs-lmic", n_proposals=n_proposals)
        m0 = interaction_model(null.data)
        cell = next(
            c
            for c in m0.interactions
            if (c.reviewer_cut, c.reviewer_group, c.applicant_cut, c.applicant_group) == TARGET
        )
        stated.append(cell.mdb)
        w = make_world(
            10_000 + s, bias=cell.mdb, structure="region-vs-lmic", n_proposals=n_proposals
        )
        m = interaction_model(w.data)
        got = next(
            c
            for c in m.interactions
            if (c.reviewer_cut, c.reviewer_group, c.applicant_cut, c.applicant_group) == TARGET
        )
        hits += bool(got.significant and got.estimate < 0)
    return {
        "seeds": seeds,
        "stated_mdb_median": statistics.median(stated),
        "detected": hits,
        "rate": hits / seeds,
        "wilson95": wilson(hits, seeds),
    }


def mixedlm_timing(seeds: int, n_proposals: int) -> list[dict[str, Any]]:
    """statsmodels MixedLM (crossed proposal and reviewer variance components) on one cell,
    against this module's fit of every cell, on the same worlds."""
    import warnings

    import pandas as pd
    import statsmodels.formula.api as smf

    out = []
    for s in range(seeds):
        w = make_world(s, bias=0.5, structure="region-vs-lmic", n_proposals=n_proposals)
        d = w.data
        rg = np.asarray(d.reviewer_groups["un_region"])[d.reviewer_idx] == "Europe"
        ag = np.asarray(d.applicant_groups["lmic"])[d.proposal_idx] == "low or lower-middle"
        df = pd.DataFrame(
            {
                "y": d.grade,
                "p": d.proposal_idx,
                "r": d.reviewer_idx,
                "g": 1,
                "eu": rg.astype(float),
                "lm": ag.astype(float),
                "x": (rg & ag).astype(float),
            }
        )
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fit = smf.mixedlm(
                "y ~ eu + lm + x", df, groups="g", vc_formula={"p": "0 + C(p)", "r": "0 + C(r)"}
            ).fit()
        mixed_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        m = interaction_model(d)
        fe_s = time.perf_counter() - t0
        cell = next(
            c
            for c in m.interactions
            if (c.reviewer_cut, c.reviewer_group, c.applicant_cut, c.applicant_group) == TARGET
        )
        out.append(
            {
                "seed": s,
                "mixedlm_s_one_cell": mixed_s,
                "mixedlm_estimate": float(fit.params["x"]),
                "mixedlm_se": float(fit.bse["x"]),
                "mixedlm_warnings": sorted({type(c.message).__name__ for c in caught}),
                "fe_s_all_cells": fe_s,
                "fe_cells": len(m.interactions),
                "fe_estimate": cell.estimate,
                "fe_se": cell.se,
            }
        )
    return out


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    det = sum(r["detected"] for r in rows)
    flag = sum(r["any_flag"] for r in rows)
    off = sum(r["off_target"] > 0 for r in rows)
    out: dict[str, Any] = {
        "worlds": n,
        "affected_share": statistics.mean(r["affected_share"] for r in rows),
        "detected": det,
        "detected_wilson95": wilson(det, n),
        "any_flag": flag,
        "any_flag_wilson95": wilson(flag, n),
        "off_target_worlds": off,
        "target_mdb_median": statistics.median(
            [r["target_mdb"] for r in rows if r["target_mdb"] is not None] or [float("nan")]
        ),
        "fit_s_median": statistics.median(r["fit_s"] for r in rows),
    }
    gaps = [r for r in rows if "gap_before" in r]
    if gaps:
        before = [abs(r["gap_before"]) for r in gaps]
        after = [abs(r["gap_after"]) for r in gaps]
        out["gap_before_mean"] = statistics.mean(r["gap_before"] for r in gaps)
        out["gap_after_mean"] = statistics.mean(r["gap_after"] for r in gaps)
        out["abs_gap_after_mean"] = statistics.mean(after)
        # conservative: every leftover, over- or under-correction, counts against the reduction
        out["reduction"] = 1 - statistics.mean(after) / statistics.mean(before)
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--seeds", type=int, default=50)
    ap.add_argument("--proposals", type=int, default=400)
    ap.add_argument("--sizes", default="0.25,0.5,0.75,1.0")
    ap.add_argument("--structures", default=",".join(STRUCTURES))
    ap.add_argument("--mdb-seeds", type=int, default=None, help="default: --seeds")
    ap.add_argument("--mixedlm", action="store_true")
    ap.add_argument(
        "--gap-sizes", default="0.5", help="sizes whose correction is measured, or 'all'"
    )
    ap.add_argument("--out", default="bench/out/bias.json")
    ap.add_argument(
        "--merge", nargs="*", default=None, help="combine the JSON of runs split by structure"
    )
    ap.add_argument("--markdown", default=None)
    args = ap.parse_args(argv)
    sizes = [float(x) for x in args.sizes.split(",")]
    structures = args.structures.split(",")
    if args.merge:
        return merge(args.merge, args.markdown)
    t0 = time.time()
    results: dict[str, Any] = {
        "command": "bench/bench_bias.py " + " ".join(argv if argv is not None else sys.argv[1:]),
        "python": platform.python_version(),
        "load_before": os.getloadavg(),
        "proposals": args.proposals,
        "seeds": args.seeds,
        "bias": {},
        "null": {},
    }
    for st in structures:
        null_rows = [run_world(s, st, 0.0, args.proposals, False) for s in range(args.seeds)]
        results["null"][st] = summarise(null_rows)
        for size in sizes:
            gap = args.gap_sizes == "all" or size in [float(x) for x in args.gap_sizes.split(",")]
            rows = [run_world(s, st, size, args.proposals, gap) for s in range(args.seeds)]
            results["bias"][f"{st}@{size}"] = summarise(rows)
        print(f"done {st} ({time.time() - t0:.0f} s)", file=sys.stderr)
    all_null = [results["null"][st] for st in structures]
    k = sum(x["any_flag"] for x in all_null)
    n = sum(x["worlds"] for x in all_null)
    results["null_total"] = {"worlds": n, "any_flag": k, "wilson95": wilson(k, n)}
    mdb_seeds = args.seeds if args.mdb_seeds is None else args.mdb_seeds
    if mdb_seeds:
        results["mdb_check"] = mdb_check(mdb_seeds, args.proposals)
    if args.mixedlm:
        results["mixedlm"] = mixedlm_timing(min(args.seeds, 3), args.proposals)
    results["wall_s"] = time.time() - t0
    results["load_after"] = os.getloadavg()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))
    md = markdown(results, structures, sizes)
    print(md)
    if args.markdown:
        Path(args.markdown).write_text(md)
    return 0


def merge(paths: list[str], out_md: str | None) -> int:
    runs = [json.loads(Path(p).read_text()) for p in paths]
    res: dict[str, Any] = {
        "command": [r["command"] for r in runs],
        "proposals": runs[0]["proposals"],
        "seeds": runs[0]["seeds"],
        "wall_s": max(r["wall_s"] for r in runs),
        "bias": {},
        "null": {},
    }
    for r in runs:
        res["bias"].update(r["bias"])
        res["null"].update(r["null"])
        if "mdb_check" in r:
            res["mdb_check"] = r["mdb_check"]
        if "mixedlm" in r:
            res["mixedlm"] = r["mixedlm"]
    k = sum(x["any_flag"] for x in res["null"].values())
    n = sum(x["worlds"] for x in res["null"].values())
    res["null_total"] = {"worlds": n, "any_flag": k, "wilson95": wilson(k, n)}
    structures = list(res["null"])
    sizes = sorted({float(key.split("@")[1]) for key in res["bias"]})
    for st in structures:
        for size in sizes:
            res["bias"].setdefault(f"{st}@{size}", None)
    md = markdown(res, structures, sizes)
    print(md)
    if out_md:
        Path(out_md).write_text(md)
    return 0


def markdown(res: dict[str, Any], structures: list[str], sizes: list[float]) -> str:
    lines = [
        f"Worlds of {res['proposals']} proposals, 3 reviews each, {res['seeds']} seeds per row "
        f"unless the worlds column says otherwise; wall {res['wall_s']:.0f} s.",
        "",
        "| structure | bias | affected reviews | detected, right sign | 95 % interval "
        "| worlds with an off-target flag | consensus gap before -> after correction "
        "| gap removed | stated MDB of the best target cell (median) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for st in structures:
        for size in sizes:
            r = res["bias"][f"{st}@{size}"]
            if r is None:
                continue
            lo, hi = r["detected_wilson95"]
            gap = (
                f"{r['gap_before_mean']:+.3f} -> {r['gap_after_mean']:+.3f} | {r['reduction']:.0%}"
                if "reduction" in r
                else "| "
            )
            lines.append(
                f"| {st} | {size:g} | {r['affected_share']:.0%} | {r['detected']}/{r['worlds']} "
                f"({r['detected'] / r['worlds']:.0%}) | {lo:.0%}-{hi:.0%} "
                f"| {r['off_target_worlds']}/{r['worlds']} "
                f"| {gap} | {r['target_mdb_median']:.2f} |"
            )
    lines += [
        "",
        "| worlds without bias (mix of) | any flag | 95 % interval |",
        "|---|---|---|",
    ]
    for st in structures:
        r = res["null"][st]
        lo, hi = r["any_flag_wilson95"]
        lines.append(f"| {st} | {r['any_flag']}/{r['worlds']} | {lo:.1%}-{hi:.1%} |")
    t = res["null_total"]
    lines.append(
        f"| **all** | **{t['any_flag']}/{t['worlds']} ({t['any_flag'] / t['worlds']:.1%})** "
        f"| {t['wilson95'][0]:.1%}-{t['wilson95'][1]:.1%} |"
    )
    mc = res.get("mdb_check")
    if mc:
        lines += [
            "",
            f"Minimum detectable bias check: planting in each world exactly the MDB the model "
            f"states for Europe reviewers x low/lower-middle applicants (median "
            f"{mc['stated_mdb_median']:.2f} points), that cell was flagged with the right sign "
            f"in {mc['detected']}/{mc['seeds']} worlds ({mc['rate']:.0%}, 95 % interval "
            f"{mc['wilson95'][0]:.0%}-{mc['wilson95'][1]:.0%}; the statement promises 80 %).",
        ]
    if "mixedlm" in res:
        lines += [
            "",
            "| seed | MixedLM, one cell | ours, all cells | MixedLM est (se) | ours est (se) |",
        ]
        lines.append("|---|---|---|---|---|")
        for r in res["mixedlm"]:
            lines.append(
                f"| {r['seed']} | {r['mixedlm_s_one_cell']:.2f} s | {r['fe_s_all_cells']:.3f} s "
                f"({r['fe_cells']} cells) | {r['mixedlm_estimate']:+.3f} ({r['mixedlm_se']:.3f}) "
                f"| {r['fe_estimate']:+.3f} ({r['fe_se']:.3f}) |"
            )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    raise SystemExit(main())
