"""uvicorn in a thread of the test process, for tests that need a real HTTP server.

The listening socket is bound before the server starts and handed to it, so no other
process can take the port between choosing it and serving on it (choosing a free port,
closing it and letting the server bind it again left that window open), and the start
is waited for as long as a loaded machine needs, or until the server thread gives up."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

START_WAIT_S = 120.0  # waiting for a start, not a timed assertion


def bound_socket() -> socket.socket:
    """A TCP socket bound to a free port of 127.0.0.1 (``getsockname()[1]``)."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def wait_started(server: Any, thread: threading.Thread) -> None:
    deadline = time.monotonic() + START_WAIT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)


@contextmanager
def serve_in_thread(app: Any, log_level: str = "critical") -> Iterator[int]:
    """Serve ``app`` on 127.0.0.1 in a thread; yields the port."""
    import uvicorn

    sock = bound_socket()
    port = int(sock.getsockname()[1])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level=log_level))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        wait_started(server, thread)
        yield port
    finally:
        server.should_exit = True
        thread.join(30)
        sock.close()
