"""Session cookies and CSRF tokens.

The session is a signed, timestamped cookie (itsdangerous) holding the CSRF
token of this browser and, once signed in, a random session id. The id's hash
is a row of ``user_sessions`` (people.models.UserSession): logout, a password
reset or an administrator revokes the row, so a copied cookie stops working
(the cookie alone proves nothing). Anonymous visitors get a cookie too, as soon
as a page shows them a form, so that login and registration forms are
protected as well. The cookie is HttpOnly, SameSite=Lax, and Secure unless
the site runs on this machine (``settings.cookies_secure``).
"""

from __future__ import annotations

import base64
import binascii
import hmac
import ipaddress
import secrets
import time
from dataclasses import dataclass, field

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from opencall.settings import Settings, cookies_secure

COOKIE = "oc_session"
LANG_COOKIE = "oc_lang"
MAX_AGE_S = 14 * 24 * 3600
CSRF_FIELD = "csrf_token"


@dataclass
class SessionData:
    # the raw session id (its hash is the user_sessions row); None: not signed in
    sid: str | None = None
    csrf: str = field(default_factory=lambda: secrets.token_urlsafe(24))
    issued: int = field(default_factory=lambda: int(time.time()))
    # set when the cookie must be (re)written on the response
    dirty: bool = False
    cleared: bool = False


def _serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_keys, salt="opencall.session")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def read_session(request: Request) -> SessionData | None:
    """The session this request carries (verified and unexpired), cached on the request."""
    if hasattr(request.state, "session_data"):
        cached: SessionData | None = request.state.session_data
        return cached
    data: SessionData | None = None
    raw = request.cookies.get(COOKIE)
    if raw:
        try:
            body = _serializer(_settings(request)).loads(raw, max_age=MAX_AGE_S)
            sid = body.get("s")
            data = SessionData(
                sid=sid if isinstance(sid, str) else None, csrf=str(body["c"]), issued=body["t"]
            )
        except (BadSignature, KeyError, TypeError, AttributeError):
            data = None
    request.state.session_data = data
    return data


def ensure_session(request: Request) -> SessionData:
    data = read_session(request)
    if data is None:
        data = SessionData(dirty=True)
        request.state.session_data = data
    return data


def csrf_token(request: Request) -> str:
    """This browser's CSRF token as a page writes it: masked afresh for each answer (a
    random pad, then the token XOR the pad, in URL-safe base64), so that no two pages
    carry the same string (trialcrowd23); the forms of one page share it (a list of 300
    rows with a button each compresses it once). Pages are gzip-compressed and may repeat
    text of the request beside the token (a 404 names its path): with the token as it is,
    someone who sees the encrypted traffic and makes the browser open address after
    address could read it from the compressed lengths (BREACH). Written here, as Django
    masks its own: Starlette has no CSRF protection to reuse."""
    data = ensure_session(request)
    kept: tuple[str, str] | None = getattr(request.state, "masked_csrf", None)
    if kept is None or kept[0] != data.csrf:  # a sign-in during the request: a new token
        kept = (data.csrf, mask_token(data.csrf))
        request.state.masked_csrf = kept
    return kept[1]


def mask_token(token: str) -> str:
    raw = token.encode()
    pad = secrets.token_bytes(len(raw))
    return base64.urlsafe_b64encode(
        pad + bytes(a ^ b for a, b in zip(raw, pad, strict=True))
    ).decode()


def unmask_token(sent: str) -> str | None:
    """The token a masked one (:func:`mask_token`) carries; None when ``sent`` is none."""
    try:
        both = base64.urlsafe_b64decode(sent.encode("ascii"))
    except (binascii.Error, ValueError):
        return None
    half = len(both) // 2
    if half == 0 or len(both) != 2 * half:
        return None
    pad, masked = both[:half], both[half:]
    try:
        return bytes(a ^ b for a, b in zip(masked, pad, strict=True)).decode("ascii")
    except UnicodeDecodeError:
        return None


def check_csrf(request: Request, submitted: str | None) -> bool:
    """Whether a form's token is this browser's: as a page wrote it (masked), or as it is
    (a script that read it from the cookie's session)."""
    data = read_session(request)
    if data is None or not submitted:
        return False
    expected = data.csrf.encode()
    if hmac.compare_digest(expected, submitted.encode()):
        return True
    unmasked = unmask_token(submitted)
    return unmasked is not None and hmac.compare_digest(expected, unmasked.encode())


def start_session(request: Request, sid: str) -> SessionData:
    """Log in: a fresh session (new CSRF token, against session fixation)."""
    data = SessionData(sid=sid, dirty=True)
    request.state.session_data = data
    return data


def end_session(request: Request) -> None:
    data = SessionData(dirty=True, cleared=True)
    request.state.session_data = data


def write_cookie(request: Request, response: Response) -> None:
    """Called by the middleware after the view: writes the cookie when it changed."""
    data: SessionData | None = getattr(request.state, "session_data", None)
    if data is None or not data.dirty:
        return
    value = session_cookie_value(_settings(request), data.sid, data.csrf, data.issued)
    _set_cookie(request, response, COOKIE, value, MAX_AGE_S)


def _set_cookie(request: Request, response: Response, name: str, value: str, age: int) -> None:
    """One of the site's cookies: HttpOnly, SameSite=Lax, Secure as configured."""
    response.set_cookie(
        name,
        value,
        max_age=age,
        httponly=True,
        samesite="lax",
        secure=cookies_secure(_settings(request)),
        path="/",
    )


def session_cookie_value(settings: Settings, sid: str | None, csrf: str, issued: int) -> str:
    return _serializer(settings).dumps({"s": sid, "c": csrf, "t": issued})


def set_language_cookie(request: Request, response: Response, lang: str) -> None:
    _set_cookie(request, response, LANG_COOKIE, lang, 365 * 24 * 3600)


def client_key(host: str) -> str:
    """The client a request's address stands for, as the throttles count it: an IPv6
    address's /64 network (what one subscriber or host is given: it may send from any of
    its 2**64 addresses), an IPv4-mapped IPv6 address as its IPv4 address, an IPv4
    address as it is; anything else (not an address) unchanged."""
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


# ---------------------------------------------------------------- known devices

DEVICE_COOKIE = "oc_device"
DEVICE_MAX_AGE_S = 365 * 24 * 3600


@dataclass(frozen=True)
class Device:
    """A browser that signed in to an account (or set its password with a reset link)
    before: the account's id, the device's random id and the account's password stamp
    then (``people.services.password_stamp``: a new password makes it unknown)."""

    user_id: int
    device_id: str
    stamp: str


def _device_serializer(settings: Settings) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(settings.secret_keys, salt="opencall.device")


def read_device(request: Request) -> Device | None:
    """The known-device cookie this request carries (signed, under a year old), or None."""
    raw = request.cookies.get(DEVICE_COOKIE)
    if not raw:
        return None
    try:
        body = _device_serializer(_settings(request)).loads(raw, max_age=DEVICE_MAX_AGE_S)
        return Device(int(body["u"]), str(body["d"])[:32], str(body["p"]))
    except (BadSignature, KeyError, TypeError, ValueError, AttributeError):
        return None


def new_device_id() -> str:
    return secrets.token_urlsafe(12)


def remember_device(request: Request, response: Response, device: Device) -> None:
    """Mark this browser as a known device of the account (HttpOnly, for a year)."""
    value = _device_serializer(_settings(request)).dumps(
        {"u": device.user_id, "d": device.device_id, "p": device.stamp}
    )
    _set_cookie(request, response, DEVICE_COOKIE, value, DEVICE_MAX_AGE_S)
