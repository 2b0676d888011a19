"""The search migrations applied to a database that already holds listings, as on a running
network: what they add is computed for the rows already there."""

from __future__ import annotations

import asyncpg

from api.db.migrations import load_migrations, migrate
from api.db.pool import create_pool
from search.postgres import PostgresBackend
from search.query import SearchQuery, Viewer
from tests.search import dataset

BEFORE_SEARCH_SPEED = 9  # 0010 copies membership and ESS flags onto listings; 0011 adds the generation


async def test_search_migrations_backfill_the_listings_already_there(empty_database_url: str) -> None:
    migrations = load_migrations()
    conn = await asyncpg.connect(empty_database_url)
    try:
        await migrate(conn, migrations[:BEFORE_SEARCH_SPEED])
        world = await dataset.load(conn)
        await migrate(conn, migrations)
        flags = {
            row["id"]: (row["member_active"], row["organisation_ess"])
            for row in await conn.fetch("SELECT id, member_active, organisation_ess FROM listings")
        }
        assert flags[world.ids["pal2"]] == (True, True)  # Beta Coop: active, ESS
        assert flags[world.ids["pal1"]] == (True, False)
        assert flags[world.ids["suspended"]] == (False, False)
        assert flags[world.ids["pending"]] == (False, False)
        assert await conn.fetchval("SELECT value FROM search_generation") == 1
    finally:
        await conn.close()
    pool = await create_pool(empty_database_url, min_size=1, max_size=2)
    try:
        backend = PostgresBackend(pool, cache_entries=10)
        for viewer, expected in (
            (Viewer(), dataset.PUBLIC),
            (world.viewer("N1"), dataset.PUBLIC + dataset.N1_ONLY),
        ):
            result = await backend.search(SearchQuery(hits_per_page=100), viewer)
            assert sorted(world.labels([h.id for h in result.hits])) == sorted(expected)
    finally:
        await pool.close()
