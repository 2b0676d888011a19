"""A real HTTP server on 127.0.0.1 for clients that need a URL: uvicorn in a thread of its own.

The application keeps its own event loop (and so its own database pool) in that thread, exactly as
`symbiose serve` runs it; the test talks to it over TCP like any frontend would.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from api.observability import RequestContext

STARTUP_SECONDS = 30.0


@contextmanager
def serve(app: RequestContext) -> Iterator[str]:
    """Serve `app` on a free port of 127.0.0.1 for the duration of the block; yields its base URL."""
    # Binding the socket here, before uvicorn starts, leaves no window in which another process can
    # take the port between choosing it and listening on it.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(app, log_config=None, access_log=False, lifespan="on", timeout_graceful_shutdown=5)
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="uvicorn", daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server stopped while starting (see the log above)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not start within {STARTUP_SECONDS} s")
            time.sleep(0.02)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(STARTUP_SECONDS)
        sock.close()
