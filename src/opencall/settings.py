"""One settings object for the app, the worker and the CLI.

Nothing reads the environment at import time: call :func:`Settings` (or
``get_settings``) explicitly and pass the object down.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="OPENCALL_", extra="ignore")

    database_url: str = "sqlite:///./var/opencall.sqlite3"
    secret_key: str = "dev-only-change-me"
    base_url: str = "http://127.0.0.1:8000"
    # Mail: "console" prints, "file" writes .eml files into mail_dir, "smtp" sends.
    mail_backend: str = "file"
    mail_dir: Path = Path("./var/mail")
    smtp_host: str = "localhost"
    smtp_port: int = 25
    mail_from: str = "opencall@localhost"
    upload_dir: Path = Path("./var/uploads")
    # Attachment storage (see opencall/storage.py and docs/deploy.md): "local" keeps
    # files in upload_dir; "s3" keeps them in a bucket of an S3-compatible store.
    storage_backend: Literal["local", "s3"] = "local"
    s3_bucket: str = ""
    s3_endpoint_url: str = ""
    s3_region: str = ""
    s3_prefix: str = ""
    s3_access_key_id: str = ""
    s3_secret_access_key: str = ""
    s3_create_bucket: bool = False
    max_upload_bytes: int = Field(default=10 * 1024 * 1024, gt=0)
    # Run job rows inline right after the request commits (the demo does this).
    inline_jobs: bool = True
    secure_cookies: bool = False
    login_throttle_attempts: int = 5
    login_throttle_window_s: int = 300
    default_language: str = "en"
    echo_sql: bool = False


def get_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
