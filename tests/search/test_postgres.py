"""What only the PostgreSQL backend promises: a change is searchable the moment it commits, with
the result cache and without it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest

from api.db.pool import Pool
from search.postgres import PostgresBackend
from search.query import SearchQuery, Viewer
from tests.search import dataset
from tests.search.dataset import Spec


@pytest.fixture(
    params=[(0, False), (100, False), (0, True), (100, True)],
    ids=["uncached", "cached", "index-uncached", "index-cached"],
)
async def backend(request: pytest.FixtureRequest, pool: Pool) -> AsyncIterator[PostgresBackend]:
    cache_entries, index = request.param
    backend = PostgresBackend(pool, cache_entries=cache_entries, index=index)
    await backend.refresh()
    yield backend
    await backend.close()


async def ids(backend: PostgresBackend, text: str) -> set[str]:
    result = await backend.search(SearchQuery(text=text, hits_per_page=100), Viewer())
    return {str(h.id) for h in result.hits}


async def test_changes_are_searchable_as_soon_as_they_commit(
    db: asyncpg.Connection, backend: PostgresBackend
) -> None:
    world = await dataset.load(db)
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
    db: asyncpg.Connection, backend: PostgresBackend
) -> None:
    world = await dataset.load(db)
    assert str(world.ids["poly1"]) in await ids(backend, "polystyrene")
    async with db.transaction():
        await db.execute(
            "UPDATE memberships SET status = 'suspended' WHERE organisation_id = $1", world.organisations["B"]
        )
        assert await ids(backend, "polystyrene") == {str(world.ids["poly1"])}  # not committed yet
    assert await ids(backend, "polystyrene") == set()


async def test_readiness_of_the_postgres_backend(backend: PostgresBackend) -> None:
    health = await backend.health()
    assert (health.ok, health.lag) == (True, 0)


async def test_the_copies_on_listings_follow_memberships_and_organisations(
    db: asyncpg.Connection, backend: PostgresBackend
) -> None:
    """Search reads `member_active` and `organisation_ess` off the listing (migration 0010): every
    change that moves them is searchable in its own commit, and a listing cannot set them."""
    world = await dataset.load(db)
    poly, beta = str(world.ids["poly1"]), world.organisations["B"]

    async def ess() -> set[str]:
        result = await backend.search(SearchQuery(ess=True, hits_per_page=100), Viewer())
        return {str(h.id) for h in result.hits}

    assert poly in await ess()
    await db.execute("UPDATE organisations SET is_ess = false WHERE id = $1", beta)
    assert poly not in await ess()
    await db.execute("UPDATE organisations SET is_ess = true WHERE id = $1", beta)
    assert poly in await ess()

    network = await db.fetchval("SELECT network_id FROM memberships WHERE organisation_id = $1", beta)
    await db.execute("DELETE FROM memberships WHERE organisation_id = $1", beta)
    assert await ids(backend, "polystyrene") == set()
    await db.execute(
        "INSERT INTO memberships (network_id, organisation_id, status) VALUES ($1, $2, 'active')",
        network,
        beta,
    )
    assert poly in await ids(backend, "polystyrene")

    await db.execute("UPDATE memberships SET status = 'suspended' WHERE organisation_id = $1", beta)
    await db.execute("UPDATE listings SET member_active = true WHERE id = $1", world.ids["poly1"])
    assert await ids(backend, "polystyrene") == set()  # recomputed from the membership
    new = await dataset.insert(db, world, Spec("new", "B", "N1", "Tourets de câble en bois", days_ago=0))
    assert await ids(backend, "tourets") == set()  # written while suspended
    await db.execute("UPDATE memberships SET status = 'active' WHERE organisation_id = $1", beta)
    assert await ids(backend, "tourets") == {str(new)}
    assert poly in await ids(backend, "polystyrene")
