"""The asyncpg pool and the per-request transaction."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from typing import TYPE_CHECKING, Any, TypeAlias

import asyncpg
from litestar import Request
from litestar.datastructures import State

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


async def create_pool(dsn: str, *, min_size: int, max_size: int) -> Pool:
    pool: Pool = await asyncpg.create_pool(
        dsn,
        min_size=min_size,
        max_size=max_size,
        init=_init_connection,
        reset=_keep_session,
        command_timeout=30,
        server_settings=SERVER_SETTINGS,
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
    user on first sight, is one statement and safe in autocommit."""
    async with get_pool(state).acquire() as conn:
        if request.method in ("GET", "HEAD"):
            yield conn
        else:
            async with conn.transaction():
                yield conn
