"""Bad input on every form: a clear message in the visitor's language, and
nothing changed (row counts and the proposal identical)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from typing import Any

import pytest

from opencall.calls.models import Call
from opencall.calls.queries import call_by_slug
from opencall.db import utcnow
from opencall.proposals.models import Proposal
from opencall.web.i18n import Translator
from tests.authz.test_matrix import pdf_bytes
from tests.factories import table_counts
from tests.web.conftest import Web, World, csrf, version_of

pytestmark = pytest.mark.filterwarnings("ignore")


def state(web: Web, w: World | None = None) -> dict[str, Any]:
    with web.factory() as s:
        out: dict[str, Any] = dict(table_counts(s))
        if w is not None:
            p = s.get(Proposal, w.ids["proposal"])
            assert p is not None
            out["proposal"] = (
                p.title,
                p.abstract,
                p.science_case,
                p.version,
                p.status,
                [r.details for r in p.requests],
                len(p.attachments),
            )
        return out


def refused(web: Web, w: World | None, do: Callable[[], Any], status: int, *expect: str) -> str:
    before = state(web, w)
    r = do()
    text = html.unescape(r.text)
    assert r.status_code == status, text[:3000]
    for e in expect:
        assert e in text, f"{e!r} not in page"
    assert state(web, w) == before
    return text


def signed_in_sessions(web: Web, email: str) -> int:
    from sqlalchemy import func, select

    from opencall.people.models import User, UserSession

    with web.factory() as s:
        return (
            s.scalar(select(func.count(UserSession.id)).join(User).where(User.email == email)) or 0
        )


def t(lang: str, msg: str, **kw: Any) -> str:
    return Translator(lang).gettext(msg, **kw)


def test_register_bad_input(web: Web) -> None:
    c = web.client("zh")
    tok = csrf(c, "/register")
    post = lambda **d: lambda: c.post("/register", data={"csrf_token": tok, **d})  # noqa: E731
    good = {
        "name": "Ana",
        "email": "ana@example.org",
        "password": "long password 1",
        "password2": "long password 1",
        "country_iso3": "PER",
        "language": "es",
    }
    refused(web, None, post(), 400, t("zh", "This field is required."))
    refused(web, None, post(**{**good, "name": "x" * 201}), 400, "太长了（最多 200 个字符）")
    refused(web, None, post(**{**good, "password2": "other password"}), 400, "两次输入的密码不一致")
    refused(
        web,
        None,
        post(**{**good, "password": "short", "password2": "short"}),
        400,
        "密码至少需要 10 个字符",
    )
    refused(web, None, post(**{**good, "email": "not-an-address"}), 400, "电子邮箱地址无效")
    refused(web, None, post(**{**good, "country_iso3": "ZZZ"}), 400, "未知的国家代码")
    refused(web, None, post(**{**good, "language": "xx"}), 400, "语言必须是以下之一")
    # markup in a refused form is shown back as text, never as markup
    page = refused(
        web,
        None,
        post(**{**good, "name": "<script>alert(1)</script>", "password2": "different!!"}),
        400,
        "两次输入的密码不一致",
    )
    assert 'value="<script>alert(1)</script>"' in page  # the name is kept in the form
    r = c.post(
        "/register",
        data={
            "csrf_token": tok,
            **good,
            "name": "<script>alert(1)</script>",
            "password2": "different!!",
        },
    )
    assert "<script>alert(1)</script>" not in r.text and "&lt;script&gt;" in r.text


def test_login_bad_password_and_throttle(web: Web, world: World) -> None:
    c = web.client("fr")
    tok = csrf(c)
    for _ in range(web.settings.login_throttle_attempts):
        r = c.post(
            "/login", data={"csrf_token": tok, "email": world.emails["pi"], "password": "nope"}
        )
        assert r.status_code == 400
        assert t("fr", "Wrong e-mail address or password.") in html.unescape(r.text)
        # a refused sign-in starts no session: no session row, and the client is still a visitor
        assert signed_in_sessions(web, world.emails["pi"]) == 0
        assert c.get("/dashboard").headers.get("location", "").startswith("/login?next=")
    r = c.post(
        "/login",
        data={"csrf_token": tok, "email": world.emails["pi"], "password": "correct horse battery"},
    )
    assert r.status_code == 429
    assert "Trop de tentatives échouées" in html.unescape(r.text)
    assert c.get("/dashboard").status_code == 303  # still signed out


def test_unverified_account_cannot_sign_in(web: Web) -> None:
    c = web.client("es")
    tok = csrf(c, "/register")
    r = c.post(
        "/register",
        data={
            "csrf_token": tok,
            "name": "Luis",
            "email": "luis@example.org",
            "password": "long password 1",
            "password2": "long password 1",
            "language": "es",
        },
    )
    assert r.status_code == 303
    r = c.post(
        "/login",
        data={"csrf_token": csrf(c), "email": "luis@example.org", "password": "long password 1"},
    )
    assert r.status_code == 403 and "Primero verifique su correo" in html.unescape(r.text)


def test_reset_and_forgot_bad_input(web: Web, world: World) -> None:
    c = web.client("zh")
    tok = csrf(c, "/password/forgot")
    refused(
        web,
        None,
        lambda: c.post("/password/forgot", data={"csrf_token": tok, "email": ""}),
        400,
        "此项为必填项",
    )
    refused(
        web,
        None,
        lambda: c.post(
            "/password/reset/bogus",
            data={"csrf_token": tok, "password": "long password 2", "password2": "long password 2"},
        ),
        404,
        "此链接无效或已过期",
    )
    r = c.post("/password/forgot", data={"csrf_token": tok, "email": world.emails["pi"]})
    assert r.status_code == 303
    link = [m for m in web.mails() if world.emails["pi"] in m][-1]
    path = "/password/reset/" + link.split("/password/reset/")[1].split()[0]
    refused(
        web,
        None,
        lambda: c.post(
            path,
            data={"csrf_token": tok, "password": "long password 2", "password2": "long password 3"},
        ),
        400,
        "两次输入的密码不一致",
    )
    refused(
        web,
        None,
        lambda: c.post(path, data={"csrf_token": tok, "password": "short", "password2": "short"}),
        400,
        "密码至少需要 10 个字符",
    )


def test_account_bad_input(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"], "es")
    tok = csrf(c, "/account")
    post = lambda **d: lambda: c.post("/account", data={"csrf_token": tok, "name": "Ximena", **d})  # noqa: E731
    refused(web, None, post(name=""), 400, "Su nombre es obligatorio.")
    refused(web, None, post(name="n" * 300), 400, "Demasiado largo")
    refused(web, None, post(country_iso3="XXX"), 400, "Código de país desconocido")
    refused(web, None, post(country_iso3="PER", expertise="e" * 6000), 400, "demasiado larga")
    refused(
        web, None, post(institution="Somewhere", country_iso3=""), 400, "El país es obligatorio"
    )


def test_apply_bad_input_and_closed_call(web: Web, world: World) -> None:
    c = web.login(world.emails["other"], "zh")
    slug = world.slugs["call"]
    tok = csrf(c, f"/calls/{slug}/apply")

    def post(title):
        return lambda: c.post(f"/calls/{slug}/apply", data={"csrf_token": tok, "title": title})  # noqa: E731

    refused(web, world, post(""), 400, "请填写标题。")
    refused(web, world, post("t" * 201), 400, "标题太长（201 个字符；最多 200 个）")
    # one limit, the call's (the page kept a copy of its own, 300, before)
    refused(web, world, post("t" * 301), 400, "标题太长（301 个字符；最多 200 个）")
    _close(web, slug)
    refused(web, world, post("A fine title"), 400, "截止时间", "已过")


def _close(web: Web, slug: str) -> None:
    with web.factory() as s:
        call = call_by_slug(s, slug)
        assert isinstance(call, Call)
        call.closes_at = utcnow().replace(microsecond=0) - dt.timedelta(seconds=1)
        s.commit()


def test_editor_text_bad_input_stale_and_deadline(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"], "fr")
    pid = world.ids["proposal"]
    page = c.get(f"/proposals/{pid}").text
    tok = csrf(c, f"/proposals/{pid}")
    version = page.split('name="version" value="')[1].split('"')[0]
    base = {
        "csrf_token": tok,
        "title": "T",
        "abstract": "A",
        "science_case": "S",
        "keywords": "",
        "version": version,
    }
    post = lambda **d: lambda: c.post(f"/proposals/{pid}", data={**base, **d})  # noqa: E731
    refused(web, world, post(title=""), 400, "Un titre est obligatoire.")
    refused(
        web,
        world,
        post(title="x" * 301),
        400,
        "Le titre est trop long (301 caractères ; 200 au plus)",
    )
    text = refused(
        web,
        world,
        post(version=str(int(version) - 1), abstract="My unsaved words"),
        409,
        "a été modifiée ailleurs",
        "My unsaved words",
    )
    assert "My unsaved words" in text  # the visitor's text comes back
    refused(web, world, post(version="abc", title="y" * 5000), 400)
    _close(web, world.slugs["call"])  # the deadline passes while the page is open
    refused(web, world, post(abstract="Late words"), 400, "La date limite est passée", "Late words")


def test_invite_bad_input(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"], "es")
    pid = world.ids["proposal"]
    tok = csrf(c, f"/proposals/{pid}")
    good = {
        "csrf_token": tok,
        "email": "new@example.org",
        "name": "New",
        "institution": "Lab",
        "country_iso3": "KEN",
    }
    post = lambda **d: lambda: c.post(f"/proposals/{pid}/team", data={**good, **d})  # noqa: E731
    refused(web, world, post(email=""), 400, "Este campo es obligatorio.")
    refused(web, world, post(email="nope"), 400, "Correo electrónico no válido")
    refused(web, world, post(country_iso3="ZZZ"), 400, "Código de país desconocido")
    refused(web, world, post(name="n" * 201), 400, "Demasiado largo")
    refused(
        web, world, post(email=world.emails["coi"]), 400, "Esta persona ya forma parte del equipo."
    )


def _fast_form(tok: str, rows: list[tuple[str, str, str, str]], **kw: str) -> dict[str, str]:
    d = {
        "csrf_token": tok,
        "kind": "fast",
        "receiver": "19-beam",
        "mode": "Tracking",
        "rows": str(len(rows)),
    }
    for i, (n, ra, dec, h) in enumerate(rows):
        d.update(
            {
                f"targets-{i}-name": n,
                f"targets-{i}-ra_deg": ra,
                f"targets-{i}-dec_deg": dec,
                f"targets-{i}-hours": h,
            }
        )
    d.update(kw)
    return d


def test_request_bad_lines_show_errors_beside_fields(web: Web, world: World) -> None:
    c = web.login(world.emails["coi"], "zh")
    pid = world.ids["proposal"]
    tok = csrf(c, f"/proposals/{pid}")
    post = lambda d: lambda: c.post(f"/proposals/{pid}/requests", data=d)  # noqa: E731
    text = refused(
        web,
        world,
        post(
            _fast_form(
                tok,
                [
                    ("Crab", "05:34:31.9", "+22:00:52", "2"),
                    ("Bad RA", "25:00:00", "+10", "1"),
                    ("Bad hours", "10.0", "20", "abc"),
                ],
            )
        ),
        400,
        "赤经的小时数必须小于 24",
        "请输入数字。",
    )
    assert 'id="err-targets-1-ra_deg"' in text and 'id="err-targets-2-hours"' in text
    assert 'value="Bad RA"' in text  # what was typed comes back
    refused(
        web,
        world,
        post(_fast_form(tok, [("South", "10", "-60", "1")])),
        400,
        "超出本望远镜可观测的天区",
    )
    refused(web, world, post(_fast_form(tok, [("Big", "10", "10", "60")])), 400, "此申请共申请")
    refused(web, world, post(_fast_form(tok, [])), 400, "请至少填写一行。")
    refused(
        web,
        world,
        post(_fast_form(tok, [("Crab", "1", "1", "1")], receiver="X-band")),
        400,
        "本征集不提供接收机",
    )
    refused(
        web,
        world,
        post(_fast_form(tok, [("<script>x</script>" * 10, "1", "1", "1")])),
        400,
        "太长了（最多 100 个字符）",
    )
    refused(web, world, post({"csrf_token": tok, "kind": "dive"}), 400, "此值无效。")


def test_upload_bad_files(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"], "fr")
    pid = world.ids["proposal"]
    tok = csrf(c, f"/proposals/{pid}")

    def up(name: str, data: bytes) -> Callable[[], Any]:
        return lambda: c.post(
            f"/proposals/{pid}/attachments",
            data={"csrf_token": tok},
            files={"pdf": (name, data, "application/pdf")},
        )

    refused(
        web, world, up("fake.pdf", b"<html>not a pdf</html>"), 400, "Ce fichier n’est pas un PDF."
    )
    refused(
        web, world, up("broken.pdf", b"%PDF-1.7\n garbage garbage"), 400, "Ce PDF est illisible"
    )
    refused(web, world, up("empty.pdf", b""), 400)
    big = pdf_bytes() + b"%" + b"x" * (web.settings.max_upload_bytes + 10)
    # the message is read with the file input, beside its "at most N MB" hint (app12b)
    refused(
        web,
        world,
        up("big.pdf", big),
        400,
        "Le fichier est trop volumineux",
        'aria-invalid="true" aria-describedby="err-pdf hint-pdf"',
    )
    huge = b"%PDF-" + b"x" * (web.settings.max_upload_bytes + 2 * 1024 * 1024)
    refused(web, world, up("huge.pdf", huge), 413, "Le fichier est trop volumineux")
    refused(web, world, up("long.pdf", pdf_bytes(11)), 400, "Le PDF compte 11 pages")
    refused(
        web,
        world,
        lambda: c.post(f"/proposals/{pid}/attachments", data={"csrf_token": tok}),
        400,
        "Choisissez un fichier PDF.",
    )
    # a real PDF under a misleading name is judged by content and accepted
    r = c.post(
        f"/proposals/{pid}/attachments",
        data={"csrf_token": tok, "version": version_of(c, pid)},
        files={"pdf": ("notes.txt", pdf_bytes(2), "text/plain")},
    )
    assert r.status_code == 303
    with web.factory() as s:
        p = s.get(Proposal, pid)
        assert p is not None and p.attachments[0].pages == 2
        assert p.attachments[0].filename == "notes.txt.pdf"


def test_missing_csrf_changes_nothing_and_keeps_text(web: Web, world: World) -> None:
    c = web.login(world.emails["pi"], "es")
    pid = world.ids["proposal"]
    text = refused(
        web,
        world,
        lambda: c.post(
            f"/proposals/{pid}",
            data={"title": "Changed", "abstract": "Texto que no se pierde", "version": "1"},
        ),
        403,
        "Sus cambios se conservan",
        "Texto que no se pierde",
    )
    assert 'name="csrf_token"' in text


def test_invitation_bad_action(web: Web, world: World) -> None:
    c = web.login(world.emails["invited"], "zh")
    mid = world.ids["invitation"]
    tok = csrf(c, f"/invitations/{mid}")
    refused(
        web,
        world,
        lambda: c.post(f"/invitations/{mid}", data={"csrf_token": tok, "action": "x"}),
        400,
        "此值无效。",
    )


def test_sample_request_by_pool_with_limits(web: Web, world: World) -> None:
    """A non-telescope request: a pool to choose, typed fields, the pool's limit."""
    from opencall.people.queries import user_by_email
    from opencall.proposals import services as prop_services
    from tests import factories as F
    from tests.web.conftest import make_open

    with web.factory() as s:
        call, pool = F.samples_call(s)
        make_open(call)
        pi = user_by_email(s, world.emails["other"])
        p = prop_services.create_proposal(s, call, pi, title="Regolith grains")  # type: ignore[arg-type]
        s.commit()
        pid, pool_id = p.id, pool.id
    c = web.login(world.emails["other"], "zh")
    tok = csrf(c, f"/proposals/{pid}")
    page = c.get(f"/proposals/{pid}").text
    assert f'<option value="{pool_id}">' in page and "CE-5 regolith" in page

    def post(**d: str) -> Callable[[], Any]:
        data = {
            "csrf_token": tok,
            "version": version_of(c, pid),
            "kind": "sample",
            "pool_id": str(pool_id),
            "sample_type": "CE-5 regolith",
            **d,
        }
        return lambda: c.post(f"/proposals/{pid}/requests", data=data)

    refused(web, None, post(mass_mg="lots"), 400, "请输入数字。")
    refused(web, None, post(mass_mg="500"), 400, "超过 'CE-5 regolith' 中每项申请 400 毫克 的上限")
    refused(web, None, post(mass_mg="100", pool_id=""), 400, "此项为必填项。")
    refused(
        web,
        None,
        post(mass_mg="100", sample_type="CE-6 basalt"),
        400,
        "资源 'CE-5 regolith' 提供的是",
    )
    r = post(mass_mg="120", techniques="SEM, EPMA", destructive="on")()
    assert r.status_code == 303
    with web.factory() as s:
        p = s.get(Proposal, pid)
        assert p is not None and p.requests[0].amount == 120
        assert p.requests[0].details["destructive"] is True
