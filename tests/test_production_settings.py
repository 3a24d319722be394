"""trialop18: OPENCALL_ENV=production also refuses to start without the two settings every
e-mail needs. A site installed without OPENCALL_BASE_URL mailed verification links to
http://127.0.0.1:8000 (nobody can register: the link opens the reader's own machine);
one sending through a relay without OPENCALL_MAIL_FROM sent from opencall@localhost
(refused or junked by the receivers)."""

from __future__ import annotations

import pytest

from opencall.settings import Settings, production_problems

KEYS = {"secret_key": "s" * 40, "audit_key": "a" * 40, "secure_cookies": True}


def test_production_needs_the_public_address() -> None:
    problems = " ".join(production_problems(Settings(env="production", **KEYS)))
    assert "OPENCALL_BASE_URL is not set" in problems, problems
    site = Settings(env="production", base_url="https://calls.example.org", **KEYS)
    assert production_problems(site) == []


def test_production_relay_needs_a_sender() -> None:
    relay = Settings(
        env="production",
        base_url="https://calls.example.org",
        mail_backend="smtp",
        smtp_host="smtp.example.org",
        **KEYS,
    )
    problems = " ".join(production_problems(relay))
    assert "OPENCALL_MAIL_FROM is not set" in problems, problems
    named = Settings(**{**relay.model_dump(), "mail_from": "calls@example.org"})
    assert production_problems(named) == []


def test_settings_from_the_environment_count_as_set(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OPENCALL_BASE_URL", "https://calls.example.org")
    monkeypatch.setenv("OPENCALL_MAIL_BACKEND", "smtp")
    monkeypatch.setenv("OPENCALL_MAIL_FROM", "calls@example.org")
    assert production_problems(Settings(env="production", **KEYS)) == []
    monkeypatch.delenv("OPENCALL_MAIL_FROM")
    problems = " ".join(production_problems(Settings(env="production", **KEYS)))
    assert "OPENCALL_MAIL_FROM" in problems and "OPENCALL_BASE_URL" not in problems


def test_development_is_unchanged() -> None:
    assert production_problems(Settings()) == []
    assert production_problems(Settings(mail_backend="smtp")) == []
