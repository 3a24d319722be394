"""A real local S3-compatible server for tests: moto in server mode, on a free
port, started by the test session (no network, no credentials)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

ACCESS_KEY = "testing"
SECRET_KEY = "testing"
REGION = "us-east-1"


@dataclass
class S3Server:
    endpoint_url: str

    def settings(self, bucket: str) -> dict[str, object]:
        """Settings keyword arguments that select this server."""
        return {
            "storage_backend": "s3",
            "s3_bucket": bucket,
            "s3_endpoint_url": self.endpoint_url,
            "s3_region": REGION,
            "s3_access_key_id": ACCESS_KEY,
            "s3_secret_access_key": SECRET_KEY,
            "s3_create_bucket": True,
        }

    def env(self, bucket: str) -> dict[str, str]:
        """The same as OPENCALL_* environment variables (for subprocesses)."""
        return {
            f"OPENCALL_{k.upper()}": str(v).lower() if isinstance(v, bool) else str(v)
            for k, v in self.settings(bucket).items()
        }


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@contextmanager
def moto_server() -> Iterator[S3Server]:
    moto_server_mod = pytest.importorskip("moto.server")
    port = free_port()
    server = moto_server_mod.ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        yield S3Server(f"http://127.0.0.1:{port}")
    finally:
        server.stop()
