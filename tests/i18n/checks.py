"""The checks of ``DomainError`` message ids, as functions of their inputs so that
tests can show each one failing on a planted defect (``test_domain_messages.py``)."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.frontend import parse_mapping_cfg

SRC = Path(__file__).resolve().parents[2] / "src" / "opencall"
BABEL_CFG = SRC / "web" / "babel.cfg"
PLACEHOLDER = re.compile(r"%\((\w+)\)")


def _is_domain_error(func: ast.expr) -> bool:
    return (isinstance(func, ast.Name) and func.id == "DomainError") or (
        isinstance(func, ast.Attribute) and func.attr == "DomainError"
    )


def scan_source(text: str, where: str) -> tuple[dict[str, str], list[str]]:
    """(msg id -> file:line, [calls whose id is not a string literal]) of one file."""
    ids: dict[str, str] = {}
    bad: list[str] = []
    for node in ast.walk(ast.parse(text, where)):
        if not (isinstance(node, ast.Call) and _is_domain_error(node.func)):
            continue
        first = node.args[0] if node.args else None
        if (
            len(node.args) == 1
            and isinstance(first, ast.Constant)
            and isinstance(first.value, str)
            and first.value
        ):
            ids.setdefault(first.value, f"{where}:{node.lineno}")
        else:
            bad.append(f"{where}:{node.lineno}: {ast.unparse(first) if first else '(no id)'}")
    return ids, bad


def scan(root: Path = SRC) -> tuple[dict[str, str], list[str]]:
    """Every ``DomainError(...)`` id under ``root``, and every call without a literal id."""
    ids: dict[str, str] = {}
    bad: list[str] = []
    for path in sorted(root.rglob("*.py")):
        found, wrong = scan_source(path.read_text(), str(path.relative_to(root)))
        for k, v in found.items():
            ids.setdefault(k, v)
        bad += wrong
    return ids, bad


def untranslated(ids: Iterable[str], catalog: Catalog) -> list[str]:
    """Ids without a non-empty, non-fuzzy translation whose placeholders are the same
    set as the id's."""
    out = []
    for msgid in sorted(ids):
        msg = catalog.get(msgid)
        if msg is None or not msg.string or not isinstance(msg.string, str):
            out.append(f"missing: {msgid!r}")
        elif "fuzzy" in msg.flags:
            out.append(f"fuzzy: {msgid!r}")
        elif set(PLACEHOLDER.findall(msgid)) != set(PLACEHOLDER.findall(msg.string)):
            out.append(f"placeholders differ: {msgid!r} -> {msg.string!r}")
    return out


def extracted(root: Path = SRC, cfg: Path = BABEL_CFG) -> set[str | tuple[str, ...]]:
    """What Babel extracts from ``root`` with the mapping and keywords of ``cfg``
    (as ``pybabel extract -F cfg``: Babel's default keywords plus the file's)."""
    with cfg.open() as fh:
        method_map, options_map = parse_mapping_cfg(fh, str(cfg))
    ids: set[str | tuple[str, ...]] = set()
    for _file, _line, message, _comments, _ctx in extract_from_dir(
        str(root), method_map, options_map
    ):
        ids.add(message if isinstance(message, str) else tuple(message))
    return ids


def not_extracted(ids: Iterable[str], found: set[str | tuple[str, ...]]) -> list[str]:
    """Ids the scan found that the extraction missed."""
    return sorted(set(ids) - {m for m in found if isinstance(m, str)})
