"""The anonymity scan reads a proposal's text in time linear in its length, whatever the
text: the e-mail pattern started a search at every character of a long run of letters,
dots or hyphens, and gave up only at the run's end (now: 64 characters ahead at most) (20,000 characters took 2 s, the
10 MB a form may carry days of the worker's CPU). Pure: no database."""

from __future__ import annotations

import random
import re
import time

import pytest

from opencall.proposals.anonymity import EMAIL_RE, TeamIdentity, scan_text

TEAM = [TeamIdentity(name="Ximena Quispe-Tupac", institution="Zanzibar Radio Institute")]


@pytest.mark.parametrize("unit", ["a", "a.", "-", "Zanzibar-", "x+"])
def test_a_long_run_is_scanned_in_linear_time(unit: str) -> None:
    text = unit * (100_000 // len(unit))
    t = time.process_time()
    scan_text(text, TEAM)
    used = time.process_time() - t
    assert used < 1.5, f"{used:.1f} s of CPU for 100,000 characters of {unit!r}"


def test_addresses_are_found_as_before() -> None:
    """The same matches as the unbounded pattern wherever a local part has 64 characters
    at most (glued addresses too)."""
    unbounded = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")
    text = (
        "Write to a.b+c@mail.example.org, or x@y.cn; not @home or a@b. Then 1st.x@a-b.edu."
        " Glued: p@q.org.r@s.org, " + "l" * 64 + "@long.example"
    )
    found = [m.span() for m in EMAIL_RE.finditer(text)]
    assert found == [m.span() for m in unbounded.finditer(text)]
    assert [text[a:b] for a, b in found][:3] == [
        "a.b+c@mail.example.org",
        "x@y.cn",
        "1st.x@a-b.edu",
    ]
    assert len(found) == 5
    rng = random.Random(1)
    for _ in range(3000):
        t = "".join(rng.choice("ab.+-@x Z1_\u00e9") for _ in range(rng.randint(0, 40)))
        assert [m.span() for m in EMAIL_RE.finditer(t)] == [
            m.span() for m in unbounded.finditer(t)
        ], t
    found_in_scan = scan_text("Mail ximena.q@zri.example.tz now.", TEAM)
    assert ("email", "ximena.q@zri.example.tz") in {(f.kind, f.matched_text) for f in found_in_scan}
