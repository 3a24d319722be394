"""The domain catalogues hold no entry that no source uses any more: every msgid of
``edges.po``, ``resources.po``, ``outcomes.po``, ``workspaces.po``, ``trial.po``,
``msgid11.po``, ``trialfac12.po`` and ``joint12b.po`` (each language) is extracted from
the sources as ``babel.cfg`` says (the report's old chart titles, the call form's old date
labels and an old assignment refusal were left in ``workspaces.po``, ``trial.po`` and
``msgid11.po``; the joint call's refusal before the partner accepts, reworded, in
``trialfac12.po``), and the labels of the removed ``outcomes.report.GROUPING_LABELS`` stay
in a catalogue only where a source still uses them. Before, the two infeasible-assignment
sentences of ``edges.po`` (the optimiser now says them otherwise), the old "Hour each day
... in Bangkok" help of ``resources.po`` and "UN region" of ``report.po`` were left over."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from tests.i18n.checks import SRC, extracted

LOCALE = SRC / "web" / "locale"
LANGS = ("zh", "fr", "es")
# the entries of outcomes.report.GROUPING_LABELS, removed from the source
GROUPING_LABELS = ("Income group", "UN region", "Least developed countries", "Host country")


@cache
def _used() -> frozenset[str]:
    return frozenset(m if isinstance(m, str) else m[0] for m in extracted())


def _ids(path: Path) -> list[str]:
    with path.open("rb") as fh:
        return [m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id]


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize(
    "domain",
    ["edges", "resources", "outcomes", "workspaces", "trial", "msgid11", "trialfac12", "joint12b"],
)
def test_no_obsolete_msgid(domain: str, lang: str) -> None:
    ids = _ids(LOCALE / lang / "LC_MESSAGES" / f"{domain}.po")
    assert ids
    assert [i for i in ids if i not in _used()] == []


@pytest.mark.parametrize("lang", LANGS)
def test_no_leftover_grouping_label(lang: str) -> None:
    held = {
        i: po.stem
        for po in sorted((LOCALE / lang / "LC_MESSAGES").glob("*.po"))
        for i in _ids(po)
        if i in GROUPING_LABELS
    }
    assert {i: d for i, d in held.items() if i not in _used()} == {}
    assert "Income group" in held  # still used (the report's headings)


#: house.po's entries that no source extracts but that an i18n test translates (an error
#: inside an error, ``test_domain_messages``): kept
HOUSE_KEPT = frozenset({"Entry %(i)s (%(title)s): %(message)s"})


@pytest.mark.parametrize("lang", LANGS)
def test_house_holds_no_replaced_message(lang: str) -> None:
    """trialop19b: house.po still held the facility-kind refusals that trialop19 replaced
    ("Unknown facility kind %(kind)s. The kinds are: %(kinds)s.") and the revision refusal
    reworded since (``code_value``)."""
    ids = _ids(LOCALE / lang / "LC_MESSAGES" / "house.po")
    assert HOUSE_KEPT <= set(ids)
    assert [i for i in ids if i not in _used() and i not in HOUSE_KEPT] == []
