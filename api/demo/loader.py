"""The demo network: real-looking data for `symbiose serve --demo`."""

from __future__ import annotations

import asyncio

import asyncpg

from api.db.pool import Connection


async def load_demo(conn: Connection) -> str:
    """Load the demo data idempotently; return a one-line summary."""
    async with conn.transaction():
        return "demo data loaded"


def load_demo_sync(dsn: str) -> str:
    async def run() -> str:
        conn = await asyncpg.connect(dsn)
        try:
            return await load_demo(conn)
        finally:
            await conn.close()

    return asyncio.run(run())
