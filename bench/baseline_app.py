"""The baseline: a bare Litestar + asyncpg endpoint reading the same listing row as Symbiose.

No auth, no visibility predicate, no transaction, no middleware: one `SELECT <the same columns>
FROM listings WHERE id = $1` on a pooled connection, converted to a msgspec Struct (the same
`Listing` wire type Symbiose answers with) and returned as JSON.

Served by uvicorn from `bench/listing_read.py` with `--factory bench.baseline_app:create_app`;
it reads BENCH_DATABASE_URL and BENCH_POOL_SIZE.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

import asyncpg
import msgspec
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.exceptions import NotFoundException

from schemas.listings import Listing

COLUMNS = """id, organisation_id, network_id, zone_id, direction, category_id, nature, title,
    description, unit, quantity, available_quantity, capacity, capacity_period, price_kind,
    price_cents, currency, condition, waste_code, hazardous, latitude, longitude,
    available_from, available_until, photos, visibility, status, version, created_at,
    updated_at, published_at"""
QUERY = f"SELECT {COLUMNS} FROM listings WHERE id = $1"


@get("/listings/{listing_id:uuid}")
async def get_listing(state: State, listing_id: uuid.UUID) -> Listing:
    row = await state.pool.fetchrow(QUERY, listing_id)
    if row is None:
        raise NotFoundException("no such listing")
    return msgspec.convert(dict(row), Listing)


def create_app() -> Litestar:
    dsn = os.environ["BENCH_DATABASE_URL"]
    size = int(os.environ.get("BENCH_POOL_SIZE", "10"))

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncGenerator[None, None]:
        app.state.pool = await asyncpg.create_pool(dsn, min_size=size, max_size=size, command_timeout=30)
        try:
            yield
        finally:
            await app.state.pool.close()

    return Litestar(route_handlers=[get_listing], lifespan=[database], openapi_config=None, debug=False)
