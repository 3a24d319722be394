"""Four languages: every UI string is in every catalogue; negotiation; e-mails."""

from __future__ import annotations

import re

import pytest

from opencall.web.i18n import Translator, merged_catalog, negotiate
from tests.conftest import RUN_ONCE
from tests.i18n.checks import extracted  # every source, as babel.cfg says
from tests.web.conftest import Web, World, csrf

PLACEHOLDER = re.compile(r"%\(\w+\)s")

pytestmark = pytest.mark.filterwarnings("ignore")


@pytest.mark.parametrize("lang", ["zh", "fr", "es"])
def test_every_string_is_translated(lang: str) -> None:
    # every catalogue of the language (messages.po, workspaces.po, ...), merged
    catalog = merged_catalog(lang)
    assert catalog is not None
    ids = extracted()
    assert len(ids) > 250
    missing, bad = [], []
    for msgid in ids:
        key = msgid[0] if isinstance(msgid, tuple) else msgid
        msg = catalog.get(key)
        if msg is None or not msg.string or (isinstance(msg.string, tuple) and not all(msg.string)):
            missing.append(msgid)
            continue
        if isinstance(msgid, str) and set(PLACEHOLDER.findall(msgid)) != set(
            PLACEHOLDER.findall(str(msg.string))
        ):
            bad.append(msgid)
        if "fuzzy" in msg.flags:
            bad.append(msgid)
    assert not missing, f"{lang}: not in the catalogue: {missing}"
    assert not bad, f"{lang}: placeholders differ or fuzzy: {bad}"


def test_negotiation() -> None:
    assert negotiate("fr-CH, fr;q=0.9, en;q=0.8") == "fr"
    assert negotiate("de-DE, zh-CN;q=0.7, es;q=0.5") == "zh"
    assert negotiate("de, ja;q=0.5") is None
    assert negotiate("es;q=0, en;q=0.1") == "en"
    assert negotiate("") is None and negotiate(None) is None


def test_service_messages_are_translated_with_their_values() -> None:
    fr = Translator("fr")
    assert fr.message("The deadline passed at 2027-05-01 12:00:00 UTC; the call is closed.") == (
        "La date limite est passée (2027-05-01 12:00:00 UTC) ; l’appel est clos."
    )
    zh = Translator("zh")
    assert zh.message("The PDF has 12 pages; this call allows at most 10.") == (
        "此 PDF 有 12 页；本征集最多允许 10 页。"
    )
    assert zh.message("An unknown message stays as it is.") == "An unknown message stays as it is."
    assert Translator("en").message("Saved.") == "Saved."


@RUN_ONCE
def test_language_choice_order(web: Web, world: World) -> None:
    c = web.client()
    assert '<html lang="en">' in c.get("/").text
    assert '<html lang="es">' in c.get("/", headers={"Accept-Language": "es-MX,es;q=0.9"}).text
    r = c.get("/lang/zh?next=/calls")
    assert r.status_code == 303 and r.headers["location"] == "/calls"
    assert "oc_lang=zh" in r.headers["set-cookie"]
    c.cookies.set("oc_lang", "zh")
    assert '<html lang="zh-Hans">' in c.get("/", headers={"Accept-Language": "es"}).text
    assert c.get("/lang/de").status_code == 404
    assert c.get("/lang/fr?next=//evil.example").headers["location"] == "/"
    # the account's language applies when no explicit choice was made
    pi = web.login(world.emails["pi"])
    tok = csrf(pi, "/account")
    r = pi.post(
        "/account",
        data={
            "csrf_token": tok,
            "name": "Ximena",
            "language": "fr",
            "country_iso3": "TZA",
            "institution": "Zanzibar Radio Institute",
        },
    )
    assert r.status_code == 303
    pi.cookies.delete("oc_lang")
    assert "Mes propositions" in pi.get("/dashboard").text


def test_mail_is_in_the_recipients_language(web: Web) -> None:
    c = web.client("en")
    tok = csrf(c, "/register")
    r = c.post(
        "/register",
        data={
            "csrf_token": tok,
            "name": "Mei",
            "email": "mei@example.org",
            "password": "long password 1",
            "password2": "long password 1",
            "language": "zh",
        },
    )
    assert r.status_code == 303
    mail = [m for m in web.mails() if "mei@example.org" in m][0]
    import email
    from email.header import decode_header, make_header

    msg = email.message_from_string(mail)
    body = mail.split("\n\n", 1)[1]
    assert "请打开此链接" in body and "/verify/" in body and "Mei，您好" in body
    assert "验证您在 OpenCall 的电子邮箱" in str(make_header(decode_header(msg["Subject"])))
