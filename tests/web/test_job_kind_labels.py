"""Every job kind the registry knows has a label on managers' pages, in every language:
a job page never shows a raw kind such as ``proposals.remind_drafts``."""

from __future__ import annotations

import pytest

from opencall.registry import build_registry
from opencall.settings import Settings
from opencall.web.i18n import Translator, merged_catalog
from opencall.web.labels import JOB_KINDS


def test_every_registered_job_kind_has_a_label() -> None:
    kinds = set(build_registry(Settings(database_url="sqlite://")).handlers)
    assert {"mail", "review.assign", "proposals.remind_drafts"} <= kinds
    assert sorted(kinds - set(JOB_KINDS)) == []


@pytest.mark.parametrize("lang", ["zh", "fr", "es"])
def test_job_kind_labels_are_translated(lang: str) -> None:
    catalog = merged_catalog(lang)
    assert catalog is not None
    untranslated = sorted(
        k for k, label in JOB_KINDS.items() if not (m := catalog.get(label)) or not m.string
    )
    assert untranslated == []
    assert Translator(lang).gettext(JOB_KINDS["proposals.remind_drafts"]) != (
        "Draft reminders before the close"
    )
