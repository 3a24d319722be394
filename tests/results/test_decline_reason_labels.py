"""A decline's reason as its reader reads it, in their language, on the three pages that
show it: the PI's decline page, the chair's decisions page and the chair's declines page
(one labeller, ``allocation.presenters.decline_labels``, serves all three)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from opencall.allocation.presenters import DECLINE_REASON_LABELS, decline_labels
from opencall.web.i18n import Translator
from tests.authz.test_workspace_matrix import session_client
from tests.results.decline_world import build
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")


def test_the_labeller_says_each_reason_in_the_readers_language_and_an_unknown_one_as_is() -> None:
    for lang in ("en", "fr", "es", "zh"):
        t = Translator(lang)
        label = decline_labels(SimpleNamespace(_=t.gettext))["reason_label"]
        for reason, text in DECLINE_REASON_LABELS.items():
            assert label(reason) == t.gettext(text)
        assert label("an old reason") == t.gettext("an old reason")
    fr = decline_labels(SimpleNamespace(_=Translator("fr").gettext))["reason_label"]
    assert fr("visa") != DECLINE_REASON_LABELS["visa"]  # translated, not the English


@pytest.mark.parametrize("lang", ["en", "fr"])
def test_the_three_pages_say_the_reason_in_the_readers_language(web: Web, lang: str) -> None:
    with web.factory() as s:
        w = build(s)
        s.commit()
    pid = w.awarded[0]
    said = Translator(lang).gettext(DECLINE_REASON_LABELS["funding"])
    pi, tok = session_client(web, w.emails["pi"])
    r = pi.post(f"/awards/{pid}/decline",
                data={"csrf_token": tok, "reason": "funding", "confirm": "yes"})  # fmt: skip
    assert r.status_code == 303
    pi.cookies.set("oc_lang", lang)
    chair, _ = session_client(web, w.emails["chair"])
    chair.cookies.set("oc_lang", lang)
    pages = {
        "decline": pi.get(f"/awards/{pid}/decline"),
        "decisions": chair.get(f"/manage/calls/{w.slug}/decisions"),
        "declines": chair.get(f"/manage/calls/{w.slug}/declines"),
    }
    for name, page in pages.items():
        assert page.status_code == 200, name
        assert said in page.text, name
