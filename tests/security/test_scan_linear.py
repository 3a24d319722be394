"""The anonymity scan reads a proposal's text in time linear in its length, whatever the
text: the e-mail pattern started a search at every character of a long run of letters,
dots or hyphens, and gave up only at the run's end (20,000 characters took 2 s, the
10 MB a form may carry days of the worker's CPU). Pure: no database."""

from __future__ import annotations

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
    text = "Write to a.b+c@mail.example.org, or x@y.cn; not @home or a@b. Then 1st.x@a-b.edu."
    assert [m.group() for m in EMAIL_RE.finditer(text)] == [
        "a.b+c@mail.example.org",
        "x@y.cn",
        "1st.x@a-b.edu",
    ]
    found = scan_text("Mail ximena.q@zri.example.tz now.", TEAM)
    assert ("email", "ximena.q@zri.example.tz") in {(f.kind, f.matched_text) for f in found}
