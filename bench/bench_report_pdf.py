"""The call's report PDF: fpdf2's default (a deep copy of the glyph outline for every
letter of the charts) against shared glyphs (``report_pdf.SHARE_SVG_USES``), in the
same run, for each language. CPU seconds (``time.process_time``), median of --reps.

The demo world is built into a temporary SQLite file (``opencall demo build``, about
a minute) unless --db names one already built.

    nice .venv/bin/python bench/bench_report_pdf.py --call fast-2027 --reps 3
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def build_demo(url: str) -> None:
    env = {**os.environ, "OPENCALL_DATABASE_URL": url}
    exe = str(Path(sys.executable).with_name("opencall"))
    for args in (["db", "upgrade"], ["demo", "build", "--seed", "1"]):
        subprocess.run([exe, *args], env=env, check=True, capture_output=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--call", default="fast-2027")
    ap.add_argument("--langs", default="en,fr,es,zh")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--db", help="an SQLite file with the demo world already built")
    ap.add_argument("--out", default="bench/out/report_pdf.json")
    args = ap.parse_args()

    from opencall.calls.queries import call_by_slug
    from opencall.db import make_engine, make_sessionmaker
    from opencall.outcomes import queries as oq
    from opencall.outcomes import report as oa
    from opencall.outcomes import report_pdf
    from opencall.web.i18n import Translator

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{args.db or Path(tmp) / 'demo.db'}"
        if not args.db:
            build_demo(url)
        with make_sessionmaker(make_engine(url))() as s:
            call = call_by_slug(s, args.call)
            assert call is not None, f"no call {args.call!r}"
            data = oq.report(s, call)

    def cpu(lang: str, share: bool) -> float:
        report_pdf.SHARE_SVG_USES = share
        start = time.process_time()
        oa.report_pdf(data, Translator(lang), lang)
        return time.process_time() - start

    results = {}
    for lang in args.langs.split(","):
        cpu(lang, True)  # warm: imports, font maps
        times: dict[str, list[float]] = {"copied": [], "shared": []}
        for _ in range(args.reps):
            times["copied"].append(cpu(lang, False))
            times["shared"].append(cpu(lang, True))
        before, after = (statistics.median(times[k]) for k in ("copied", "shared"))
        results[lang] = {"copied_s": before, "shared_s": after, "ratio": before / after}
        print(f"{lang}: copied {before:.2f} s, shared {after:.2f} s CPU, x{before / after:.1f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
