"""Running the API under uvicorn until SIGINT or SIGTERM, and stopping cleanly whatever arrives.

One stop request is enough, and later ones are ignored: `uv run` forwards the terminal's Ctrl-C to
a process that got it already, so a single press arrives twice, and uvicorn would take the second as
"force quit", skip the application's shutdown and leave its lifespan to be cancelled mid-close (a
traceback). Shutdown is bounded instead by `GRACEFUL_SHUTDOWN_S`, after which open connections
are dropped. A signal before uvicorn runs (while migrating or loading the demo) stops the command
the same way; the caller stops the embedded PostgreSQL afterwards (see `api.db.embedded`).
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

import uvicorn

from api.http_protocol import uvicorn_options
from api.observability import FreezeAfterStartup, RequestContext
from api.settings import Settings

STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
GRACEFUL_SHUTDOWN_S = 10


class StopRequest:
    """Whether a stop was asked; the first signal ends the command, repeats do nothing."""

    def __init__(self) -> None:
        self.asked = False

    @contextmanager
    def installed(self) -> Iterator[None]:
        """Handle the stop signals for the block. After a stop they stay ignored: the process is on
        its way out, and a repeat landing while the interpreter finalises would otherwise kill it."""
        previous = {signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS}
        try:
            yield
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, signal.SIG_IGN if self.asked else handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        if self.asked:
            return
        self.asked = True
        raise SystemExit(0)


class _Server(uvicorn.Server):
    def __init__(self, config: uvicorn.Config, stop: StopRequest) -> None:
        super().__init__(config)
        self._stop = stop

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        # uvicorn re-raises the signals it caught once it has shut down; marking the stop as asked
        # makes that re-raise, and any repeat, a no-op for `StopRequest`.
        self._stop.asked = True
        if not self.should_exit:
            super().handle_exit(sig, frame)
        # Python runs a signal's handler between bytecodes, this handler's own included: a second
        # signal landing before uvicorn set `should_exit` reaches uvicorn too, and the first one
        # then reads as Ctrl-C pressed twice, "force quit", which skips the application's shutdown.
        self.force_exit = False


def run(asgi: RequestContext, settings: Settings, stop: StopRequest) -> None:
    """Serve `asgi` until a stop is asked; return once the application has shut down."""
    config = uvicorn.Config(
        FreezeAfterStartup(asgi),
        host=settings.symbiose_host,
        port=settings.symbiose_port,
        log_config=None,
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_S,
        **uvicorn_options(),
    )
    _Server(config, stop).run()
