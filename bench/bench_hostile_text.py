"""Hostile text handed to pure text code: the clock's figures for what the tests bound
by counting work (``tests/security/test_scan_linear.py``,
``tests/security/test_message_depth.py``), each against its peer in the same run.

1. The anonymity scan's e-mail pattern (``EMAIL_RE``, local part bounded at 64
   characters) against the unbounded one it replaced, over 100,000 characters of a run
   of letters, dots or hyphens.
2. A composed message of 1,000 ``"a: "`` prefixes translated into French, with each
   template tried only where its literal text allows (now) and with every template's
   expression tried at every level (the code before: ``may_match`` forced true).

    PYTHONPATH=. .venv/bin/python bench/bench_hostile_text.py
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable

from opencall.errors import DomainError
from opencall.proposals.anonymity import EMAIL_RE
from opencall.web import i18n
from opencall.web.i18n import Translator

UNBOUNDED = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")


def _best(fn: Callable[[], object], repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return min(times)


def main() -> None:
    print("| case | now (CPU s) | peer (CPU s) | peer / now |")
    print("|---|---:|---:|---:|")
    for unit in ("a", "a.", "-", "x+"):
        text = unit * (100_000 // len(unit))
        now = _best(lambda t=text: list(EMAIL_RE.finditer(t)))
        short = text[:20_000]  # the unbounded pattern: 100,000 would take minutes
        peer20 = _best(lambda t=short: list(UNBOUNDED.finditer(t)), repeat=1)
        now20 = _best(lambda t=short: list(EMAIL_RE.finditer(t)))
        print(
            f"| e-mail pattern, 20,000 x {unit!r} | {now20:.4f} | {peer20:.2f} |"
            f" {peer20 / max(now20, 1e-6):,.0f} |"
        )
        print(f"| e-mail pattern, 100,000 x {unit!r} | {now:.4f} | (not run) | |")
    exc = DomainError.composed("a: " * 1000 + "Extra inputs are not permitted")
    fr = Translator("fr")
    fr.error(exc)  # the catalogue and templates loaded outside the clock
    now = _best(lambda: fr.error(exc))
    real = i18n._Template.may_match
    i18n._Template.may_match = lambda self, text: True  # type: ignore[method-assign]
    try:
        peer = _best(lambda: fr.error(exc))
    finally:
        i18n._Template.may_match = real  # type: ignore[method-assign]
    print(f"| 1,000 prefixes, French | {now:.4f} | {peer:.2f} | {peer / max(now, 1e-6):,.0f} |")


if __name__ == "__main__":
    main()
