"""What only the PostgreSQL backend promises: a change is searchable the moment it commits."""

from __future__ import annotations

import asyncpg

from api.db.pool import Pool
from search.postgres import PostgresBackend
from search.query import SearchQuery, Viewer
from tests.search import dataset
from tests.search.dataset import Spec


async def ids(backend: PostgresBackend, text: str) -> set[str]:
    result = await backend.search(SearchQuery(text=text, hits_per_page=100), Viewer())
    return {str(h.id) for h in result.hits}


async def test_changes_are_searchable_as_soon_as_they_commit(db: asyncpg.Connection, pool: Pool) -> None:
    world = await dataset.load(db)
    backend = PostgresBackend(pool)
    assert await ids(backend, "tourets") == set()
    new = await dataset.insert(db, world, Spec("new", "A", "N1", "Tourets de câble en bois", days_ago=0))
    assert await ids(backend, "tourets") == {str(new)}
    assert await ids(backend, "touretts") == {str(new)}  # the new word is in the typo vocabulary at once
    await db.execute("UPDATE listings SET available_quantity = 0 WHERE id = $1", new)
    assert await ids(backend, "tourets") == set()
    await db.execute("UPDATE listings SET available_quantity = 1, title = 'Bobines vides' WHERE id = $1", new)
    assert await ids(backend, "tourets") == set()
    assert await ids(backend, "bobines") == {str(new)}


async def test_a_suspended_member_vanishes_from_search_in_the_same_commit(
    db: asyncpg.Connection, pool: Pool
) -> None:
    world = await dataset.load(db)
    backend = PostgresBackend(pool)
    assert str(world.ids["poly1"]) in await ids(backend, "polystyrene")
    async with db.transaction():
        await db.execute(
            "UPDATE memberships SET status = 'suspended' WHERE organisation_id = $1", world.organisations["B"]
        )
        assert await ids(backend, "polystyrene") == {str(world.ids["poly1"])}  # not committed yet
    assert await ids(backend, "polystyrene") == set()


async def test_readiness_of_the_postgres_backend(pool: Pool) -> None:
    health = await PostgresBackend(pool).health()
    assert (health.ok, health.lag) == (True, 0)
