"""An import-linter contract type the built-in ones lack: an allow-list.

``allowed_imports``: every module under ``source_modules`` may import only the
standard library, the modules of ``allowed_modules`` (third-party top-level
packages such as ``numpy``, or internal packages such as ``opencall.optim``),
and nothing else. A new dependency of ``opencall.optim`` therefore fails
``lint-imports`` until someone adds it to the list on purpose (see
``.importlinter``; ``tests/architecture`` shows the contract fail on a planted
import). Registered in ``.importlinter`` with ``contract_types``; ``lint-imports``
puts the working directory on ``sys.path``, so run it from the repository root.
"""

from __future__ import annotations

import sys
from typing import Any

from importlinter import Contract, ContractCheck, fields, output


class AllowedImportsContract(Contract):
    type_name = "allowed_imports"

    source_modules = fields.ListField(subfield=fields.ModuleField())
    allowed_modules = fields.ListField(subfield=fields.StringField())

    def check(self, graph: Any, verbose: bool) -> ContractCheck:
        allowed = [str(m) for m in self.allowed_modules]  # type: ignore[attr-defined]
        violations: list[dict[str, Any]] = []
        for source in self.source_modules:  # type: ignore[attr-defined]
            name = source.name
            modules = {name} | set(graph.find_descendants(name))
            for importer in sorted(modules):
                for imported in sorted(graph.find_modules_directly_imported_by(importer)):
                    if self._allowed(imported, allowed, name):
                        continue
                    lines = [
                        d["line_number"]
                        for d in graph.get_import_details(importer=importer, imported=imported)
                    ]
                    violations.append(
                        {"importer": importer, "imported": imported, "lines": lines}
                    )
        return ContractCheck(kept=not violations, metadata={"violations": violations})

    @staticmethod
    def _allowed(imported: str, allowed: list[str], source: str) -> bool:
        top = imported.split(".")[0]
        if imported == source or imported.startswith(source + "."):
            return True
        if top in sys.stdlib_module_names or top == "__future__":
            return True
        return any(imported == a or imported.startswith(a + ".") for a in allowed)

    def render_broken_contract(self, check: ContractCheck) -> None:
        for v in check.metadata["violations"]:
            where = ", ".join(f"l.{n}" for n in v["lines"])
            output.print_error(
                f"{v['importer']} imports {v['imported']} ({where}), which is not allowed",
                bold=True,
            )
            output.new_line()
