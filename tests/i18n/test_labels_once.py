"""A word for a code is written once: the label tables of the pages (``"key":
N_("Word")``) do not define again, in another module, a key with the same word; a page
that needs it takes it from the table that has it (``web.labels`` for words several
features show, a feature's ``labels`` or ``presenters`` for its own), so that the pages
cannot drift apart (the applicant's outcome page said ``awarded_partially`` where the
chair's decisions page said "partly awarded")."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import opencall

SRC = Path(opencall.__file__).parent
#: statuses of different records that happen to share a word (a proposal's, a team
#: member's, a review assignment's, a reviewer invitation's, a call's): not one label
DIFFERENT_THINGS = {"accepted", "declined", "draft"}


def label_entries(path: Path) -> set[tuple[str, str]]:
    """The ``(key, word)`` pairs of the dict literals of a module whose values are
    ``N_("...")``."""
    out: set[tuple[str, str]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Dict):
            continue
        for k, v in zip(node.keys, node.values, strict=True):
            if (
                isinstance(k, ast.Constant)
                and isinstance(k.value, str)
                and isinstance(v, ast.Call)
                and isinstance(v.func, ast.Name)
                and v.func.id == "N_"
                and len(v.args) == 1
                and isinstance(v.args[0], ast.Constant)
            ):
                out.add((k.value, v.args[0].value))
    return out


def test_each_label_is_defined_in_one_module() -> None:
    where: dict[tuple[str, str], list[str]] = defaultdict(list)
    for path in sorted(SRC.rglob("*.py")):
        if "migrations" in path.parts:
            continue
        for entry in label_entries(path):
            where[entry].append(str(path.relative_to(SRC)))
    again = {
        f"{k!r}: {w!r}": mods
        for (k, w), mods in where.items()
        if len(mods) > 1 and k not in DIFFERENT_THINGS
    }
    assert again == {}


def test_the_check_sees_a_label_written_twice(tmp_path: Path) -> None:
    """The scan finds a table's entries (so the check above can fail)."""
    f = tmp_path / "m.py"
    f.write_text('X = {"partial": N_("partly awarded"), "n": 1}\n', encoding="utf-8")
    assert label_entries(f) == {("partial", "partly awarded")}
