"""A real OpenCall server process (``python -m opencall serve``) on a free port, and the
signed-in clients that crowd it. Used by the concurrency tests and the surge bench."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

import httpx

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
VERSION = re.compile(r'name="version" value="(\d+)"')
PASSWORD = "correct horse battery"


CHEAP_ARGON2 = Path(__file__).resolve().parents[1] / "cheap_argon2"


def cheap_argon2(env: dict[str, str]) -> dict[str, str]:
    """``env`` for a process that hashes passwords at the tests' argon2 cost
    (tests/cheap_argon2/sitecustomize.py), it and the Python processes it starts."""
    paths = [str(CHEAP_ARGON2), *filter(None, [env.get("PYTHONPATH")])]
    return {**env, "PYTHONPATH": os.pathsep.join(paths)}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def port_taken(log: str) -> bool:
    """Whether a server's log says its port was already in use (uvicorn: errno 98)."""
    return "address already in use" in log.lower()


@cache
def tls() -> ssl.SSLContext:
    """One TLS context for every test client (``verify=tls()``). An httpx client makes
    its own by default, loading the CA bundle: 24 ms of CPU a client, for servers that
    speak plain HTTP anyway."""
    return ssl.create_default_context()


def _accepts(port: int) -> bool:
    """Whether something accepts TCP connections on the port (a refused connect costs
    microseconds; an HTTP request through a new client, tens of milliseconds)."""
    with socket.socket() as s:
        s.settimeout(2)
        try:
            s.connect(("127.0.0.1", port))
        except OSError:
            return False
        return True


def wait_until_serving(
    proc: subprocess.Popen[Any], base: str, port: int, timeout: float = 120
) -> bool:
    """Wait until the server process answers ``GET /healthz`` with 200 (True), or until
    it exits (False). The port is polled with plain connects every 50 ms; /healthz is
    asked only once the port accepts. Raises TimeoutError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    with httpx.Client(base_url=base, timeout=2, verify=tls()) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            if _accepts(port):
                try:
                    if client.get("/healthz").status_code == 200:
                        return True
                except httpx.HTTPError:
                    pass
                time.sleep(0.2)  # accepting but not (yet) answering
            else:
                time.sleep(0.05)
    raise TimeoutError(f"{base} did not answer within {timeout:.0f} s")


def stop_processes(procs: list[subprocess.Popen[str]]) -> None:
    """SIGTERM each process still running, then wait for each (a minute; then SIGKILL)."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=60)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


@lru_cache(maxsize=64)
def pdf_of_size(n_bytes: int, seed: int = 0) -> bytes:
    """A valid one-page PDF of about ``n_bytes`` (a noise image that does not compress);
    the same arguments give the same bytes, made once.
    """
    import numpy as np
    from fpdf import FPDF
    from PIL import Image

    side = max(8, int((n_bytes / 3) ** 0.5))
    pixels = np.random.default_rng(seed).integers(0, 256, (side, side, 3), dtype=np.uint8)
    pdf = FPDF()
    pdf.add_page()
    pdf.set_font("helvetica", size=12)
    pdf.cell(text=f"Scientific justification {seed}")
    pdf.image(Image.fromarray(pixels), x=20, y=30, w=120)
    return bytes(pdf.output())


class ServerProcess:
    """``opencall serve`` in a subprocess against ``database_url``; ``kill()`` is SIGKILL."""

    def __init__(
        self,
        database_url: str,
        tmp: Path,
        *,
        workers: int = 1,
        concurrency: int = 16,
        port: int | None = None,
        extra_env: dict[str, str] | None = None,
        production_argon2: bool = False,
    ) -> None:
        self.database_url = database_url
        self.tmp = tmp
        self.workers, self.concurrency, self.extra_env = workers, concurrency, extra_env
        self.production_argon2 = production_argon2
        self.fixed_port = port is not None
        self.proc: subprocess.Popen[bytes] | None = None
        self._use_port(port or free_port())

    def _use_port(self, port: int) -> None:
        self.port = port
        self.base = f"http://127.0.0.1:{self.port}"
        # the tests' argon2 cost unless asked (the surge bench measures the product's):
        # none of the servers' tests is about the cost of a password check, and the
        # upgrade of each factory user's cheap hash to the production cost at its first
        # sign-in was most of the crowd tests' CPU
        base = dict(os.environ) if self.production_argon2 else cheap_argon2(dict(os.environ))
        self.env = {
            **base,
            "OPENCALL_DATABASE_URL": self.database_url,
            "OPENCALL_SECRET_KEY": "crowd-test-secret",
            "OPENCALL_BASE_URL": self.base,
            "OPENCALL_MAIL_BACKEND": "file",
            "OPENCALL_MAIL_DIR": str(self.tmp / "mail"),
            "OPENCALL_UPLOAD_DIR": str(self.tmp / "uploads"),
            "OPENCALL_INLINE_JOBS": "false",
            "PYTHONUNBUFFERED": "1",
            **(self.extra_env or {}),
        }
        self.args = [
            sys.executable,
            "-m",
            "opencall",
            "serve",
            "--port",
            str(self.port),
            "--workers",
            str(self.workers),
            "--concurrency",
            str(self.concurrency),
        ]
        self.log = self.tmp / f"server-{self.port}.log"

    def start(self, timeout: float = 120) -> ServerProcess:
        # a first start on a port of our choosing may move to another one when the chosen
        # port was taken between choosing and binding it; a restart keeps its port
        may_move = not self.fixed_port and self.proc is None
        for _attempt in range(4):
            if self._start(timeout, may_move):
                return self
            self._use_port(free_port())
        raise RuntimeError(f"no free port could be bound: {self.log.read_text()[-3000:]}")

    def _start(self, timeout: float, may_move: bool) -> bool:
        """True once the server answers; False when its port was taken meanwhile."""
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                self.args,
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        try:
            if wait_until_serving(self.proc, self.base, self.port, timeout):
                return True
        except TimeoutError:
            self.stop()
            raise RuntimeError(
                f"the server did not start: {self.log.read_text()[-3000:]}"
            ) from None
        log = self.log.read_text()
        if may_move and port_taken(log):
            return False
        raise RuntimeError(f"the server exited: {log[-3000:]}")

    def kill(self) -> None:
        """SIGKILL the whole process group (uvicorn's supervisor and its workers)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.kill()

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def csrf_of(html: str) -> str:
    m = CSRF.search(html)
    assert m, "no CSRF token in the page"
    return m.group(1)


def client(base: str, **kw: Any) -> httpx.Client:
    """An httpx client of the tests, sharing one TLS context (see :func:`tls`)."""
    return httpx.Client(base_url=base, verify=tls(), **kw)


def async_client(base: str, **kw: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=base, verify=tls(), **kw)


async def sign_in(client: httpx.AsyncClient, email: str) -> None:
    r = await client.get("/login")
    r = await client.post(
        "/login", data={"csrf_token": csrf_of(r.text), "email": email, "password": PASSWORD}
    )
    assert r.status_code == 303, (r.status_code, r.text[:500])


def text_form(html: str, **fields: str) -> dict[str, Any]:
    """The editor's text form as posted: CSRF token, version and the given fields."""
    m = VERSION.search(html)
    assert m, "no version in the editor"
    data = {"csrf_token": csrf_of(html), "version": m.group(1)}
    data.update(fields)
    return data


__all__ = [
    "ServerProcess",
    "async_client",
    "client",
    "csrf_of",
    "pdf_of_size",
    "sign_in",
    "text_form",
    "tls",
    "wait_until_serving",
]
