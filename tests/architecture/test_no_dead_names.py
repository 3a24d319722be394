"""No dead module-level names (house24): every function, class and constant a module of
``src/opencall`` defines at its top level is read somewhere, in the sources (Python,
templates, scripts), the tests, the benchmarks or the project's configuration; the
migrations (history) are not read. A function or class with a decorator registers itself
(a route, a command, a fixture) and a tuple or list of ``N_(...)`` markers is a catalogue
list for Babel: neither needs a reader. A single named ``N_(...)`` marker does: one that
nobody reads was a message no page shows, or one its template already says. Before
house24, 13 such names were left: ``MSG_BAD`` of reviews.recruitment,
``MSG_BAD_INVITATION`` of people.services, ``LATER_PART_STATES`` of allocation.models,
``MSG_CANNOT_EDIT`` of proposals.views.common, ``MSG_NAME`` of people.api, ``DECLINED``
of allocation.presenters and seven ``MSG_`` markers of proposals.views.editor that the
``safe_save_messages`` macro says itself."""

from __future__ import annotations

import ast
import re
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "opencall"
#: what is read for the uses of a name
READ = (".py", ".html", ".txt", ".js", ".toml", ".cfg", ".ini")
WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _is_marker(node: ast.expr) -> bool:
    return isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "N_"


def _catalogue_list(node: ast.expr) -> bool:
    return (
        isinstance(node, ast.Tuple | ast.List)
        and bool(node.elts)
        and all(_is_marker(e) for e in node.elts)
    )


def defined(path: Path) -> list[tuple[str, int]]:
    """(name, line) of the top-level names of one module that need a reader."""
    out: list[tuple[str, int]] = []
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            if not node.decorator_list:
                out.append((node.name, node.lineno))
        elif isinstance(node, ast.Assign | ast.AnnAssign) and node.value is not None:
            if _catalogue_list(node.value):
                continue
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            out.extend((t.id, node.lineno) for t in targets if isinstance(t, ast.Name))
    return [(n, line) for n, line in out if not n.startswith("__")]


def _words(path: Path) -> Counter[str]:
    try:
        return Counter(WORD.findall(path.read_text(encoding="utf-8")))
    except (UnicodeDecodeError, OSError):
        return Counter()


def dead_names(package: Path = PACKAGE, root: Path = ROOT) -> list[str]:
    """``module.py:line name`` of each name no file reads (its own definition aside)."""
    modules = [
        p for p in sorted(package.rglob("*.py")) if "migrations" not in p.relative_to(package).parts
    ]
    counts: dict[Path, Counter[str]] = {}
    for base in ("src", "tests", "bench", "tools"):
        for p in (root / base).rglob("*"):
            # this file names the names it found dead: it is no reader
            if p.is_file() and p.suffix in READ and p.resolve() != Path(__file__).resolve():
                counts[p] = _words(p)
    for extra in ("pyproject.toml", ".importlinter", "Makefile"):
        if (root / extra).is_file():
            counts[root / extra] = _words(root / extra)
    total: Counter[str] = Counter()
    for c in counts.values():
        total.update(c)
    out = []
    for module in modules:
        for name, line in defined(module):
            if total[name] <= 1:  # the definition is its only word
                out.append(f"{module.relative_to(package)}:{line} {name}")
    return out


def test_no_dead_module_names() -> None:
    assert dead_names() == []


def test_the_check_finds_a_planted_dead_name(tmp_path: Path) -> None:
    """A name planted in a copy of one module, read nowhere, is found; a catalogue list
    and a decorated function are not."""
    package = tmp_path / "src" / "opencall"
    package.mkdir(parents=True)
    (package / "planted.py").write_text(
        "def N_(s):\n    return s\n\n\n"
        "HOUSE24_UNREAD = N_('never shown')\n"
        "HOUSE24_LIST = (N_('a'), N_('b'))\n\n\n"
        "@N_\ndef house24_route():\n    pass\n\n\n"
        "def house24_helper():\n    return N_('x')\n",
        encoding="utf-8",
    )
    assert dead_names(package, tmp_path) == [
        "planted.py:5 HOUSE24_UNREAD",
        "planted.py:14 house24_helper",
    ]
