"""A call's rules say the PDF's size limit as well as its page limit, in the reader's
language, from the setting the upload form says and the server enforces
(``max_upload_bytes``: 200 000 bytes in these tests, 0.2 MB)."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from opencall.calls.models import Call
from opencall.web.i18n import Translator
from tests.web.conftest import Web, World

pytestmark = pytest.mark.filterwarnings("ignore")

MB = {"en": "0.2", "fr": "0,2", "es": "0,2", "zh": "0.2"}  # 200 000 bytes as each writes it


def _rules(web: Web, slug: str, lang: str) -> str:
    html = web.client(lang).get(f"/calls/{slug}").text
    return " ".join(html.split("</h2>\n<ul>", 1)[1].split("</ul>", 1)[0].split())


def test_the_rules_say_the_size_limit_in_every_language(web: Web, world: World) -> None:
    slug = world.slugs["call"]
    for lang, mb in MB.items():
        t = Translator(lang)
        optional = t.gettext(
            "A PDF of the scientific justification may be attached (at most %(mb)s MB)."
        )
        assert optional % {"mb": mb} in _rules(web, slug, lang), lang
    with web.factory() as s:
        call = s.scalar(select(Call).where(Call.slug == slug))
        assert call is not None
        call.form = {**call.form, "requires_pdf": True, "max_pdf_pages": 4}
        s.commit()
    for lang, mb in MB.items():
        t = Translator(lang)
        required = t.gettext(
            "A PDF of the scientific justification is required (at most %(n)s pages, at most "
            "%(mb)s MB)."
        )
        assert required % {"n": 4, "mb": mb} in _rules(web, slug, lang), lang
    # the upload form says the same limit
    pi = web.login(world.emails["pi"], "fr")
    assert (
        Translator("fr").gettext("At most %(mb)s MB.") % {"mb": "0,2"}
        in pi.get(f"/proposals/{world.ids['proposal']}").text
    )
