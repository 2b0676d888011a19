"""The asyncpg pool, the per-request transaction, and what a request answers when PostgreSQL is gone.

When PostgreSQL stops, every connection the pool holds is closed under it and every new one is
refused; asyncpg raises `OSError` (refused, unreachable, "Multiple exceptions" when every address of
a host failed), `CannotConnectNowError` (the server is starting or stopping),
`ConnectionDoesNotExistError` or `InterfaceError` (the connection died mid-request). All of them
answer 503 with `Retry-After`, from any route: `unavailable_handlers` maps them in one place. The
pool needs nothing to recover: `acquire` replaces a closed connection with a new one, so the first
request after PostgreSQL is back is served.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
from litestar import Request, Response
from litestar.datastructures import State
from litestar.types import ExceptionHandlersMap

from api.errors import ServiceUnavailableError
from api.metrics import POOL_WAITING
from api.observability import current_request_id

if TYPE_CHECKING:
    from asyncpg.pool import PoolConnectionProxy

    # What repositories take: a direct connection or one borrowed from the pool.
    Connection: TypeAlias = asyncpg.Connection[asyncpg.Record] | PoolConnectionProxy[asyncpg.Record]
    Pool: TypeAlias = asyncpg.Pool[asyncpg.Record]
else:  # asyncpg's classes are generic only in its stubs
    Connection = asyncpg.Connection
    Pool = asyncpg.Pool


async def _init_connection(conn: Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await conn.set_type_codec("json", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


async def _keep_session(conn: Connection) -> None:
    """Released connections skip asyncpg's reset query (RESET ALL, CLOSE ALL, UNLISTEN *, unlock
    advisory locks): a round trip on every request for state the app never creates. The pool
    still rolls back a transaction left open."""


# Session settings of every API connection. The API's statements are short: JIT compilation costs
# tens of milliseconds on a plan that reads tens of thousands of rows (a facet count), more than it
# saves; parallel workers compete for the same cores as the other requests' backends. Set at
# connection start, since released connections keep their session (see `_keep_session`).
SERVER_SETTINGS: dict[str, str] = {"jit": "off", "max_parallel_workers_per_gather": "0"}
# The API's bound on one statement (`create_pool(statement_timeout_s=...)`): enforced by the server,
# which stops working on it (asyncpg's `command_timeout` only stops waiting); cut short, it answers
# 503. The CLI's pools (indexer, reindex) read whole tables and take none.
STATEMENT_TIMEOUT_S = 10
CONNECT_TIMEOUT_S = 5
RETRY_AFTER_S = 5

# Failures that mean "PostgreSQL cannot serve now", never a bug of the request.
UNAVAILABLE: tuple[type[Exception], ...] = (
    OSError,  # includes ConnectionError and TimeoutError (connect and command timeouts)
    asyncpg.PostgresConnectionError,  # ConnectionDoesNotExistError, ConnectionFailureError, ...
    asyncpg.InterfaceError,  # "connection is closed", "pool is closing"
    asyncpg.CannotConnectNowError,
    asyncpg.AdminShutdownError,
    asyncpg.CrashShutdownError,
    asyncpg.TooManyConnectionsError,
    asyncpg.QueryCanceledError,  # statement_timeout
)
logger = logging.getLogger(__name__)


async def create_pool(
    dsn: str, *, min_size: int, max_size: int, statement_timeout_s: int | None = None
) -> Pool:
    server_settings = dict(SERVER_SETTINGS)
    if statement_timeout_s is not None:
        server_settings["statement_timeout"] = f"{statement_timeout_s}s"
    pool: Pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        command_timeout=30,
        timeout=CONNECT_TIMEOUT_S,
        server_settings=server_settings,
    )
    return pool


def get_pool(state: State) -> Pool:
    pool: Pool = state.pool
    return pool


async def provide_transaction(
    state: State, request: Request[Any, Any, Any]
) -> AsyncGenerator[Connection, None]:
    """The request's connection. Writes run in a transaction, committed when the handler succeeds
    and rolled back on error (Litestar throws the handler's exception into this generator).

    Reads (GET, HEAD) skip BEGIN/COMMIT: two round trips that were a quarter of a read's cost.
    Their statements each see a consistent snapshot; the only write a read may do, creating a
    user on first sight, is one statement and safe in autocommit.

    A connection that died mid-request is not rolled back (there is nothing left to roll back):
    the handler's own error then reaches `unavailable_handlers` instead of the rollback's."""
    pool = get_pool(state)
    with POOL_WAITING.track_inprogress():
        conn = await pool.acquire()
    try:
        if request.method in ("GET", "HEAD"):
            yield conn
            return
        transaction = conn.transaction()
        await transaction.start()
        try:
            # Read by the trigger that writes public events (migration 0013): their `request_id`.
            await conn.execute("SELECT set_config('symbiose.request_id', $1, true)", current_request_id())
            yield conn
        except BaseException:
            if not conn.is_closed():
                with contextlib.suppress(*UNAVAILABLE):
                    await transaction.rollback()
            raise
        await transaction.commit()
    finally:
        await pool.release(conn)


def unavailable_problem(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """PostgreSQL is down, restarting or too slow: 503, retry shortly."""
    logger.warning("database unavailable: %s: %s", type(exc).__name__, exc)
    return ServiceUnavailableError(
        "the database is unavailable; retry shortly", headers={"Retry-After": str(RETRY_AFTER_S)}
    ).to_response(request)


def unavailable_handlers() -> ExceptionHandlersMap:
    return dict.fromkeys(UNAVAILABLE, unavailable_problem)
