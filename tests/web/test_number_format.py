"""Amounts on pages are written as the reader's language writes numbers (Babel, from
CLDR): "24,000 hours" in English, "24 000" in French, "24.000" in Spanish, never the
bare "24000" or "1250.5" they were shown as before; a refusal's numbers too, while the
English message of the logs and the API's ``params`` keep plain numbers (as CSV files do:
``opencall.inputs.plain_number``, which programs read back)."""

from __future__ import annotations

import pytest
from sqlalchemy.orm import Session

from opencall.allocation.presenters import say
from opencall.facilities.domain import amount_text
from opencall.inputs import local_number
from opencall.optim.messages import listing, message, number, unit
from opencall.web.i18n import Translator
from tests import factories as F
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")

NNBSP = "\u202f"  # French groups digits with a narrow no-break space
WRITTEN = {
    "en": ("24,000", "1,250.5"),
    "zh": ("24,000", "1,250.5"),
    "fr": (f"24{NNBSP}000", f"1{NNBSP}250,5"),
    "es": ("24.000", "1.250,5"),
}


@pytest.mark.parametrize("lang", sorted(WRITTEN))
def test_local_number(lang: str) -> None:
    assert (local_number(24000, lang), local_number(1250.5, lang)) == WRITTEN[lang]
    assert local_number(-1e-9, lang) == "0"
    assert local_number(2.0, lang) == "2"
    # every digit the float holds, whatever its size (Babel's 28-digit context refused it)
    assert local_number(1e300, lang).replace(WRITTEN[lang][0][2], "") == "1" + "0" * 300
    assert local_number(123456789012345678.0, "en") == "123,456,789,012,345,680"


def _call(s: Session) -> str:
    call = F.fast_call(s, max_hours=1250.5)
    call.pools[0].amount = 24000
    s.flush()
    return call.slug


@pytest.mark.parametrize("lang", sorted(WRITTEN))
def test_the_call_page_writes_amounts_in_the_reader_s_language(web: Web, lang: str) -> None:
    with web.factory() as s:
        slug = _call(s)
        s.commit()
    html = web.client().get(f"/calls/{slug}", headers={"Accept-Language": lang}).text
    big, odd = WRITTEN[lang]
    assert big in html and odd in html, lang
    assert "24000" not in html and "1250.5" not in html


def test_amounts_in_messages_and_explanations_follow_the_reader() -> None:
    labels = {
        "en": {"one": "US dollar", "other": "US dollars"},
        "fr": {"one": "dollar US", "other": "dollars US"},
    }
    text = amount_text("usd", labels, 1250.5)
    assert text.in_lang("fr") == f"1{NNBSP}250,5 dollars US"
    assert text.in_lang("en") == "1,250.5 US dollars"
    left = message(
        "%(pool)s (%(left)s of %(cap)s %(unit)s left)",
        pool="Berths",
        left=number("1250.5"),
        cap=number("24000"),
        unit=unit("h", "24000"),
    )
    said = say(
        Translator("es"),
        message("pool(s) exhausted by higher-ranked requests: %(names)s", names=listing([left])),
    )
    assert "(quedan 1.250,5 de 24.000 horas)" in said, said


def test_refusals_write_numbers_for_the_reader_and_plainly_for_programs() -> None:
    from types import SimpleNamespace

    from opencall.errors import DomainError
    from opencall.proposals.services.requests import _check_limits
    from opencall.web.i18n import error_json

    pool = SimpleNamespace(name="Berths", pool_type="berth", unit="h", unit_labels=None)
    cp = SimpleNamespace(pool=pool, amount=24000.0, min_per_request=None, max_per_request=None)
    with pytest.raises(DomainError) as exc:
        _check_limits(cp, 30000.5)  # type: ignore[arg-type]
    assert f"(30{NNBSP}000,5 " in Translator("fr").error(exc.value)
    assert f"(24{NNBSP}000 " in Translator("fr").error(exc.value)
    assert "(30,000.5 " in Translator("en").error(exc.value)
    # the English message of the logs and the API's params stay plain numbers
    assert "(30000.5 " in exc.value.message
    assert error_json(exc.value, "es")["params"]["amount"] == "30000.5"
    assert "(30.000,5 " in error_json(exc.value, "es")["detail"]
