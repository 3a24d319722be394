"""Mail through a real operator's relay: STARTTLS (port 587) or implicit TLS (465), with a
user name and password, against a local SMTP server (aiosmtpd) that demands both, its
certificate self-signed and made here (``cryptography``). And the settings that would
send a password in clear, or half a login, are refused at start without printing it."""

from __future__ import annotations

import datetime as dt
import ipaddress
import smtplib
import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from typer.testing import CliRunner

from opencall.cli import app as cli_app
from opencall.settings import Settings
from opencall.web import mail

# the implicit-TLS relay: the whole connection is TLS, which aiosmtpd's check misses
pytestmark = pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")

USER, PASSWORD = "calls@opencall.example.org", "relay-secret-0f9a"


def self_signed(tmp: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 (and localhost), signed by its own key: (cert, key)."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "test relay")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(hours=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp / "relay.pem", tmp / "relay.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Relay:
    port: int
    ca_file: Path
    received: list[Any] = field(default_factory=list)
    logins: list[tuple[str, bool]] = field(default_factory=list)  # (user, accepted)
    tls_sessions: list[bool] = field(default_factory=list)  # per delivery: over TLS?


class _Handler:
    def __init__(self, relay: Relay) -> None:
        self.relay = relay

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.relay.received.append(envelope)
        implicit = server.transport.get_extra_info("sslcontext") is not None
        self.relay.tls_sessions.append(session.ssl is not None or implicit)
        return "250 OK"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(params=["starttls", "tls"])
def relay(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[str, Relay]]:
    """An aiosmtpd relay on 127.0.0.1 that accepts mail only after a login, and a login
    only over TLS: STARTTLS required (``starttls``) or TLS from the first byte (``tls``)."""
    with running_relay(request.param, tmp_path) as r:
        yield request.param, r


@contextmanager
def running_relay(mode: str, tmp_path: Path) -> Iterator[Relay]:
    cert, key = self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    r = Relay(port=_free_port(), ca_file=cert)

    def authenticate(
        _server: Any, _session: Any, _envelope: Any, _mechanism: str, data: Any
    ) -> AuthResult:
        ok = isinstance(data, LoginPassword) and (data.login, data.password) == (
            USER.encode(),
            PASSWORD.encode(),
        )
        r.logins.append((data.login.decode() if isinstance(data, LoginPassword) else "", ok))
        return AuthResult(success=ok, handled=False)  # aiosmtpd answers 535 when not ok

    common: dict[str, Any] = {
        "hostname": "127.0.0.1",
        "port": r.port,
        "authenticator": authenticate,
        "auth_required": True,
        "auth_require_tls": True,
    }
    if mode == "starttls":
        controller = Controller(
            _Handler(r), tls_context=server_ctx, require_starttls=True, **common
        )
    else:
        # the whole connection is TLS; aiosmtpd's auth_require_tls looks for STARTTLS only
        common["auth_require_tls"] = False
        controller = Controller(_Handler(r), ssl_context=server_ctx, **common)
    controller.start()
    try:
        yield r
    finally:
        controller.stop()


def _settings(tmp_path: Path, security: str, r: Relay, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "mail_backend": "smtp",
        "smtp_host": "127.0.0.1",
        "smtp_port": r.port,
        "smtp_security": security,
        "smtp_username": USER,
        "smtp_password": PASSWORD,
        "smtp_ca_file": r.ca_file,
        "smtp_timeout_s": 20,
        "mail_from": "calls@opencall.example.org",
        "database_url": f"sqlite:///{tmp_path / 'x.sqlite3'}",
    }
    values.update(kw)
    return Settings(**values)


def test_mail_goes_through_a_relay_with_tls_and_a_login(
    relay: tuple[str, Relay], tmp_path: Path
) -> None:
    security, r = relay
    settings = _settings(tmp_path, security, r)
    mail.send(settings, mail.build_message(settings, "pi@uni.example", "Décision", "Bonjour"))
    assert len(r.received) == 1
    envelope = r.received[0]
    assert envelope.rcpt_tos == ["pi@uni.example"]
    assert envelope.mail_from == "calls@opencall.example.org"
    assert "Bonjour" in envelope.content.decode()
    assert r.logins == [(USER, True)]
    assert r.tls_sessions == [True]


def test_a_wrong_password_is_an_error_that_does_not_show_it(
    relay: tuple[str, Relay], tmp_path: Path
) -> None:
    security, r = relay
    settings = _settings(tmp_path, security, r, smtp_password="not-the-password")
    with pytest.raises(smtplib.SMTPAuthenticationError) as err:
        mail.send(settings, mail.build_message(settings, "pi@uni.example", "s", "b"))
    assert "not-the-password" not in str(err.value)
    assert r.received == []
    assert r.logins and set(r.logins) == {(USER, False)}  # smtplib tries PLAIN, then LOGIN
    assert "not-the-password" not in repr(settings)


def test_a_relay_whose_certificate_is_not_trusted_gets_nothing(
    relay: tuple[str, Relay], tmp_path: Path
) -> None:
    """Without the relay's CA the certificate does not verify: no login, no message (the
    password never goes to a server that could not prove who it is)."""
    security, r = relay
    settings = _settings(tmp_path, security, r, smtp_ca_file=None)
    with pytest.raises(ssl.SSLCertVerificationError):
        mail.send(settings, mail.build_message(settings, "pi@uni.example", "s", "b"))
    assert r.received == [] and r.logins == []


def test_without_starttls_the_relay_refuses_and_no_password_is_sent(tmp_path: Path) -> None:
    """The settings refuse a login in clear; a relay that requires STARTTLS refuses mail
    sent without it (OPENCALL_SMTP_SECURITY=none, no login)."""
    with running_relay("starttls", tmp_path) as r:
        settings = _settings(tmp_path, "none", r, smtp_username="", smtp_password="")
        with pytest.raises(smtplib.SMTPException):
            mail.send(settings, mail.build_message(settings, "pi@uni.example", "s", "b"))
        assert r.received == [] and r.logins == []


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        (
            {"OPENCALL_SMTP_USERNAME": USER, "OPENCALL_SMTP_PASSWORD": PASSWORD},
            "OPENCALL_SMTP_USERNAME needs OPENCALL_SMTP_SECURITY=starttls",
        ),
        (
            {"OPENCALL_SMTP_SECURITY": "starttls", "OPENCALL_SMTP_PASSWORD": PASSWORD},
            "OPENCALL_SMTP_USERNAME and OPENCALL_SMTP_PASSWORD go together",
        ),
        ({"OPENCALL_SMTP_SECURITY": "ssl"}, "OPENCALL_SMTP_SECURITY: Input should be"),
        ({"OPENCALL_SMTP_PORT": "70000"}, "OPENCALL_SMTP_PORT"),
        ({"OPENCALL_SMTP_CA_FILE": "/no/such/ca.pem"}, "OPENCALL_SMTP_CA_FILE"),
    ],
)
def test_smtp_settings_are_checked_at_start_without_printing_the_password(
    tmp_path: Path, env: dict[str, str], expected: str
) -> None:
    full = {
        "OPENCALL_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "OPENCALL_MAIL_BACKEND": "smtp",
        **env,
    }
    for command in (["worker", "--once"], ["serve"]):
        r = CliRunner().invoke(cli_app, command, env=full)
        out = " ".join(r.output.split())
        assert r.exit_code == 2, out
        assert out.startswith("Error: ") and expected in out, out
        assert PASSWORD not in r.output


def test_mail_test_sends_one_message_or_says_why_not(
    relay: tuple[str, Relay], tmp_path: Path
) -> None:
    """``opencall mail-test``: the operator's check of the relay settings."""
    security, r = relay
    env = {
        "OPENCALL_DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "OPENCALL_MAIL_BACKEND": "smtp",
        "OPENCALL_SMTP_HOST": "127.0.0.1",
        "OPENCALL_SMTP_PORT": str(r.port),
        "OPENCALL_SMTP_SECURITY": security,
        "OPENCALL_SMTP_USERNAME": USER,
        "OPENCALL_SMTP_PASSWORD": PASSWORD,
        "OPENCALL_SMTP_CA_FILE": str(r.ca_file),
    }
    ok = CliRunner().invoke(cli_app, ["mail-test", "--to", "ops@uni.example"], env=env)
    assert ok.exit_code == 0, ok.output
    assert [e.rcpt_tos for e in r.received] == [["ops@uni.example"]]
    bad = CliRunner().invoke(
        cli_app,
        ["mail-test", "--to", "ops@uni.example"],
        env={**env, "OPENCALL_SMTP_PASSWORD": "wrong-password-xyz"},
    )
    assert bad.exit_code == 2
    assert "SMTPAuthenticationError" in bad.output and "wrong-password-xyz" not in bad.output
    assert len(r.received) == 1
