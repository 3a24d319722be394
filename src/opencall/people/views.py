"""Account pages: register, verify, sign in and out, password reset, account."""

from __future__ import annotations

import hmac
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from opencall.errors import DomainError
from opencall.people import queries, services
from opencall.people.forms import country_options
from opencall.people.models import User
from opencall.web import security
from opencall.web.forms import MSG_REQUIRED, MSG_TOO_LONG
from opencall.web.i18n import N_
from opencall.web.mail import queue_mail
from opencall.web.pages import Page, get_page, render_mail, safe_next

router = APIRouter()

FIELDS_MAX = {"name": 200, "email": 254, "institution": 300, "password": 200}
MSG_PASSWORDS_DIFFER = N_("The two passwords differ.")
MSG_BAD_LOGIN = N_("Wrong e-mail address or password.")
MSG_UNVERIFIED = N_("Please verify your e-mail address first: open the link we sent you.")
MSG_THROTTLED = N_("Too many failed attempts. Try again in %(minutes)s minutes.")
MSG_RESET_THROTTLED = N_(
    "Too many password-reset requests from your network. Try again in %(minutes)s minutes."
)
MSG_REGISTER_THROTTLED = N_(
    "Too many registrations from your network. Try again in %(minutes)s minutes."
)


def _lengths(page: Page, names: tuple[str, ...]) -> dict[str, str]:
    errors: dict[str, str] = {}
    for name in names:
        limit = FIELDS_MAX.get(name)
        if limit and len(page.form.get(name, "")) > limit:
            errors[name] = page._(MSG_TOO_LONG, max=limit)
    return errors


def client_address(page: Page) -> str:
    """The client's address (behind a proxy, `opencall serve --forwarded-allow-ips` names
    the proxies whose X-Forwarded-For is believed)."""
    client = page.request.client
    return (client.host if client else "")[:64]


def client_of(page: Page) -> str:
    """The client the throttles count (:func:`opencall.web.security.client_key`: an
    IPv6 client is its /64, whichever of its addresses it sends from)."""
    return security.client_key(client_address(page))[:64]


def _may_mail(page: Page, email: str, kind: str) -> bool:
    """At most ``mail_throttle_per_hour`` e-mails of a kind to an address per hour; the
    page answers the same either way (it never tells whether a mail went out)."""
    return services.may_send_email(
        page.db, email, kind, per_hour=page.settings.mail_throttle_per_hour
    )


def with_next(url: str, target: str | None) -> str:
    """``url`` carrying a safe, same-site return link (``next``), if there is one."""
    nxt = safe_next(target, "")
    if not nxt:
        return url
    return url + ("&" if "?" in url else "?") + "next=" + quote(nxt, safe="")


def _send_verification(page: Page, user: User, raw: str, nxt: str = "") -> None:
    if not _may_mail(page, user.email, "verify"):
        return
    link = with_next(f"{page.settings.base_url.rstrip('/')}/verify/{raw}", nxt)
    body = render_mail(
        page.request, "people/mail_verify.txt", user.language, {"name": user.name, "link": link}
    )
    from opencall.web.i18n import Translator

    subject = Translator(user.language).gettext("Verify your e-mail address for OpenCall")
    queue_mail(page.db, user.email, subject, body, base_url=page.settings.base_url)


def _send_exists(page: Page, user: User) -> None:
    from opencall.web.i18n import Translator

    if not _may_mail(page, user.email, "exists"):
        return
    link = f"{page.settings.base_url.rstrip('/')}/password/forgot"
    body = render_mail(
        page.request, "people/mail_exists.txt", user.language, {"name": user.name, "link": link}
    )
    subject = Translator(user.language).gettext("Your OpenCall account")
    queue_mail(page.db, user.email, subject, body, base_url=page.settings.base_url)


CROWD_WINDOW_S = 3600


def _crowd(page: Page, client: str) -> int:
    """Two for each verified account signed in from this client in the last hour: the
    per-client hourly limits (registrations, reset requests) grow by it, so that a campus behind
    one NAT is not stopped after the first few of its applicants
    (:func:`opencall.people.services.crowd_allowance`)."""
    return services.crowd_allowance(page.db, client, seconds=CROWD_WINDOW_S)


def _register_wait(page: Page) -> int:
    """The per-client registration limit: 0 and counted (caller commits), or seconds."""
    client = client_of(page)
    return services.register_request_wait(
        page.db,
        client,
        per_hour=page.settings.register_throttle_per_hour + _crowd(page, client),
    )


def known_device(page: Page, email: str) -> security.Device | None:
    """This browser's known-device cookie, when it is one of the account ``email`` (its
    password unchanged since); else None."""
    device = security.read_device(page.request)
    if device is None:
        return None
    user = queries.user_by_email(page.db, email)
    if user is None or user.id != device.user_id:
        return None
    stamps = (services.password_stamp(user, key) for key in page.settings.secret_keys)
    if not any(hmac.compare_digest(stamp, device.stamp) for stamp in stamps):
        return None
    return device


def _remember_device(
    page: Page, response: Response, user: User, device: security.Device | None
) -> None:
    device_id = device.device_id if device is not None else security.new_device_id()
    stamp = services.password_stamp(user, page.settings.secret_key)
    security.remember_device(page.request, response, security.Device(user.id, device_id, stamp))


@router.get("/register", response_class=HTMLResponse)
def register_form(page: Page = Depends(get_page)) -> Response:
    nxt = safe_next(page.request.query_params.get("next"), "")
    if page.user is not None:
        return page.redirect(nxt or "/dashboard")
    return page.render(
        "people/register.html",
        {"form": {"next": nxt}, "errors": {}, "countries": country_options(page), "next": nxt},
    )


@router.post("/register", response_class=HTMLResponse)
def register(page: Page = Depends(get_page)) -> Response:
    f = page.form
    nxt = safe_next(f.get("next"), "")
    errors = _lengths(page, ("name", "email", "institution", "password"))
    for name in ("name", "email", "password"):
        if not f.get(name, "").strip():
            errors.setdefault(name, page._(MSG_REQUIRED))
    if not errors and f.get("password") != f.get("password2"):
        errors["password2"] = page._(MSG_PASSWORDS_DIFFER)
    if not errors:
        # the per-client limit, before any work; the count is kept with the registration
        # or with the "account exists" note (both mail the address: a known and an
        # unknown address count alike), and rolled back with any other refusal
        wait = _register_wait(page)
        if wait:
            page.db.rollback()
            errors["email"] = page._(MSG_REGISTER_THROTTLED, minutes=max(1, -(-wait // 60)))
            response = page.render(
                "people/register.html",
                {"form": f, "errors": errors, "countries": country_options(page), "next": nxt},
                status=429,
            )
            response.headers["Retry-After"] = str(wait)
            return response
    if not errors:
        with page.attempt() as refused:
            user, raw = services.start_registration(
                page.db,
                email=f.get("email", ""),
                name=f.get("name", ""),
                password=f.get("password", ""),
                institution=f.get("institution", "").strip() or None,
                country_iso3=f.get("country_iso3", "").strip() or None,
                language=f.get("language", page.lang),
            )
            _send_verification(page, user, raw, nxt)
        if not refused:
            return page.redirect(with_next("/login", nxt), "registered")
        existing = (
            queries.account_of_mailbox(page.db, f.get("email", ""))
            if refused.field == "email"
            else None
        )
        if existing is not None:
            # answer as for a new account, so the form does not tell who has one;
            # the owner of the address is told by e-mail instead
            _register_wait(page)  # counted as a new account's registration is
            if not services.just_registered(existing):  # a double click: mailed already
                _send_exists(page, existing)
            page.commit()
            return page.redirect(with_next("/login", nxt), "registered")
        errors[refused.field or "form"] = refused.message
    return page.render(
        "people/register.html",
        {"form": f, "errors": errors, "countries": country_options(page), "next": nxt},
        status=400,
    )


def _token_error(page: Page, purpose: str, token: str) -> str | None:
    """Why an e-mailed link no longer works (translated), or None while it does."""
    try:
        services.check_email_token(page.db, purpose, token)
    except DomainError as exc:
        return page.t.error(exc)
    return None


def _verify_page(
    page: Page, error: str | None, action: str = "", button: str = "", nxt: str = ""
) -> Response:
    """The e-mail confirmation page: its button, or why the link no longer works (404)."""
    return page.render(
        "people/confirm.html",
        {
            "heading": page._("Verify your e-mail address"),
            "button": button,
            "action": action,
            "error": error,
            "next": nxt,
        },
        status=404 if error else 200,
    )


@router.get("/verify/{token}", response_class=HTMLResponse)
def verify_form(token: str, page: Page = Depends(get_page)) -> Response:
    return _verify_page(
        page,
        _token_error(page, "verify", token),
        f"/verify/{token}",
        page._("Confirm my e-mail address"),
        safe_next(page.request.query_params.get("next"), ""),
    )


@router.post("/verify/{token}", response_class=HTMLResponse)
def verify(token: str, page: Page = Depends(get_page)) -> Response:
    with page.attempt() as refused:
        services.verify_email(page.db, token)
    if refused:
        return _verify_page(page, refused.message)
    return page.redirect(with_next("/login", page.form.get("next")), "verified")


def _login_page(
    page: Page, form: dict[str, Any], errors: dict[str, str], status: int = 200
) -> Response:
    return page.render(
        "people/login.html",
        {"form": form, "errors": errors, "next": safe_next(form.get("next"), "")},
        status=status,
    )


@router.get("/login", response_class=HTMLResponse)
def login_form(page: Page = Depends(get_page)) -> Response:
    nxt = page.request.query_params.get("next", "")
    return _login_page(page, {"next": nxt}, {})


@router.post("/login", response_class=HTMLResponse)
def login(page: Page = Depends(get_page)) -> Response:
    f = page.form
    email = f.get("email", "")[:254]
    device = known_device(page, email)
    result = services.authenticate(
        page.db,
        email,
        f.get("password", ""),
        max_attempts=page.settings.login_throttle_attempts,
        window_s=page.settings.login_throttle_window_s,
        client=client_of(page),
        device=device.device_id if device is not None else "",
        global_per_min=page.settings.login_global_failures_per_min,
    )
    if result.user is None:
        page.commit()  # a refused attempt is recorded (the throttle counts it)
        if result.error == "throttled":
            msg = page._(MSG_THROTTLED, minutes=max(1, -(-result.retry_after_s // 60)))
            status = 429
        elif result.error == "unverified":
            msg, status = page._(MSG_UNVERIFIED), 403
        else:
            msg, status = page._(MSG_BAD_LOGIN), 400
        response = _login_page(
            page, {"email": email, "next": f.get("next", "")}, {"password": msg}, status
        )
        if status == 429:  # when to try again, for a client that reads the header
            response.headers["Retry-After"] = str(max(1, result.retry_after_s))
        return response
    user = result.user
    # the session this browser carried (if any) ends: a sign-in never leaves the id it
    # replaces working wherever its cookie was copied to
    previous = security.read_session(page.request)
    if previous is not None and previous.sid:
        services.end_user_session(page.db, previous.sid, reason="replaced")
    sid = services.start_user_session(
        page.db,
        user,
        client=client_address(page),
        user_agent=page.request.headers.get("user-agent", ""),
    )
    page.commit()  # one unit of work: the attempt and the session are recorded together
    security.start_session(page.request, sid)
    carry = {k[len("carry.") :]: v for k, v in f.items() if k.startswith("carry.")}
    target = f.get("carry_to")
    if carry and target:
        page.user = user
        page.request.state.user = user
        response = page.render(
            "resume.html",
            {
                "mode": "resend",
                "carry": carry,
                "target": safe_next(target),
                # the form had files (the page before the sign-in said so): not carried
                "had_files": f.get("carry_files") == "1",
            },
        )
    else:
        response = page.redirect(safe_next(f.get("next")), "signed_in")
    _remember_device(page, response, user, device)
    return response


@router.post("/logout")
def logout(page: Page = Depends(get_page)) -> Response:
    sess = security.read_session(page.request)
    if sess is not None and sess.sid:
        services.end_user_session(page.db, sess.sid)
        page.commit()
    security.end_session(page.request)
    return RedirectResponse("/?m=signed_out", status_code=303)


@router.get("/password/forgot", response_class=HTMLResponse)
def forgot_form(page: Page = Depends(get_page)) -> Response:
    return page.render("people/forgot.html", {"form": {}, "errors": {}})


@router.post("/password/forgot", response_class=HTMLResponse)
def forgot(page: Page = Depends(get_page)) -> Response:
    email = page.form.get("email", "").strip()
    if not email or len(email) > 254:
        msg = page._(MSG_REQUIRED) if not email else page._(MSG_TOO_LONG, max=254)
        return page.render(
            "people/forgot.html",
            {"form": {"email": email[:254]}, "errors": {"email": msg}},
            status=400,
        )
    client = client_of(page)
    wait = services.reset_request_wait(
        page.db, client, per_hour=page.settings.reset_throttle_per_hour + _crowd(page, client)
    )
    if wait:
        page.db.rollback()
        minutes = max(1, -(-wait // 60))
        response = page.render(
            "people/forgot.html",
            {
                "form": {"email": email},
                "errors": {"email": page._(MSG_RESET_THROTTLED, minutes=minutes)},
            },
            status=429,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    # the same work for every address, known or not (the answer and its time tell
    # nothing): the job looks the account up, and mails a link only to an active one
    # within the per-address e-mail throttle (a refused request issues no link, so the
    # last one sent stays valid: a stranger asking again and again cannot void it)
    services.queue_password_reset(page.db, email, client=client)
    # inline jobs (the demo) run after the answer, on the process's job thread: run here,
    # a known address's token and mail would make its answer the slower one
    page.commit(background=True)
    return page.redirect("/login", "reset_sent")


def _reset_page(
    page: Page,
    action: str,
    status: int,
    errors: dict[str, str] | None = None,
    bad: str | None = None,
) -> Response:
    return page.render(
        "people/reset.html",
        {"errors": errors or {}, "bad_token": bad, "action": action},
        status=status,
    )


@router.get("/password/reset/{token}", response_class=HTMLResponse)
def reset_form(token: str, page: Page = Depends(get_page)) -> Response:
    bad = _token_error(page, "reset", token)
    return _reset_page(page, f"/password/reset/{token}", 404 if bad else 200, bad=bad)


@router.post("/password/reset/{token}", response_class=HTMLResponse)
def reset(token: str, page: Page = Depends(get_page)) -> Response:
    f = page.form
    errors: dict[str, str] = {}
    if f.get("password", "") != f.get("password2", ""):
        errors["password2"] = page._(MSG_PASSWORDS_DIFFER)
    else:
        with page.attempt() as refused:
            user = services.reset_password(page.db, token, f.get("password", ""))
            security.end_session(page.request)
        if not refused:
            # the link proved the mailbox: this browser becomes a known device of the
            # account, whose sign-ins no stranger's guesses slow down
            response = page.redirect("/login", "password_changed")
            _remember_device(page, response, user, None)
            return response
        if refused.code == "bad_token":
            return _reset_page(page, "", 404, bad=refused.message)
        errors[refused.field or "password"] = refused.message
    return _reset_page(page, f"/password/reset/{token}", 400, errors)


def _account_form(user: User) -> dict[str, str]:
    return {
        "name": user.name,
        "institution": user.institution.name if user.institution else "",
        "country_iso3": user.country_iso3 or "",
        "language": user.language,
        "time_zone": user.time_zone or "",
        "orcid": user.orcid or "",
        "expertise": user.expertise,
    }


@router.get("/account", response_class=HTMLResponse)
def account_form(page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    return page.render(
        "people/account.html",
        {"form": _account_form(user), "errors": {}, "countries": country_options(page)},
    )


@router.post("/account", response_class=HTMLResponse)
def account(page: Page = Depends(get_page)) -> Response:
    user = page.require_user()
    f = page.form
    errors = _lengths(page, ("name", "institution"))
    if not errors:
        with page.attempt() as refused:
            services.update_account(page.db, user, dict(f))
        if not refused:
            response = page.redirect("/account", "saved")
            security.set_language_cookie(page.request, response, user.language)
            return response
        errors[refused.field or "form"] = refused.message
    return page.render(
        "people/account.html",
        {"form": f, "errors": errors, "countries": country_options(page)},
        status=400,
    )


# Messages the people services compose in English, catalogued so that
# Translator.message shows them in the visitor's language.
SERVICE_MESSAGES = (
    N_("Invalid e-mail address: %(reason)s"),
    N_("Your name is required."),
    N_("Name is too long (200 characters at most)."),
    N_("Language must be one of %(languages)s."),
    N_("Password must have at least %(n)s characters."),
    N_("Password is too long (%(n)s characters at most)."),
    N_("An account with this e-mail address already exists."),
    N_("Unknown country code %(code)s."),
    N_("Country is required with an institution."),
    N_("Institution name is required."),
    N_("Institution name is too long (300 characters at most)."),
    N_("This link is invalid or has expired. Ask for a new one."),
    N_("The expertise statement is too long (%(n)s characters at most)."),
    N_("ORCID iD %(orcid)s is not of the form 0000-0002-1825-0097."),
    N_("ORCID iD %(orcid)s has a wrong check digit: please copy it again from orcid.org."),
    N_(
        "Unknown time zone %(zone)s: give a name such as Africa/Kinshasa, Asia/Dhaka, "
        "America/La_Paz or Pacific/Apia, or leave it empty for UTC."
    ),
)
