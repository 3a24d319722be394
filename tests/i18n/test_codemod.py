"""tools/domain_error_ids.py: f-string messages become catalogued ids with
parameters, other texts ``DomainError.composed``, views translate by id; a second
run changes nothing (the integrator re-runs it on merged trees)."""

from __future__ import annotations

import ast
from pathlib import Path

from tools.domain_error_ids import rewrite, template_patterns

PATTERNS = template_patterns(
    {
        "Unknown role %(role)s.",
        "Unknown country code %(code)s.",
        "Resource %(name)s has %(amount)s left.",
    }
)

SOURCE = """\
from opencall.errors import DomainError

MSG = "Release the decisions first."


def f(role, iso, pool, x, problems, t, exc2):
    if role:
        raise DomainError(f"Unknown role {role}.", field="role")
    if iso:
        raise DomainError(f"Unknown country code {iso!r}.")
    if pool:
        raise DomainError(
            f"Resource {pool.name} has {pool.amount:g} "  # type: ignore[attr-defined]
            f"{pool.unit} left."
        )
    if x:
        raise DomainError(f"No template knows {len(x)} things at {x.where}.")
    if problems:
        raise DomainError("The check failed: " + "; ".join(problems[:5]))
    if t:
        raise DomainError(MSG)
    raise DomainError(str(exc2), field="file")


def view(page, g):
    try:
        g()
    except DomainError as exc:
        return page.t.message(exc.message)
"""


def _calls(src: str) -> list[ast.Call]:
    return [
        n
        for n in ast.walk(ast.parse(src))
        if isinstance(n, ast.Call) and getattr(n.func, "id", "") == "DomainError"
    ]


def test_the_codemod_rewrites_and_is_idempotent() -> None:
    out, changes = rewrite(SOURCE, Path("svc.py"), PATTERNS)
    kinds = sorted(c.kind for c in changes)
    assert kinds == ["COMPOSED", "EDGE", "ID", "ID", "INLINE", "NEW", "NEW", "RENAMED"]
    ast.parse(out)
    assert 'DomainError("Unknown role %(role)s.", field="role", role=role)' in out
    # a placeholder named like DomainError's own keyword is renamed
    assert '"Unknown country code %(code_value)s.", code_value=repr(iso)' in out
    # an expression with its spec and literal text fills one placeholder; the comment stays
    assert 'amount=f"{pool.amount:g} {pool.unit}"' in out.replace("'", '"')
    assert "name=pool.name,  # type: ignore[attr-defined]" in out
    assert '"No template knows %(n_x)s things at %(where)s.", n_x=len(x), where=x.where' in out
    assert '"The check failed: %(problems)s"' in out
    assert 'DomainError("Release the decisions first.")' in out
    assert 'DomainError.composed(str(exc2), field="file")' in out
    assert "return page.t.error(exc)" in out
    # every DomainError(...) now has a literal id
    assert all(isinstance(c.args[0], ast.Constant) for c in _calls(out))
    again, changes2 = rewrite(out, Path("svc.py"), PATTERNS)
    assert again == out and changes2 == []


def _english(src: str) -> list[str]:
    from opencall.errors import DomainError

    class Pool:
        name, amount, unit = "Dish", 12.5, "h"

    ns: dict[str, object] = {}
    exec(compile(src, "svc.py", "exec"), ns)  # noqa: S102 - our own sample
    texts = []
    for args in [("r1", 0, 0), (0, "FR", 0), (0, 0, Pool()), (0, 0, 0, 0, ["a", "b"])]:
        try:
            ns["f"](*args, *[0] * (7 - len(args)))  # type: ignore[operator]
        except DomainError as exc:
            texts.append(exc.message)
    return texts


def test_the_english_text_is_unchanged() -> None:
    """The rewritten calls render the same English as the f-strings did."""
    out, _ = rewrite(SOURCE, Path("svc.py"), PATTERNS)
    assert (
        _english(out)
        == _english(SOURCE)
        == [
            "Unknown role r1.",
            "Unknown country code 'FR'.",
            "Resource Dish has 12.5 h left.",
            "The check failed: a; b",
        ]
    )
