"""A feature writes another feature's tables only through that feature's services
(mend23): ``proposals.services.lifecycle.withdraw`` updated ``review_assignments``
through a bare ``sqlalchemy.table("review_assignments", ...)``, behind the import
contracts (which see imports, not table names) and behind whatever the reviews feature
does when it takes an assignment from its reviewer. Checked on the source: no module of
a feature names, in ``table(...)``, a table that another feature's models declare."""

from __future__ import annotations

import ast
from pathlib import Path

from opencall.db import Base

SRC = Path(__file__).resolve().parents[2] / "src" / "opencall"
FEATURES = (
    "outcomes",
    "results",
    "scheduling",
    "allocation",
    "reviews",
    "cycle",
    "proposals",
    "calls",
    "facilities",
    "people",
)


def _owner() -> dict[str, str]:
    """Each table's feature: the package of the model that declares it."""
    import opencall.models  # noqa: F401  (every table in the metadata)

    owner = {}
    for mapper in Base.registry.mappers:
        table = getattr(mapper, "local_table", None)
        parts = mapper.class_.__module__.split(".")
        if table is not None and len(parts) > 1 and parts[1] in FEATURES:
            owner[str(table.name)] = parts[1]
    return owner


def foreign_tables(root: Path) -> list[tuple[str, int, str]]:
    """(file, line, table) of every ``table("name", ...)`` in a feature's modules under
    ``root`` naming a table another feature declares."""
    owner = _owner()
    found = []
    for feature in FEATURES:
        for path in sorted((root / feature).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and node.args):
                    continue
                name = getattr(node.func, "id", getattr(node.func, "attr", None))
                first = node.args[0]
                if name != "table" or not isinstance(first, ast.Constant):
                    continue
                if owner.get(str(first.value), feature) != feature:
                    found.append((str(path.relative_to(root)), node.lineno, str(first.value)))
    return found


def test_no_feature_names_another_features_table() -> None:
    assert foreign_tables(SRC) == []


def test_the_check_sees_a_foreign_table(tmp_path: Path) -> None:
    planted = tmp_path / "proposals" / "planted.py"
    planted.parent.mkdir()
    planted.write_text('from sqlalchemy import table\nT = table("review_assignments")\n')
    assert foreign_tables(tmp_path) == [("proposals/planted.py", 2, "review_assignments")]
