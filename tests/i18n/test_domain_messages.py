"""Every message a service raises (``DomainError``) has a message id: a string
literal with ``%(name)s`` placeholders, extracted by Babel through ``babel.cfg``
and translated in zh, fr and es with the same placeholders; the edge translates
it by id (HTML pages and the JSON API). Each check is shown failing on a planted
defect, without editing the source."""

from __future__ import annotations

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog

from opencall.errors import DomainError
from opencall.web.i18n import Translator, error_json, merged_catalog
from tests.i18n.checks import extracted, not_extracted, scan, scan_source, untranslated

LANGS = ["zh", "fr", "es"]


@pytest.fixture(scope="module")
def scanned() -> tuple[dict[str, str], list[str]]:
    return scan()


def test_every_domain_error_has_a_literal_id(scanned: tuple[dict[str, str], list[str]]) -> None:
    ids, bad = scanned
    assert len(ids) > 150
    assert "Provider name is required." in ids  # a plain message
    assert "Unknown role %(role)s." in ids  # one with a placeholder
    assert not bad, "DomainError ids must be string literals:\n" + "\n".join(bad)


def test_the_literal_check_can_fail() -> None:
    src = (
        "from opencall.errors import DomainError\n"
        "def f(x):\n"
        "    raise DomainError(f'Unknown {x}.')\n"
        "def g(x):\n"
        "    raise DomainError('Unknown ' + x)\n"
        "def h(x):\n"
        "    raise errors.DomainError('Fine %(x)s.', x=x)\n"
    )
    ids, bad = scan_source(src, "planted.py")
    assert ids == {"Fine %(x)s.": "planted.py:7"}
    assert [b.split(":")[1] for b in bad] == ["3", "5"]


@pytest.mark.parametrize("lang", LANGS)
def test_every_id_is_translated(lang: str, scanned: tuple[dict[str, str], list[str]]) -> None:
    catalog = merged_catalog(lang)
    assert catalog is not None
    ids, _bad = scanned
    problems = untranslated(ids, catalog)
    assert not problems, f"{lang}: {len(problems)}:\n" + "\n".join(
        f"{p}  ({ids.get(p.split(': ', 1)[1].split(' -> ')[0].strip(chr(39)), '')})"
        for p in problems
    )


def test_the_translation_check_can_fail() -> None:
    catalog = Catalog(locale="fr")
    catalog.add("Unknown role %(role)s.", "Rôle inconnu : %(role)s.")
    catalog.add("Bad %(a)s and %(b)s.", "Mauvais %(a)s.")  # a placeholder lost
    catalog.add("Empty.", "")
    fuzzy = catalog.add("Fuzzy.", "Flou.")
    fuzzy.flags.add("fuzzy")
    ids = ["Unknown role %(role)s.", "Bad %(a)s and %(b)s.", "Empty.", "Fuzzy.", "Nobody's."]
    problems = untranslated(ids, catalog)
    assert [p.split(":")[0] for p in problems] == [
        "placeholders differ",
        "missing",
        "fuzzy",
        "missing",
    ]


def test_babel_cfg_extracts_every_id(scanned: tuple[dict[str, str], list[str]]) -> None:
    ids, _bad = scanned
    missed = not_extracted(ids, extracted())
    assert not missed, "babel.cfg misses:\n" + "\n".join(missed)


def test_the_extraction_check_can_fail(tmp_path: Path) -> None:
    """A babel.cfg without the DomainError keyword misses the ids (the gap of old)."""
    (tmp_path / "svc.py").write_text(
        "from opencall.errors import DomainError\n"
        "raise DomainError('Unknown role %(role)s.', field='role', role=1)\n"
    )
    ids, _bad = scan(tmp_path)
    bare = tmp_path / "bare.cfg"
    bare.write_text("[python: **.py]\n")
    assert not_extracted(ids, extracted(tmp_path, bare)) == ["Unknown role %(role)s."]
    full = tmp_path / "full.cfg"
    full.write_text("[python: **.py]\nkeywords = DomainError\n")
    assert not_extracted(ids, extracted(tmp_path, full)) == []


def test_an_error_is_translated_by_id() -> None:
    exc = DomainError("Unknown role %(role)s.", field="role", role="7")
    assert exc.message == "Unknown role 7." and exc.msg_id == "Unknown role %(role)s."
    assert exc.params == {"role": "7"} and exc.field == "role"
    for lang in LANGS:
        text = Translator(lang).error(exc)
        assert text != exc.message and "7" in text, lang
    assert Translator("en").error(exc) == "Unknown role 7."
    body = error_json(exc, "fr", "role: ")
    assert body["detail"].startswith("role: ") and "7" in body["detail"]
    assert body["detail"] != "role: Unknown role 7."
    assert body["message_id"] == "Unknown role %(role)s." and body["params"] == {"role": "7"}


def test_a_message_with_a_percent_and_no_params_is_kept() -> None:
    assert DomainError("At most 100% of the time.").message == "At most 100% of the time."


def test_a_composed_text_has_no_id_and_is_translated_by_template() -> None:
    exc = DomainError.composed("Unknown role 7.", field="role")
    assert exc.msg_id is None and exc.message == "Unknown role 7."
    assert Translator("fr").error(exc) == Translator("fr").message("Unknown role 7.")
    assert Translator("fr").error(exc) != "Unknown role 7."
    assert "message_id" not in error_json(exc, "fr")


def test_an_error_inside_an_error_is_translated_by_its_own_id() -> None:
    inner = DomainError("Unknown role %(role)s.", role="7")
    outer = DomainError("Entry %(i)s (%(title)s): %(message)s", i=1, title="T", message=inner)
    assert outer.message == "Entry 1 (T): Unknown role 7."
    fr = Translator("fr").error(outer)
    assert Translator("fr").error(inner) in fr and not fr.startswith("Entry")
    assert error_json(outer, "en")["params"] == {"i": 1, "title": "T", "message": "Unknown role 7."}
