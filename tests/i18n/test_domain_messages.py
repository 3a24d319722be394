"""Every message a service raises (``DomainError``) is shown translated in zh, fr and
es: each literal or f-string message in the source, with sample values in its
placeholders, must come out of ``Translator.message`` changed. A new message
without a catalogued template (a ``N_()`` list or a ``.po`` file) fails here."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from opencall.web.i18n import Translator

SRC = Path(__file__).resolve().parents[2] / "src" / "opencall"
SAMPLE = "7"  # what a placeholder holds in the sample text


def _sample(node: ast.expr) -> str | None:
    """The message with sample values, or None where it is not written in place
    (a constant defined elsewhere, a concatenation of a solver's check failures)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    if isinstance(node, ast.JoinedStr):
        return "".join(
            v.value if isinstance(v, ast.Constant) else SAMPLE
            for v in node.values  # type: ignore[misc]
        )
    return None


def domain_messages() -> dict[str, str]:
    """sample text -> where it is raised (file:line)."""
    out: dict[str, str] = {}
    for path in sorted(SRC.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if not (isinstance(node, ast.Call) and node.args):
                continue
            name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if name != "DomainError":
                continue
            text = _sample(node.args[0])
            if text:
                out.setdefault(text, f"{path.relative_to(SRC)}:{node.lineno}")
    return out


def test_the_scan_finds_the_messages() -> None:
    found = domain_messages()
    assert len(found) > 150
    assert "Provider name is required." in found  # a literal
    assert "Unknown role 7." in found  # an f-string, with its sample value


@pytest.mark.parametrize("lang", ["zh", "fr", "es"])
def test_every_domain_error_is_translated(lang: str) -> None:
    t = Translator(lang)
    untranslated = [
        f"{where}: {text!r}" for text, where in domain_messages().items() if t.message(text) == text
    ]
    assert not untranslated, f"{lang}: {len(untranslated)} untranslated:\n" + "\n".join(
        untranslated
    )


def test_an_uncatalogued_message_is_caught() -> None:
    """The check can fail: a message nobody catalogued stays English."""
    assert Translator("fr").message("A message no catalogue knows about.") == (
        "A message no catalogue knows about."
    )
    assert Translator("fr").message("Unknown role 7.") != "Unknown role 7."
