"""The CPU a test file costs: main's version of the file against this tree's, in the same
run (docs/testing.md, "speed16").

Main's version (``git show main:PATH``) is written beside it as a temporary test file and
both are run in one pytest process each (``-p no:xdist``), one after the other, with the
suite's ``--cpu-report``; the script prints each test's CPU seconds (user + system) and
each file's sum, then removes the temporary file. Set ``OPENCALL_TEST_POSTGRES_URL`` for
the PostgreSQL cases, as the suite does.

    PYTHONPATH=. .venv/bin/python bench/bench_test_file_cpu.py tests/test_demo.py
    PYTHONPATH=. .venv/bin/python bench/bench_test_file_cpu.py -k openapi tests/scale/test_api_pages.py
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path


def cpu_by_test(report: Path) -> dict[str, float]:
    """The ``# test:`` section of a ``--cpu-report`` file: test id -> CPU seconds."""
    out: dict[str, float] = {}
    section = False
    for line in report.read_text().splitlines():
        if line.startswith("# test:"):
            section = True
        elif line.startswith("#"):
            section = False
        elif section and line.strip():
            fields = line.split()  # CPU, (setup call teardown), the test's id
            out[fields[-1].split("::", 1)[1]] = float(fields[0])
    return out


def run(path: Path, report: Path, select: str | None = None) -> dict[str, float]:
    subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider"]
        + ["--timeout=0", "--cpu-report", str(report), str(path)]
        + (["-k", select] if select else []),
        check=True,
    )
    return cpu_by_test(report)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("path", type=Path, help="a test file of this tree (tests/...)")
    ap.add_argument("--base", default="main", help="the git revision to compare with")
    ap.add_argument("-k", dest="select", help="only the tests pytest's -k selects, in both")
    args = ap.parse_args()
    before_src = subprocess.run(
        ["git", "show", f"{args.base}:{args.path}"], check=True, capture_output=True, text=True
    ).stdout
    copy = args.path.with_name(f"test_zz_bench_{args.base}_{args.path.name[5:]}")
    copy.write_text(before_src)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            before = run(copy, Path(tmp) / "before.txt", args.select)
            after = run(args.path, Path(tmp) / "after.txt", args.select)
    finally:
        copy.unlink()
    print(f"\n{'test':78} {args.base:>8} {'now':>8}")
    for test in sorted(set(before) | set(after)):
        b, a = before.get(test), after.get(test)
        print(
            f"{test:78} {'-' if b is None else f'{b:.2f}':>8} {'-' if a is None else f'{a:.2f}':>8}"
        )
    print(f"{'the file':78} {sum(before.values()):8.2f} {sum(after.values()):8.2f}")


if __name__ == "__main__":
    main()
