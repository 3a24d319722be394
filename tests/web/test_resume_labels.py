"""What a form sent after the session expired shows once its author has signed in again
("Your changes are kept"): each kept text under the words its form gave it, in the
reader's language, and none of the form's bookkeeping (its version, its one-time key)
as if it were something they typed. Sending it again stores it (tests/web/test_security.py)."""

from __future__ import annotations

import html
import re
import time
from typing import Any

import pytest

from opencall.proposals.models import Proposal
from opencall.web.security import MAX_AGE_S
from tests.web.conftest import PASSWORD, Web, World, session_cookie

pytestmark = pytest.mark.filterwarnings("ignore")

ORIGIN = {"Origin": "http://testserver"}  # what a browser sends from our own page


def stale_session_cookie(web: Web, email: str, csrf_token: str) -> str:
    """A session cookie of ``email`` signed longer ago than ``MAX_AGE_S``: expired."""
    import itsdangerous.timed as timed

    real = timed.TimestampSigner.get_timestamp
    timed.TimestampSigner.get_timestamp = lambda self: int(time.time()) - MAX_AGE_S - 60  # type: ignore[method-assign]
    try:
        return session_cookie(web, email, csrf_token, issued=0)
    finally:
        timed.TimestampSigner.get_timestamp = real  # type: ignore[method-assign]


def carried_after_sign_in(web: Web, world: World, lang: str) -> str:
    """The page the PI reads after signing in again, their editor's text kept."""
    pid = world.ids["proposal"]
    with web.factory() as s:
        version = s.get(Proposal, pid).version  # type: ignore[union-attr]
    c = web.client(lang)
    c.cookies.set("oc_session", stale_session_cookie(web, world.emails["pi"], "tok"))
    r = c.post(
        f"/proposals/{pid}",
        headers=ORIGIN,
        data={
            "csrf_token": "tok",
            "title": "Pulsar timing with FAST",
            "abstract": "Un résumé écrit sur une ligne lente",
            "science_case": "Une heure de travail",
            "keywords": "pulsars",
            "version": str(version),
        },
    )
    return sign_in_again(c, r, world)


def sign_in_again(c: Any, r: Any, world: World) -> str:
    """The PI signs in again from the kept form's page ``r``, sending all it carries
    (the fields, the target, whether files were sent); the page after it."""
    assert r.status_code in (401, 403), r.status_code  # the session or its token ran out
    tok = re.search(r'name="csrf_token" value="([^"]+)"', r.text).group(1)  # type: ignore[union-attr]
    carried = {
        k: html.unescape(v)
        for k, v in re.findall(r'name="(carry\.[^"]+|carry_[a-z]+)" value="([^"]*)"', r.text)
    }
    r = c.post(
        "/login",
        headers=ORIGIN,
        data={"csrf_token": tok, "email": world.emails["pi"], "password": PASSWORD, **carried},
    )
    assert r.status_code == 200, r.status_code
    return html.unescape(r.text)


@pytest.mark.parametrize(
    ("lang", "words"),
    [
        ("zh", ("标题", "摘要", "科学目标", "关键词")),
        ("fr", ("Titre", "Résumé", "Argumentaire scientifique", "Mots-clés")),
    ],
)
def test_the_kept_text_is_shown_under_its_fields_words(
    web: Web, world: World, lang: str, words: tuple[str, ...]
) -> None:
    text = carried_after_sign_in(web, world, lang)
    shown = re.findall(r"<dt>([^<]*)</dt>", text)
    assert shown == list(words), shown
    # still sent again as it was typed, with the version it was typed against
    assert 'type="hidden" name="version"' in text and 'name="science_case"' in text
    assert "Une heure de travail" in text


def test_an_upload_sent_after_the_session_ran_out_says_the_file_is_to_be_chosen_again(
    web: Web, world: World
) -> None:
    """A file cannot be carried through the sign-in: the page says so before it (an
    applicant on a slow link learns it before signing in, not after)."""
    pid = world.ids["proposal"]
    c, r = _sent_after_expiry(
        web,
        world,
        "zh",
        f"/proposals/{pid}/attachments",
        {},
        files={"pdf": ("case.pdf", b"%PDF-1.4 not read", "application/pdf")},
    )
    assert r.status_code in (401, 403), r.status_code
    text = html.unescape(r.text)
    assert 'action="/login"' in text
    assert "文件无法保留" in text, text[-1500:]
    # and once signed in again, on the page that sends the rest again (trialapp22)
    assert "文件无法保留" in sign_in_again(c, r, world), "the upload's author is not told"
    # a form without a file is not told about files
    c = web.client("zh")
    c.cookies.set("oc_session", stale_session_cookie(web, world.emails["pi"], "tok"))
    r = c.post(
        f"/proposals/{pid}",
        headers=ORIGIN,
        data={"csrf_token": "tok", "abstract": "A", "version": "1"},
    )
    assert 'action="/login"' in r.text and "文件无法保留" not in html.unescape(r.text)


def test_the_page_after_sign_in_speaks_of_files_only_for_a_form_that_had_them(
    web: Web, world: World
) -> None:
    """trialapp22: once signed in again, the kept text form is sent again with no word of
    files (it had none); a kept upload form still says so (the test above)."""
    text = carried_after_sign_in(web, world, "zh")
    assert "Une heure de travail" in text  # the kept page itself
    assert "文件无法保留" not in text, "a text form is told its files cannot be kept"


def test_the_kept_form_says_what_it_was_for_in_words_not_its_path(web: Web, world: World) -> None:
    """trialapp23: the kept form's page said "POST /proposals/12" (a technical line, for an
    applicant in French on a phone), before the sign-in and after it. Now it says what the
    form was for, in the reader's language; no method or path."""
    pid = world.ids["proposal"]
    c, r = _sent_after_expiry(web, world, "fr", f"/proposals/{pid}", {"abstract": "Un résumé"})
    before = html.unescape(r.text)
    after = sign_in_again(c, r, world)
    for text in (before, after):
        assert f"POST /proposals/{pid}" not in text, "the kept form shows its POST path"
        assert "Le formulaire portait sur : le texte de votre proposition." in text
    # every form's target that the table names is said in words; another, not at all
    from opencall.web.labels import form_target

    assert form_target(f"/proposals/{pid}/attachments") == "your proposal's PDF"
    assert form_target("/review/assignments/7") == "your review"
    assert form_target("/somewhere/else") is None


def _sent_after_expiry(
    web: Web, world: World, lang: str, path: str, fields: dict[str, str], **kw: Any
) -> tuple[Any, Any]:
    """The PI's form of ``fields`` (and ``kw``: files) sent to ``path`` in ``lang`` with a
    session that ran out: the client and the kept form's page."""
    c = web.client(lang)
    c.cookies.set("oc_session", stale_session_cookie(web, world.emails["pi"], "tok"))
    data = {"csrf_token": "tok", "version": "1", **fields}
    return c, c.post(path, headers=ORIGIN, data=data, **kw)
