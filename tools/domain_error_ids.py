"""Codemod: ``DomainError`` messages become gettext message ids with parameters.

    python tools/domain_error_ids.py src/opencall          # rewrite in place
    python tools/domain_error_ids.py --check src/opencall  # list, change nothing; 1 if any

It rewrites, in every ``*.py`` file under the given paths:

* ``DomainError(f"Unknown role {role}.")`` into
  ``DomainError("Unknown role %(role)s.", role=role)``: the placeholder names
  come from the catalogued template (``web/locale/*/LC_MESSAGES/*.po``) that the
  message matches, so the id is the one the translators already have; a message
  no template matches gets names made from its expressions and is listed as NEW
  (its zh/fr/es translations must be written; ``tests/i18n`` fails until they are);
* ``"prefix: " + expr`` concatenations and ``NAME.format(k=v)`` the same way;
* ``DomainError(NAME)`` where ``NAME`` is a string constant of the module into the
  literal (Babel extracts literals only);
* any other argument (a text composed elsewhere: a validator's message,
  ``str(exc)``) into ``DomainError.composed(...)``, which the edge translates by
  the catalogued templates, as before; these are listed as COMPOSED;
* ``t.message(exc.message)`` where ``exc`` is a ``DomainError`` (an ``except
  DomainError as exc`` or a parameter annotated ``DomainError``) into
  ``t.error(exc)``: the translation by id (and ``exc.message`` as a parameter of
  another error into ``exc``, translated by its own id); ``ApiError(status, exc.message)``
  into ``ApiError(status, exc.message, error=exc)`` (the API translates it).

It is idempotent (a literal id is left alone) and changes nothing else; run
``ruff format`` on the tree afterwards (done here when ruff is installed).
Written on the standard library's ``ast`` and source slicing, so that it runs
wherever the project does (no libcst).
"""

from __future__ import annotations

import argparse
import ast
import re
import string
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCALE_DIR = ROOT / "src" / "opencall" / "web" / "locale"
RESERVED = {"field", "code", "msg_id", "self"}  # DomainError's own keywords
_PLACEHOLDER = re.compile(r"%\((\w+)\)([#0\- +]*\d*(?:\.\d+)?[sdifr])")


@dataclass(frozen=True)
class Hole:
    """An expression in the message: its source, ``!r``-style conversion, format spec."""

    expr: str
    conversion: str = ""
    spec: str = ""
    line: int = field(default=0, compare=False)  # where it was written (for its comments)


Part = str | Hole


@dataclass
class Change:
    path: Path
    line: int
    kind: str  # ID, NEW, INLINE, COMPOSED, ERROR
    detail: str


# -- catalogue templates ---------------------------------------------------------------


def catalogue_ids(locale_dir: Path = LOCALE_DIR) -> set[str]:
    """Every msgid of every catalogue (all languages, all files)."""
    from babel.messages.pofile import read_po

    ids: set[str] = set()
    for po in sorted(locale_dir.glob("*/LC_MESSAGES/*.po")):
        with po.open("rb") as fh:
            for msg in read_po(fh):
                if msg.id and isinstance(msg.id, str):
                    ids.add(msg.id)
    return ids


def template_patterns(ids: set[str]) -> list[tuple[re.Pattern[str], str]]:
    """Templates with placeholders as regular expressions, longest first."""
    out = []
    for msgid in ids:
        if "%(" not in msgid:
            continue
        pattern, pos, seen = "", 0, set()
        for m in _PLACEHOLDER.finditer(msgid):
            name = m.group(1)
            pattern += re.escape(msgid[pos : m.start()].replace("%%", "%"))
            # a placeholder holds whole expressions (sentinels) and characters
            unit = r"(?:\x01\d+\x02|[^\x01\x02])+?"
            pattern += f"(?P={name})" if name in seen else f"(?P<{name}>{unit})"
            seen.add(name)
            pos = m.end()
        pattern += re.escape(msgid[pos:].replace("%%", "%"))
        out.append((re.compile(pattern + r"\Z", re.S), msgid))
    out.sort(key=lambda t: (-len(t[1]), t[1]))
    return out


def _sentinel(i: int) -> str:
    return f"\x01{i}\x02"


_SENTINEL = re.compile("\x01(\\d+)\x02")


def match_template(
    parts: list[Part], patterns: list[tuple[re.Pattern[str], str]]
) -> tuple[str, list[tuple[str, str, int]]] | None:
    """The catalogued template the message is an instance of, and each placeholder's
    value as an expression, or None. A template whose every placeholder holds
    exactly one expression wins; failing that, one whose placeholders hold
    expressions with some literal text (``resource_limits.{key}``: the value becomes
    an f-string) or literal text only. Literal text outside the placeholders must be
    the template's."""
    holes = list(dict.fromkeys(p for p in parts if isinstance(p, Hole)))
    sample = "".join(p if isinstance(p, str) else _sentinel(holes.index(p)) for p in parts)
    formats_of = {}
    relaxed: tuple[str, list[tuple[str, str, int]]] | None = None
    for pattern, msgid in patterns:
        m = pattern.match(sample)
        if not m:
            continue
        groups = m.groupdict()
        if any(v.count("\x01") != v.count("\x02") for v in groups.values()):
            continue  # a placeholder holds part of an expression
        covered = {int(i) for v in groups.values() for i in _SENTINEL.findall(v)}
        if covered != set(range(len(holes))):
            continue
        formats_of = {mm.group(1): mm.group(2)[-1] for mm in _PLACEHOLDER.finditer(msgid)}
        strict = all(_SENTINEL.fullmatch(v) for v in groups.values())
        params = []
        for name, v in groups.items():
            whole = _SENTINEL.fullmatch(v)
            if whole:
                expr = _param_expr(holes[int(whole.group(1))], formats_of[name])
            else:
                expr = _fstring(v, holes)
            inside = [holes[int(i)].line for i in _SENTINEL.findall(v)]
            params.append((name, expr, inside[0] if inside else 0))
        if strict:
            return msgid, params
        if relaxed is None:
            relaxed = (msgid, params)
    return relaxed


def _fstring(text: str, holes: list[Hole]) -> str:
    """Literal text with sentinels as an f-string (or a plain literal)."""
    if "\x01" not in text:
        return repr(text)
    out = ""
    pos = 0
    for m in _SENTINEL.finditer(text):
        out += text[pos : m.start()].replace("{", "{{").replace("}", "}}")
        h = holes[int(m.group(1))]
        out += "{" + h.expr + ("!" + h.conversion if h.conversion else "")
        out += (":" + h.spec if h.spec else "") + "}"
        pos = m.end()
    out += text[pos:].replace("{", "{{").replace("}", "}}")
    return "f" + repr(out)


# -- reading the message argument --------------------------------------------------------


def module_constants(tree: ast.Module) -> dict[str, str]:
    """Module-level ``NAME = "text"`` (or ``NAME = N_("text")``) string constants."""
    out: dict[str, str] = {}
    for node in tree.body:
        if not (isinstance(node, ast.Assign) and len(node.targets) == 1):
            continue
        target, value = node.targets[0], node.value
        if isinstance(value, ast.Call) and getattr(value.func, "id", None) == "N_":
            value = value.args[0] if value.args else value
        if (
            isinstance(target, ast.Name)
            and isinstance(value, ast.Constant)
            and isinstance(value.value, str)
        ):
            out[target.id] = value.value
    return out


def parts_of(node: ast.expr, consts: dict[str, str]) -> list[Part] | None:
    """The message as literal text and holes, or None where it is not written here."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Name) and node.id in consts:
        return [consts[node.id]]
    if isinstance(node, ast.JoinedStr):
        out: list[Part] = []
        for v in node.values:
            if isinstance(v, ast.Constant):
                out.append(str(v.value))
            elif isinstance(v, ast.FormattedValue):
                spec = ""
                if v.format_spec is not None:
                    if not all(isinstance(s, ast.Constant) for s in v.format_spec.values):  # type: ignore[attr-defined]
                        return None
                    spec = "".join(s.value for s in v.format_spec.values)  # type: ignore[attr-defined]
                conv = "" if v.conversion == -1 else chr(v.conversion)
                out.append(Hole(ast.unparse(v.value), conv, spec, v.value.lineno))
        return out
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
        left = parts_of(node.left, consts) or [Hole(ast.unparse(node.left), line=node.left.lineno)]
        right = parts_of(node.right, consts) or [
            Hole(ast.unparse(node.right), line=node.right.lineno)
        ]
        out = left + right
        return out if any(isinstance(p, str) and p for p in out) else None
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "format"
        and not node.args
        and all(k.arg for k in node.keywords)
    ):
        base = parts_of(node.func.value, consts)
        if base is None or len(base) != 1 or not isinstance(base[0], str):
            return None
        values = {k.arg: (ast.unparse(k.value), k.value.lineno) for k in node.keywords}
        out = []
        for literal, name, spec, conv in string.Formatter().parse(base[0]):
            out.append(literal)
            if name is not None:
                if name not in values:
                    return None
                out.append(Hole(values[name][0], conv or "", spec or "", values[name][1]))
        return out
    return None


def _name_for(expr: str, taken: set[str]) -> str:
    """A placeholder name made from an expression (``p.title`` -> ``title``)."""
    node = ast.parse(expr, mode="eval").body
    while isinstance(node, ast.Subscript):
        node = node.value
    if isinstance(node, ast.GeneratorExp | ast.ListComp):
        node = node.generators[0].iter
    if isinstance(node, ast.Call):
        fn = node.func
        fname = getattr(fn, "id", None) or getattr(fn, "attr", None)
        if fname == "len" and node.args:
            base = _name_for(ast.unparse(node.args[0]), set())
            name = f"n_{base}"
        elif fname == "join" and node.args:
            name = _name_for(ast.unparse(node.args[0]), set())
        else:
            name = fname or "value"
    elif isinstance(node, ast.Attribute):
        name = node.attr
    elif isinstance(node, ast.Name):
        name = node.id
    else:
        name = "value"
    name = re.sub(r"\W", "_", name).strip("_").lower() or "value"
    if name in RESERVED:
        name += "_name"
    base, i = name, 2
    while name in taken:
        name, i = f"{base}{i}", i + 1
    return name


def _param_expr(hole: Hole, fmt: str) -> str:
    """The keyword argument's value, keeping a conversion or spec the template does not."""
    expr = hole.expr
    if fmt != "s":  # the template formats it itself (``%(x).1f``)
        return expr
    if hole.conversion:
        expr = {"r": "repr", "s": "str", "a": "ascii"}[hole.conversion] + f"({expr})"
    if hole.spec:
        expr = f"format({expr}, {hole.spec!r})"
    return expr


RENAME = {"field": "field_name", "code": "code_value", "msg_id": "msg_id_value"}


def build_id(
    parts: list[Part], patterns: list[tuple[re.Pattern[str], str]]
) -> tuple[str, list[tuple[str, str, int]], str]:
    """(msgid, [(name, expression)], kind) for a message with holes; kind is ID (a
    catalogued template), RENAMED (a template whose placeholder is one of
    DomainError's own keywords, renamed: its translations must be copied) or NEW."""
    found = match_template(parts, patterns)
    if found is not None:
        msgid, params = found
        if not any(n in RESERVED for n, _e, _ln in params):
            return msgid, params, "ID"
        for old, new in RENAME.items():
            msgid = re.sub(rf"%\({old}\)", f"%({new})", msgid)
        return msgid, [(RENAME.get(n, n), e, ln) for n, e, ln in params], "RENAMED"
    taken: set[str] = set()
    by_expr: dict[Hole, str] = {}
    text = ""
    for p in parts:
        if isinstance(p, str):
            text += p.replace("%", "%%")
            continue
        if p not in by_expr:
            by_expr[p] = _name_for(p.expr, taken)
            taken.add(by_expr[p])
        text += f"%({by_expr[p]})s"
    return text, [(n, _param_expr(h, "s"), h.line) for h, n in by_expr.items()], "NEW"


def py_literal(text: str, width: int = 72) -> str:
    """A double-quoted literal; long texts as implicit concatenation split at spaces
    (Babel joins adjacent strings as Python does; ruff format lays them out)."""

    def q(s: str) -> str:
        r = repr(s)
        if r.startswith("'") and '"' not in s:
            r = '"' + r[1:-1].replace("\\'", "'") + '"'
        return r

    if len(text) <= width:
        return q(text)
    chunks, cur = [], ""
    for word in re.split(r"(?<= )", text):
        if cur and len(cur) + len(word) > width:
            chunks.append(cur)
            cur = ""
        cur += word
    chunks.append(cur)
    return " ".join(q(c) for c in chunks)


# -- the rewrite -------------------------------------------------------------------------


def _is_domain_error(node: ast.expr | None) -> bool:
    return (isinstance(node, ast.Name) and node.id == "DomainError") or (
        isinstance(node, ast.Attribute) and node.attr == "DomainError"
    )


def _domain_error_names(tree: ast.Module) -> list[tuple[ast.AST, str]]:
    """(scope node, name) where ``name`` holds a DomainError within ``scope``."""
    out: list[tuple[ast.AST, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ExceptHandler) and node.name and _is_domain_error(node.type):
            out.append((node, node.name))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for a in node.args.args + node.args.kwonlyargs:
                if _is_domain_error(a.annotation):
                    out.append((node, a.arg))
    return out


def _span(source_lines: list[str], node: ast.AST) -> tuple[int, int]:
    """Character offsets of a node in the source."""
    offsets = [0]
    for line in source_lines:
        offsets.append(offsets[-1] + len(line))
    start = offsets[node.lineno - 1] + len(
        source_lines[node.lineno - 1].encode()[: node.col_offset].decode()
    )
    end = (
        offsets[node.end_lineno - 1]
        + len(  # type: ignore[operator]
            source_lines[node.end_lineno - 1].encode()[: node.end_col_offset].decode()  # type: ignore[index,operator]
        )
    )
    return start, end


def _comments(source: str, node: ast.AST) -> dict[int, str]:
    """The comments inside a node's lines, by line (kept when the call is rewritten)."""
    import io
    import tokenize

    out: dict[int, str] = {}
    first, last = node.lineno, node.end_lineno or node.lineno
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT and first <= tok.start[0] <= last:
                out[tok.start[0]] = tok.string
            if tok.start[0] > last:
                break
    except tokenize.TokenError:
        pass
    return out


def rewrite(
    source: str, path: Path, patterns: list[tuple[re.Pattern[str], str]]
) -> tuple[str, list[Change]]:
    tree = ast.parse(source, str(path))
    consts = module_constants(tree)
    lines = source.splitlines(keepends=True)
    edits: list[tuple[int, int, str]] = []
    changes: list[Change] = []

    def seg(node: ast.AST) -> str:
        return ast.get_source_segment(source, node) or ast.unparse(node)

    errors_in_scope: dict[int, set[str]] = {}  # node -> names holding a DomainError there
    for scope, name in _domain_error_names(tree):
        for inner in ast.walk(scope):
            errors_in_scope.setdefault(id(inner), set()).add(name)

    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and _is_domain_error(node.func) and node.args):
            continue
        arg = node.args[0]
        if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
            # already an id (idempotent); only another error's text as a parameter
            held = errors_in_scope.get(id(node), set())
            for k in node.keywords:
                v = k.value
                if (
                    k.arg not in RESERVED
                    and isinstance(v, ast.Attribute)
                    and v.attr == "message"
                    and isinstance(v.value, ast.Name)
                    and v.value.id in held
                ):
                    edits.append((*_span(lines, v), v.value.id))
                    changes.append(Change(path, node.lineno, "NESTED", f"{k.arg}={v.value.id}"))
            continue
        kws = [seg(k) for k in node.keywords]
        func = seg(node.func)
        parts = parts_of(arg, consts)
        if parts is None or not any(isinstance(p, str) and p.strip() for p in parts):
            new = f"{func}.composed({', '.join([seg(arg), *kws])})"
            changes.append(Change(path, node.lineno, "COMPOSED", seg(arg)))
        elif all(isinstance(p, str) for p in parts):
            text = "".join(p for p in parts if isinstance(p, str))
            new = f"{func}({', '.join([py_literal(text), *kws])})"
            changes.append(Change(path, node.lineno, "INLINE", text))
        else:
            msgid, params, kind = build_id(parts, patterns)
            # another error's English text as a parameter: pass the error itself, so
            # that the edge translates it by its own id (Translator.error)
            held = errors_in_scope.get(id(node), set())
            params = [
                (n, e[: -len(".message")] if e.endswith(".message") and e[:-8] in held else e, ln)
                for n, e, ln in params
            ]
            args = [py_literal(msgid), *kws, *(f"{n}={e}" for n, e, _ln in params)]
            new = f"{func}({', '.join(args)})"
            comments = _comments(source, node)
            if comments:  # one argument a line, each comment after the argument from its line
                lines_out = [f"{a}," for a in args[: 1 + len(kws)]]
                for n, e, ln in params:
                    lines_out.append(f"{n}={e},")
                    if ln in comments:
                        lines_out[-1] += "  " + comments.pop(ln)
                lines_out[0] += "".join("  " + c for c in comments.values())
                new = f"{func}(\n" + "\n".join(lines_out) + "\n)"
            changes.append(Change(path, node.lineno, kind, msgid))
        if len(node.args) > 1:
            changes.append(Change(path, node.lineno, "ERROR", "more than one positional argument"))
            continue
        edits.append((*_span(lines, node), new))

    # t.message(exc.message) -> t.error(exc) where exc is a DomainError
    for scope, name in _domain_error_names(tree):
        for node in ast.walk(scope):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "message"
                and len(node.args) == 1
                and not node.keywords
                and isinstance(node.args[0], ast.Attribute)
                and node.args[0].attr == "message"
                and isinstance(node.args[0].value, ast.Name)
                and node.args[0].value.id == name
                and seg(node.func.value) != "self"  # Translator.error itself
            ):
                new = f"{seg(node.func.value)}.error({name})"
                edits.append((*_span(lines, node), new))
                changes.append(Change(path, node.lineno, "EDGE", new))
            # ApiError(status, exc.message) -> ApiError(status, exc.message, error=exc)
            if (
                isinstance(node, ast.Call)
                and getattr(node.func, "id", None) == "ApiError"
                and len(node.args) == 2
                and not any(k.arg == "error" for k in node.keywords)
                and isinstance(node.args[1], ast.Attribute)
                and node.args[1].attr == "message"
                and isinstance(node.args[1].value, ast.Name)
                and node.args[1].value.id == name
            ):
                new = f"ApiError({', '.join([*(seg(x) for x in node.args), *(seg(k) for k in node.keywords), f'error={name}'])})"
                edits.append((*_span(lines, node), new))
                changes.append(Change(path, node.lineno, "EDGE", new))

    out = source
    last = len(source) + 1
    for start, end, new in sorted(set(edits), key=lambda e: -e[0]):
        if end > last:  # nested in an edit already made
            continue
        out = out[:start] + new + out[end:]
        last = start
    return out, changes


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--check", action="store_true", help="list what would change; write nothing")
    ap.add_argument("--no-format", action="store_true", help="do not run ruff format afterwards")
    ns = ap.parse_args(argv)
    patterns = template_patterns(catalogue_ids())
    files = sorted(
        f for p in ns.paths for f in ([p] if p.is_file() else p.rglob("*.py")) if f.suffix == ".py"
    )
    changed: list[Path] = []
    all_changes: list[Change] = []
    for f in files:
        source = f.read_text()
        new, changes = rewrite(source, f, patterns)
        all_changes += changes
        if new != source:
            changed.append(f)
            if not ns.check:
                f.write_text(new)
    for c in all_changes:
        if c.kind != "ID" and c.kind != "EDGE":
            print(f"{c.kind:8} {c.path}:{c.line}: {c.detail}")
    counts = {
        k: sum(c.kind == k for c in all_changes)
        for k in ("ID", "RENAMED", "NEW", "INLINE", "NESTED", "COMPOSED", "EDGE", "ERROR")
    }
    print(
        f"{len(changed)} files {'to change' if ns.check else 'changed'}; "
        + ", ".join(f"{k} {v}" for k, v in counts.items())
    )
    if changed and not ns.check and not ns.no_format:
        try:
            subprocess.run(
                [sys.executable, "-m", "ruff", "format", *map(str, changed)], check=False
            )
        except OSError:
            pass
    return 1 if counts["ERROR"] or (ns.check and changed) else 0


if __name__ == "__main__":
    sys.exit(main())
