"""The child process: ``python -m opencall.proposals.pdfsafe OP SRC OUT LIMITS`` under an
address-space and CPU limit."""

from __future__ import annotations

import json
import sys

from opencall.proposals.pdfsafe import Limits
from opencall.proposals.pdfsafe.cleaning import _child_clean
from opencall.proposals.pdfsafe.inspection import _child_inspect


def _limit_resources(limits: Limits) -> None:
    try:
        import resource

        mem = limits.memory_bytes
        resource.setrlimit(resource.RLIMIT_AS, (mem, mem))
        cpu = int(max(limits.time_s, limits.scan_time_s)) + 5
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    except (ImportError, ValueError, OSError):  # pragma: no cover - non-POSIX
        pass


def _main(argv: list[str]) -> int:
    op, src, out, raw_limits = argv
    limits = Limits(**json.loads(raw_limits))
    _limit_resources(limits)
    try:
        if op == "clean":
            result = _child_clean(src, out, limits)
        elif op == "inspect":
            result = _child_inspect(src, out, limits)
        else:
            result = {"ok": False, "error": "unknown_op"}
    except MemoryError:
        result = {"ok": False, "error": "too_complex"}
    except Exception as exc:  # noqa: BLE001 - any parser failure is reported, not raised
        result = {"ok": False, "error": "unparseable", "detail": str(exc)[:200]}
    sys.stdout.write(json.dumps(result))
    sys.stdout.flush()
    return 0


if __name__ == "__main__":  # pragma: no cover - the child process
    raise SystemExit(_main(sys.argv[1:]))
