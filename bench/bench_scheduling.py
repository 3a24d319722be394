"""Benchmark: OpenCall's FAST block scheduler against astroplan 0.10.1 on the same instances.

Usage:
    .venv/bin/python bench/bench_scheduling.py --sizes 20,50,100,200,500,1000,2000 \
        [--skip-astroplan-above N] [--timeout 3600] [--out bench/out/scheduling.json]

To rerun only OpenCall and compare with the astroplan rows of an earlier run on the same
instances (instances depend only on N and --seed):
    .venv/bin/python bench/bench_scheduling.py --skip-astroplan-above 0 \
        --astroplan-from bench/out/scheduling_run2.json --out bench/out/scheduling_run3.json

Instances (seeded): observer at FAST, a 7-day window from 2026-12-01T00:00Z (radio: day
and night, no twilight constraint), altitude >= 50 deg (zenith <= 40 deg), N blocks with RA
uniform in 0..360, Dec uniform on the sphere within -14..+66, durations 30..240 min in
5-min steps, priority 1..5 (1 best).  Setup 2 min + slew at 0.2 deg/s between blocks.

astroplan setup: ``Transitioner(slew_rate=0.2 deg/s, instrument_reconfig_times={"setup":
{"default": 2 min}})`` with every block carrying a distinct ``configuration={"setup": i}``,
so every transition costs 2 min + slew (great-circle separation in alt-az), exactly our
model; the first block of the window has no transition in either.  Global constraint
``AltitudeConstraint(min=50 deg)``; ``time_resolution=60 s``.

Each scheduler runs in its own subprocess (clean peak RSS: VmHWM of the worker, which
includes the interpreter and imported libraries), and every schedule -- ours and
astroplan's -- is judged by OpenCall's one-second checker (``FastScheduleResult.check``),
which tests every second of every block and its exact end.  astroplan computes altitudes
with the full astropy ICRS->AltAz chain while we use a closed-form model that agrees with
it to < 0.01 deg, so zenith violations are reported both strictly and beyond 0.01 deg.

Every schedule is also judged by astropy itself (``check_zenith_with_astropy``: every whole
second of every block and its exact end, full ICRS->AltAz chain offline, refraction off,
astropy's ErfaAstromInterpolator at 300 s, no tolerance): column "astropy" counts the
blocks with a second past the limit, "worst" is the worst excess in arc seconds.
``--days 30`` gives a 30-day window; ``--no-margin`` adds OpenCall with
``zenith_margin_deg=0`` (the closed-form model alone) on the same instances.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

from opencall.optim.scheduling import (  # noqa: E402
    FastBlock,
    FastScheduleProblem,
    ScheduledEntry,
    check_zenith_with_astropy,
    result_from_entries,
    schedule_fast,
)

WINDOW_START_UNIX = 1796083200.0  # 2026-12-01T00:00:00Z
WINDOW_DAYS = 7.0
SCHEDULERS = ("opencall", "astroplan_priority", "astroplan_sequential")
#: OpenCall with ``zenith_margin_deg=0`` (the closed-form model trusted alone, as before
#: the astropy margin): run with --no-margin to show what the margin changes
NO_MARGIN = "opencall_no_margin"


def make_problem(
    n: int, seed: int, days: float = WINDOW_DAYS, margin: float | None = None
) -> FastScheduleProblem:
    rng = np.random.default_rng(seed)
    lo, hi = np.sin(np.radians(-14.0)), np.sin(np.radians(66.0))
    ra = rng.uniform(0.0, 360.0, n)
    dec = np.degrees(np.arcsin(rng.uniform(lo, hi, n)))
    dur_min = rng.integers(6, 49, n) * 5  # 30..240 min in 5-min steps
    prio = rng.integers(1, 6, n)
    blocks = tuple(
        FastBlock(
            id=f"b{i:05d}",
            ra_deg=float(ra[i]),
            dec_deg=float(dec[i]),
            duration_s=float(dur_min[i] * 60),
            priority=int(prio[i]),
            max_zenith_deg=40.0,
        )
        for i in range(n)
    )
    return FastScheduleProblem(
        window_start_unix=WINDOW_START_UNIX,
        window_end_unix=WINDOW_START_UNIX + days * 86400.0,
        blocks=blocks,
        setup_s=120.0,
        slew_deg_per_s=0.2,
        zenith_margin_deg=margin,
    )


def _peak_rss_mib() -> float:
    """Peak RSS of this process image (VmHWM).  ``getrusage``'s ru_maxrss is not used on
    Linux because it carries the parent's peak over fork+exec."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def run_opencall(problem: FastScheduleProblem, seed: int) -> dict[str, Any]:
    t = time.perf_counter()
    res = schedule_fast(problem, seed=seed)
    wall = time.perf_counter() - t
    return {
        "wall_s": wall,
        "entries": [[e.block_id, e.start_unix, e.end_unix] for e in res.entries],
        "method": res.stats.method,
        "exact_status": res.stats.exact_status,
        "full_gain_fraction": res.full_gain_fraction,
    }


def run_astroplan(problem: FastScheduleProblem, which: str) -> dict[str, Any]:
    import warnings

    import astropy.units as u
    from astropy.coordinates import EarthLocation, SkyCoord
    from astropy.time import Time
    from astropy.utils import iers

    iers.conf.auto_download = False
    iers.conf.auto_max_age = None
    warnings.simplefilter("ignore")
    from astroplan import FixedTarget, Observer
    from astroplan.constraints import AltitudeConstraint
    from astroplan.scheduling import (
        ObservingBlock,
        PriorityScheduler,
        Schedule,
        SequentialScheduler,
        Transitioner,
    )

    site = problem.site
    observer = Observer(
        location=EarthLocation(
            lat=site.lat_deg * u.deg, lon=site.lon_deg * u.deg, height=site.height_m * u.m
        ),
        name="FAST",
    )
    blocks = [
        ObservingBlock(
            FixedTarget(SkyCoord(b.ra_deg * u.deg, b.dec_deg * u.deg), name=b.id),
            b.duration_s * u.s,
            b.priority,
            configuration={"setup": i},
        )
        for i, b in enumerate(problem.blocks)
    ]
    transitioner = Transitioner(
        slew_rate=problem.slew_deg_per_s * u.deg / u.s,
        instrument_reconfig_times={"setup": {"default": problem.setup_s * u.s}},
    )
    constraints = [AltitudeConstraint(min=(90.0 - 40.0) * u.deg)]
    cls = PriorityScheduler if which == "astroplan_priority" else SequentialScheduler
    scheduler = cls(
        constraints=constraints,
        observer=observer,
        transitioner=transitioner,
        time_resolution=60 * u.s,
    )
    schedule = Schedule(
        Time(problem.window_start_unix, format="unix"),
        Time(problem.window_end_unix, format="unix"),
    )
    crash = None
    t = time.perf_counter()
    try:
        scheduler(blocks, schedule)
    except Exception as exc:  # astroplan bugs are reported, not hidden
        crash = f"{type(exc).__name__}: {exc}".splitlines()[0][:200]
        traceback.print_exc()
    wall = time.perf_counter() - t
    sched = scheduler.schedule if hasattr(scheduler, "schedule") else schedule
    entries = []
    for ob in sched.observing_blocks:
        entries.append([ob.target.name, float(ob.start_time.unix), float(ob.end_time.unix)])
    return {"wall_s": wall, "entries": entries, "crash": crash}


def worker(which: str, n: int, seed: int, out: str, days: float) -> None:
    problem = make_problem(n, seed, days, 0.0 if which == NO_MARGIN else None)
    base = _peak_rss_mib()
    if which in ("opencall", NO_MARGIN):
        rec = run_opencall(problem, seed)
    else:
        rec = run_astroplan(problem, which)
    rec["peak_rss_mib"] = _peak_rss_mib()
    rec["rss_before_mib"] = base
    Path(out).write_text(json.dumps(rec))


def evaluate(problem: FastScheduleProblem, rec: dict[str, Any]) -> dict[str, Any]:
    entries = [ScheduledEntry(bid, float(s), float(e)) for bid, s, e in rec.get("entries", [])]
    res = result_from_entries(problem, entries)
    strict = res.check(problem, tol_deg=0.0, tol_s=1e-3)
    loose = res.check(problem, tol_deg=0.01, tol_s=1.0)

    def count(errs: list[str]) -> tuple[int, int]:
        z = sum(1 for x in errs if "zenith" in x)
        other = sum(1 for x in errs if "zenith" not in x)
        return z, other

    zs, other = count(strict)
    zl, other_l = count(loose)
    t = time.perf_counter()
    by_astropy = check_zenith_with_astropy(problem, res, interpolate_s=300.0)
    judge_s = time.perf_counter() - t
    n_seconds = int(sum(np.floor(e.end_unix - e.start_unix) + 2 for e in entries))
    worst = max((float(x.split("deg, ")[1].split(" arcsec")[0]) for x in by_astropy), default=0.0)
    return {
        "zenith_viol_astropy": len(by_astropy),
        "astropy_worst_arcsec": worst,
        "astropy_examples": by_astropy[:3],
        "astropy_seconds_judged": n_seconds,
        "astropy_judge_s": judge_s,
        "scheduled": len({e.block_id for e in entries}),
        "observing_pct": 100.0 * res.observing_fraction,
        "weighted_hours": res.priority_weighted_hours,
        "zenith_viol_strict": zs,
        "zenith_viol_0p01": zl,
        "other_viol": other,
        "other_viol_1s": other_l,
        "violation_examples": strict[:3],
        "loose_violation_examples": loose[:3],
    }


def sky_timings(n: int = 100_000, repeat: int = 5) -> dict[str, float]:
    """Microseconds per target of the closed-form sky geometry (best of ``repeat``)."""
    from opencall.optim import sky

    rng = np.random.default_rng(0)
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(np.sin(np.radians(-14)), np.sin(np.radians(66)), n)))
    t0 = WINDOW_START_UNIX
    times = t0 + rng.uniform(0, 7 * 86400, n)
    cases = {
        "hour_angle_limit_hours": lambda: sky.hour_angle_limit_hours(dec),
        "lst_windows": lambda: sky.lst_windows(ra, dec),
        "lst_fraction_in_bins (24 bins)": lambda: sky.lst_fraction_in_bins(ra, dec),
        "lst_hours (per time)": lambda: sky.lst_hours(times),
        "zenith_angle_deg (per target-time)": lambda: sky.zenith_angle_deg(
            ra, dec, times, epoch_unix=t0
        ),
        "visible_intervals (7-day window)": lambda: sky.visible_intervals(
            ra, dec, t0, t0 + 7 * 86400.0
        ),
    }
    out: dict[str, float] = {}
    for name, fn in cases.items():
        best = float("inf")
        for _ in range(repeat):
            t = time.perf_counter()
            fn()
            best = min(best, time.perf_counter() - t)
        out[name] = best / n * 1e6
    return out


def _print_row(row: dict[str, Any]) -> None:
    n, which, note = row["n"], row["scheduler"], row["note"]
    if "scheduled" in row:
        print(
            f"{n:>5} {which:<21} {row['wall_s']:>8.2f} {row['peak_rss_mib']:>9.0f} "
            f"{row['scheduled']:>6} {row['observing_pct']:>6.2f} "
            f"{row['weighted_hours']:>8.1f} {row['zenith_viol_strict']:>7} "
            f"{row['zenith_viol_0p01']:>7} {row['other_viol']:>4} {row['other_viol_1s']:>6} "
            f"{row.get('zenith_viol_astropy', '-'):>7} {row.get('astropy_worst_arcsec', 0.0):>7.1f}"
            f"  {note}",
            flush=True,
        )
    else:
        print(f"{n:>5} {which:<21} {'-':>8} {'-':>9}  {note}", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="20,50,100,200,500,1000,2000")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--days", type=float, default=WINDOW_DAYS, help="window length in days")
    ap.add_argument(
        "--no-margin",
        action="store_true",
        help=f"also run OpenCall with zenith_margin_deg=0 (row {NO_MARGIN!r})",
    )
    ap.add_argument("--skip-astroplan-above", type=int, default=None)
    ap.add_argument("--timeout", type=float, default=3600.0, help="per scheduler run, seconds")
    ap.add_argument(
        "--sequential-timeout",
        type=float,
        default=None,
        help="cap for astroplan's SequentialScheduler runs (default: --timeout)",
    )
    ap.add_argument(
        "--astroplan-from",
        default=None,
        help="JSON of an earlier run (same sizes and seed): print and keep its astroplan rows "
        "for the sizes where astroplan is skipped, labelled as stored",
    )
    ap.add_argument("--out", default=str(ROOT / "bench" / "out" / "scheduling.json"))
    ap.add_argument("--sky-only", action="store_true", help="only the sky-geometry timings")
    ap.add_argument(
        "--worker", nargs=5, metavar=("WHICH", "N", "SEED", "OUT", "DAYS"), help="internal"
    )
    args = ap.parse_args()
    if args.worker:
        which, n, seed, out, days = args.worker
        worker(which, int(n), int(seed), out, float(days))
        return
    sizes = [int(x) for x in args.sizes.split(",") if x]
    out_path = Path(args.out)
    out_path.parent.mkdir(parents=True, exist_ok=True)
    print("sky geometry, 100k targets, microseconds per target:")
    for name, us in sky_timings().items():
        print(f"  {name:<36} {us:8.3f} us")
    if args.sky_only:
        return
    rows: list[dict[str, Any]] = []
    stored: list[dict[str, Any]] = []
    if args.astroplan_from:
        stored = json.loads(Path(args.astroplan_from).read_text())
    print(
        f"{'N':>5} {'scheduler':<21} {'wall s':>8} {'peak MiB':>9} {'sched':>6} {'obs %':>6} "
        f"{'w-hours':>8} {'z-viol':>7} {'z>0.01':>7} {'gap':>4} {'gap>1s':>6} "
        f"{'astropy':>7} {'worst':>7}  note",
        flush=True,
    )
    for n in sizes:
        for which in SCHEDULERS + ((NO_MARGIN,) if args.no_margin else ()):
            judged = make_problem(n, args.seed, args.days, 0.0 if which == NO_MARGIN else None)
            if (
                which.startswith("astroplan")
                and args.skip_astroplan_above is not None
                and n > args.skip_astroplan_above
            ):
                for old in stored:
                    if (
                        old["n"] == n
                        and old["scheduler"] == which
                        and old.get("seed", 0) == args.seed
                        and old.get("days", WINDOW_DAYS) == args.days
                    ):
                        row = dict(old, note=f"stored from {args.astroplan_from}: {old['note']}")
                        rows.append(row)
                        _print_row(row)
                continue
            tmp = out_path.parent / f"_worker_{which}_{n}.json"
            if tmp.exists():
                tmp.unlink()
            cmd = [sys.executable, __file__, "--worker", which, str(n), str(args.seed), str(tmp)]
            cmd.append(str(args.days))
            note = ""
            t = time.perf_counter()
            try:
                limit = args.timeout
                if which == "astroplan_sequential" and args.sequential_timeout is not None:
                    limit = args.sequential_timeout
                proc = subprocess.run(
                    cmd, capture_output=True, text=True, timeout=limit, env=os.environ
                )
                if proc.returncode != 0:
                    note = f"worker exit {proc.returncode}: {proc.stderr.strip()[-200:]}"
            except subprocess.TimeoutExpired:
                note = f"timeout after {limit:.0f} s"
            outer = time.perf_counter() - t
            rec: dict[str, Any] = json.loads(tmp.read_text()) if tmp.exists() else {}
            if tmp.exists():
                tmp.unlink()
            if rec.get("crash"):
                note = f"CRASHED after {rec['wall_s']:.1f} s ({rec['crash']}); partial schedule"
            row: dict[str, Any] = {
                "n": n,
                "seed": args.seed,
                "days": args.days,
                "scheduler": which,
                "wall_s": rec.get("wall_s"),
                "process_s": outer,
                "peak_rss_mib": rec.get("peak_rss_mib"),
                "note": note,
                "crash": rec.get("crash"),
            }
            if rec:
                row.update(evaluate(judged, rec))
                row["entries"] = rec.get("entries", [])
            rows.append(row)
            out_path.write_text(json.dumps(rows, indent=1))
            _print_row(row)
    out_path.write_text(json.dumps(rows, indent=1))
    print(f"wrote {out_path}")


if __name__ == "__main__":
    main()
