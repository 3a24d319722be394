"""An awardee abroad records what happened on a slow, unreliable link (trialapp15):

- a record or a result refused for one wrong field comes back with everything that was
  typed in it, its form open, the field marked and the error beside it (the page used to
  come back with every form empty and closed, and the error at the top only);
- the same record form sent twice (a dropped answer, sent again; a second tap) is stored
  once: each form the page shows carries a one-time key, and a second sending of it goes
  back to the award's page as saved."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from opencall.results.models import PostAwardRecord, ResearchOutput
from tests.authz.test_workspace_matrix import session_client
from tests.results.authz_cases import LOAN
from tests.results.conftest import Awarded
from tests.web.conftest import Web

pytestmark = pytest.mark.filterwarnings("ignore")
OPEN = re.compile(r"<details[^>]* open[ >]")
SAMPLE = "Échantillon CE-5 no 7 — بازالت"


def _count(web: Web, model: type) -> int:
    with web.factory() as s:
        return s.scalar(select(func.count()).select_from(model)) or 0


def _form(html: str, action: str, marker: str = "") -> str:
    """The first form posting to ``action`` (holding ``marker``), with its <details>."""
    for m in re.finditer(r"<details[^>]*>(?:(?!</details>).)*?</details>", html, re.S):
        block = m.group(0)
        if f'action="{action}"' in block and marker in block:
            return block
    raise AssertionError(f"no form to {action} with {marker!r}")


def _once(html: str, action: str, marker: str = "") -> str:
    m = re.search(r'name="once" value="([0-9a-f]{32})"', _form(html, action, marker))
    assert m, "the form carries no one-time key"
    return m.group(1)


def test_a_refused_record_keeps_what_was_typed(web: Web, aw: Awarded) -> None:
    client, tok = session_client(web, aw.emails["pi"])
    action = f"/awards/{aw.awarded}/records"
    bad = {**LOAN, "sample": SAMPLE, "received_on": "2027-05-01"}  # before shipped_on
    r = client.post(action, data={"csrf_token": tok, **bad})
    assert r.status_code == 400
    form = _form(r.text, action, 'value="loan"')
    assert OPEN.match(form), form[:80]  # her form is open, and no other
    assert len(OPEN.findall(r.text)) == 1
    assert f'value="{SAMPLE}"' in form and 'value="2027-05-01"' in form
    assert 'value="100"' in form and 'value="2028-06-01"' in form
    assert 'role="alert"' in form  # the refusal beside the form she sent
    assert _count(web, PostAwardRecord) == 0


def test_a_refused_correction_and_result_keep_what_was_typed(web: Web, aw: Awarded) -> None:
    client, tok = session_client(web, aw.emails["pi"])
    r = client.post(f"/awards/{aw.awarded}/records", data={"csrf_token": tok, **LOAN})
    assert r.status_code == 303
    with web.factory() as s:
        rec = s.scalars(select(PostAwardRecord)).one()
    fix = f"/awards/{aw.awarded}/records/{rec.id}"
    r = client.post(fix, data={"csrf_token": tok, **LOAN, "sample": SAMPLE, "mass_mg": "-3"})
    assert r.status_code == 400
    form = _form(r.text, fix)
    assert OPEN.match(form) and f'value="{SAMPLE}"' in form
    assert 'value="-3"' in form and 'role="alert"' in form
    # a result with a wrong year: the title, authors and abstract typed are all kept
    out = f"/awards/{aw.awarded}/outputs"
    typed = {
        "kind": "dataset",
        "title": "Âges Pb-Pb des grains de régolithe",
        "year": "1900",
        "authors": "Amina Otieno\nليلى حداد",
        "abstract": "Un long résumé tapé sur un téléphone.",
        "countries": "KEN, UGA",
    }
    r = client.post(out, data={"csrf_token": tok, **typed})
    assert r.status_code == 400
    form = _form(r.text, out)
    assert OPEN.match(form) and 'role="alert"' in form
    for value in ('value="Âges Pb-Pb des grains de régolithe"', 'value="1900"', 'value="KEN, UGA"'):
        assert value in form, value
    assert ">Amina Otieno\nليلى حداد</textarea>" in form
    assert ">Un long résumé tapé sur un téléphone.</textarea>" in form
    assert '<option value="dataset" selected>' in form
    assert _count(web, ResearchOutput) == 0


def test_a_record_sent_twice_is_stored_once(web: Web, aw: Awarded) -> None:
    client, tok = session_client(web, aw.emails["pi"])
    page = client.get(f"/awards/{aw.awarded}").text
    action = f"/awards/{aw.awarded}/records"
    once = _once(page, action, 'value="loan"')
    sent = {"csrf_token": tok, **LOAN, "once": once}
    first = client.post(action, data=sent)
    again = client.post(action, data=sent)  # the answer was lost; the browser sends again
    assert first.status_code == again.status_code == 303
    assert again.headers["location"] == first.headers["location"]
    assert _count(web, PostAwardRecord) == 1
    # the page sent back carries a new key: another record from it is stored
    page = client.get(f"/awards/{aw.awarded}").text
    assert _once(page, action, 'value="loan"') != once
    other = {**sent, "once": _once(page, action, 'value="loan"'), "sample": "CE-5 no 8"}
    assert client.post(action, data=other).status_code == 303
    assert _count(web, PostAwardRecord) == 2
    # a refused sending does not use its key up: corrected, it is stored
    key = _once(client.get(f"/awards/{aw.awarded}").text, action, 'value="loan"')
    bad = {**sent, "once": key, "received_on": "2027-05-01", "sample": "CE-5 no 9"}
    r = client.post(action, data=bad)
    assert r.status_code == 400 and _once(r.text, action, 'value="loan"') == key
    assert client.post(action, data={**bad, "received_on": "2027-06-10"}).status_code == 303
    assert _count(web, PostAwardRecord) == 3
    # a key is the sender's own: another member of the team sending it stores theirs
    coi, coi_tok = session_client(web, aw.emails["coi"])
    assert coi.post(action, data={**sent, "csrf_token": coi_tok}).status_code == 303
    assert _count(web, PostAwardRecord) == 4
    # a key that is not one of ours is refused, and nothing is stored
    r = client.post(action, data={**sent, "once": "x" * 300})
    assert r.status_code == 400 and _count(web, PostAwardRecord) == 4
