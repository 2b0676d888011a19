"""The PostgreSQL backend's result cache answers exactly what the tables answer at that moment."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import pytest

from api.db.pool import Pool
from schemas.search import SearchResult
from search.postgres import PostgresBackend
from search.postgres.cache import Catalogue, ResultCache
from search.postgres.repository import forget_old_changes
from search.query import SearchQuery, Viewer
from tests.search import dataset
from tests.search.dataset import Spec

PALETTES = SearchQuery(text="palettes", hits_per_page=100)
ANONYMOUS = Viewer()
EMPTY = SearchResult(
    hits=[],
    facet_distribution={},
    total_hits=0,
    total_hits_exact=True,
    page=1,
    hits_per_page=20,
    total_pages=0,
    processing_time_ms=0,
    backend="postgres",
)


class CountingBackend(PostgresBackend):
    """Counts the searches that reach the tables."""

    computed = 0

    async def _compute(self, query: SearchQuery, viewer: Viewer) -> SearchResult:
        self.computed += 1
        return await super()._compute(query, viewer)


async def labels(backend: PostgresBackend, world: dataset.World, viewer: Viewer = ANONYMOUS) -> set[str]:
    result = await backend.search(PALETTES, viewer)
    return set(world.labels([h.id for h in result.hits]))


async def add(db: asyncpg.Connection, world: dataset.World, spec: Spec) -> None:
    world.ids[spec.label] = await dataset.insert(db, world, spec)


async def generation(db: asyncpg.Connection) -> int:
    value: int = await db.fetchval("SELECT value FROM search_generation")
    return value


async def test_a_repeated_search_is_served_from_the_cache_until_a_commit(
    db: asyncpg.Connection, pool: Pool
) -> None:
    world = await dataset.load(db)
    backend = CountingBackend(pool, cache_entries=10)
    first = await labels(backend, world)
    assert await labels(backend, world) == first
    assert backend.computed == 1
    await add(db, world, Spec("new", "A", "N1", "Palettes neuves", days_ago=0))
    assert await labels(backend, world) == first | {"new"}
    assert backend.computed == 2
    await db.execute(
        "UPDATE organisations SET name = 'Alpha Recyclage' WHERE id = $1", world.organisations["A"]
    )
    hits = (await backend.search(PALETTES, Viewer())).hits
    assert {h.organisation_name for h in hits if h.id == world.ids["new"]} == {"Alpha Recyclage"}
    assert backend.computed == 3


async def test_each_viewer_has_its_own_entries(db: asyncpg.Connection, pool: Pool) -> None:
    world = await dataset.load(db)
    backend = CountingBackend(pool, cache_entries=10)
    anonymous = await labels(backend, world)
    member = await labels(backend, world, world.viewer("N1"))
    assert "netpal1" not in anonymous
    assert member == anonymous | {"netpal1"}
    assert await labels(backend, world) == anonymous
    assert backend.computed == 2


async def test_a_listing_leaves_a_cached_result_when_it_expires(db: asyncpg.Connection, pool: Pool) -> None:
    """Nothing is written when a listing's `available_until` passes; the entry ends there."""
    world = await dataset.load(db)
    backend = PostgresBackend(pool, cache_entries=10)
    until = datetime.now(UTC) + timedelta(seconds=1.5)
    await add(db, world, Spec("brief", "A", "N1", "Palettes du jour", available_until=until))
    assert "brief" in await labels(backend, world)
    await asyncio.sleep((until - datetime.now(UTC)).total_seconds() + 0.1)
    assert "brief" not in await labels(backend, world)


async def test_the_generation_moves_once_per_commit_and_not_before(db: asyncpg.Connection) -> None:
    world = await dataset.load(db)
    before = await generation(db)
    async with db.transaction():
        for n in range(3):
            await dataset.insert(db, world, Spec(f"new{n}", "A", "N1", "Palettes", days_ago=0))
        await db.execute(
            "UPDATE listings SET title = 'Palettes bois' WHERE organisation_id = $1", world.organisations["A"]
        )
        await db.execute("UPDATE organisations SET name = 'Alpha' WHERE id = $1", world.organisations["A"])
        assert await generation(db) == before  # deferred to the commit
    assert await generation(db) == before + 1
    rolled_back = db.transaction()
    await rolled_back.start()
    await db.execute("UPDATE listings SET title = 'Palettes annulées' WHERE id = $1", world.ids["pal1"])
    await rolled_back.rollback()
    assert await generation(db) == before + 1
    await db.execute("DELETE FROM listings WHERE id = $1", world.ids["pal1"])
    assert await generation(db) == before + 2


async def test_concurrent_misses_of_one_search_compute_it_once(db: asyncpg.Connection, pool: Pool) -> None:
    world = await dataset.load(db)
    backend = CountingBackend(pool, cache_entries=10)
    results = await asyncio.gather(*(labels(backend, world) for _ in range(8)))
    assert all(r == results[0] for r in results)
    assert backend.computed == 1


async def test_a_miss_that_waited_while_the_same_search_ended_is_served_what_it_stored() -> None:
    """The late caller of a burst: its computation starts after the first one ended (it waited for
    a connection), at the same catalogue; it gets the stored result, and a moved expiry does not."""
    cache = ResultCache(max_entries=4)
    key = (SearchQuery(text="palettes"), ANONYMOUS)
    expiry = datetime.now(UTC) + timedelta(minutes=1)
    runs = 0

    async def run() -> SearchResult:
        nonlocal runs
        runs += 1
        return msgspec.structs.replace(EMPTY, total_hits=runs)

    def at(next_expiry: datetime | None) -> Callable[[], Awaitable[Catalogue]]:
        async def catalogue() -> Catalogue:
            return Catalogue(7, next_expiry)

        return catalogue

    first = await cache.compute(key, at(expiry), run)
    assert await cache.compute(key, at(expiry), run) == first
    assert runs == 1
    later = await cache.compute(key, at(expiry + timedelta(minutes=1)), run)  # the first expiry passed
    assert (runs, later.total_hits) == (2, 2)


async def test_the_cache_keeps_the_most_recently_used_entries() -> None:
    cache = ResultCache(max_entries=2)
    now = datetime.now(UTC)
    keys = [(SearchQuery(text=t), ANONYMOUS) for t in ("a", "b", "c")]

    async def fill(key: tuple[SearchQuery, Viewer], generation: int, computed: SearchResult = EMPTY) -> None:
        async def catalogue() -> Catalogue:
            return Catalogue(generation, now + timedelta(minutes=1))

        async def run() -> SearchResult:
            return computed

        await cache.compute(key, catalogue, run)

    await fill(keys[0], 1)
    await fill(keys[1], 1)
    assert cache.get(keys[0], now) is not None  # now the most recent
    await fill(keys[2], 1)
    assert cache.get(keys[1], now) is None
    assert cache.get(keys[0], now) is not None
    assert cache.get(keys[0], now + timedelta(minutes=1)) is None  # expired
    other = msgspec.structs.replace(EMPTY, total_hits=1)
    await fill(keys[2], 3, other)
    await fill(keys[2], 2)  # computed at an older generation than the entry's: not kept
    entry = cache.get(keys[2], now)
    assert entry is not None
    assert (entry.result, entry.generation) == (other, 3)


async def test_a_failed_computation_is_not_shared_with_those_waiting_for_it() -> None:
    cache = ResultCache(max_entries=10)
    key = (SearchQuery(text="palettes"), Viewer())
    started = asyncio.Event()
    runs = 0

    async def catalogue() -> Catalogue:
        return Catalogue(1, None)

    async def failing() -> SearchResult:
        started.set()
        await asyncio.sleep(0.05)
        raise ConnectionResetError("lost the connection")

    async def working() -> SearchResult:
        nonlocal runs
        runs += 1
        return EMPTY

    leader = asyncio.create_task(cache.compute(key, catalogue, failing))
    await started.wait()
    waiter = await cache.compute(key, catalogue, working)
    with pytest.raises(ConnectionResetError):
        await leader
    assert (waiter, runs) == (EMPTY, 1)


async def test_a_commit_is_searchable_at_once_while_others_search(db: asyncpg.Connection, pool: Pool) -> None:
    """Writers commit while searches keep filling the cache: the search each writer makes right
    after its commit finds its listing."""
    world = await dataset.load(db)
    backend = PostgresBackend(pool, cache_entries=10)
    writing = True

    async def search_meanwhile() -> int:
        searches = 0
        while writing:
            await backend.search(PALETTES, ANONYMOUS)
            searches += 1
        return searches

    async def write_then_search(n: int) -> bool:
        async with pool.acquire() as conn:
            listing = await dataset.insert(
                conn, world, Spec(f"w{n}", "A", "N1", f"Palettes lot {n}", days_ago=0)
            )
        return listing in {h.id for h in (await backend.search(PALETTES, ANONYMOUS)).hits}

    searchers = [asyncio.create_task(search_meanwhile()) for _ in range(3)]
    try:
        found = await asyncio.gather(*(write_then_search(n) for n in range(12)))
    finally:
        writing = False
        searches = await asyncio.gather(*searchers)
    assert found == [True] * 12
    assert min(searches) > 0


async def test_a_result_computed_while_a_change_commits_is_not_served_after_it(
    db: asyncpg.Connection, pool: Pool
) -> None:
    """The change commits after the search read the tables but before the search stored its
    result: the result must stay under the generation read before the tables, never the new one."""
    world = await dataset.load(db)
    late = Spec("late", "A", "N1", "Palettes arrivées pendant la recherche", days_ago=0)

    class ChangeCommitsDuringSearch(PostgresBackend):
        async def _compute(self, query: SearchQuery, viewer: Viewer) -> SearchResult:
            result = await super()._compute(query, viewer)
            if "late" not in world.ids:
                await add(db, world, late)
            return result

    backend = ChangeCommitsDuringSearch(pool, cache_entries=10)
    assert "late" not in await labels(backend, world)
    assert "late" in await labels(backend, world)


async def test_a_change_no_search_of_the_entry_matches_leaves_it_in_place(
    db: asyncpg.Connection, pool: Pool
) -> None:
    """Neither before nor after the change does the listing match: it was in no count and no page."""
    world = await dataset.load(db)
    backend = CountingBackend(pool, cache_entries=10)
    first = await labels(backend, world)
    await add(db, world, Spec("bobines", "A", "N1", "Bobines de câble vides", days_ago=0))
    await db.execute("UPDATE listings SET quantity = 90 WHERE id = $1", world.ids["poly1"])
    assert await labels(backend, world) == first
    assert backend.computed == 1
    assert backend.cache is not None
    assert (backend.cache.stats.hits, backend.cache.stats.revalidated) == (0, 1)
    assert await labels(backend, world) == first
    assert (backend.cache.stats.hits, backend.cache.stats.revalidated) == (1, 1)


async def test_a_listing_that_matched_before_its_change_is_searched_again(
    db: asyncpg.Connection, pool: Pool
) -> None:
    world = await dataset.load(db)
    backend = CountingBackend(pool, cache_entries=10)
    assert "pal1" in await labels(backend, world)
    await db.execute(
        "UPDATE listings SET title = 'Bobines', description = '' WHERE id = $1", world.ids["pal1"]
    )
    assert "pal1" not in await labels(backend, world)
    assert backend.computed == 2


async def test_a_word_new_to_the_typo_vocabulary_widens_a_cached_search(
    db: asyncpg.Connection, pool: Pool
) -> None:
    """`zebulor` is one typo from the search's `zebulon`: the new listing matches the tsquery as
    expanded after its commit, not the one the entry was computed with."""
    world = await dataset.load(db)
    backend = PostgresBackend(pool, cache_entries=10)
    zebulon = SearchQuery(text="zebulon")
    assert (await backend.search(zebulon, ANONYMOUS)).hits == []
    await add(db, world, Spec("zebulor", "A", "N1", "Zebulor", days_ago=0))
    assert [h.id for h in (await backend.search(zebulon, ANONYMOUS)).hits] == [world.ids["zebulor"]]


async def test_a_search_without_text_is_computed_again_after_any_change(
    db: asyncpg.Connection, pool: Pool
) -> None:
    world = await dataset.load(db)
    backend = CountingBackend(pool, cache_entries=10)
    everything = SearchQuery(hits_per_page=100)
    await backend.search(everything, ANONYMOUS)
    await add(db, world, Spec("bobines", "A", "N1", "Bobines de câble vides", days_ago=0))
    result = await backend.search(everything, ANONYMOUS)
    assert world.ids["bobines"] in {h.id for h in result.hits}
    assert backend.computed == 2


async def test_once_the_change_log_is_forgotten_a_result_is_computed_again(
    db: asyncpg.Connection, pool: Pool
) -> None:
    world = await dataset.load(db)
    backend = CountingBackend(pool, cache_entries=10)
    await labels(backend, world)
    await add(db, world, Spec("bobines", "A", "N1", "Bobines de câble vides", days_ago=0))
    assert await forget_old_changes(db, timedelta(0)) > 0
    assert await db.fetchval("SELECT count(*) FROM search_changes") == 0
    await labels(backend, world)
    assert backend.computed == 2


async def test_a_transaction_writing_many_listings_may_touch_any_search(db: asyncpg.Connection) -> None:
    """Past 100 listings, the documents are no longer logged: a NULL document (which may touch any
    search) names each further listing, for the in-memory index (migration 0016)."""
    world = await dataset.load(db)
    async with db.transaction():
        for n in range(105):
            await dataset.insert(db, world, Spec(f"b{n}", "A", "N1", f"Bobines lot {n}", days_ago=0))
    logged = await db.fetchrow(
        """SELECT count(*) FILTER (WHERE document IS NOT NULL) AS listings,
                  count(*) FILTER (WHERE document IS NULL) AS anything,
                  count(DISTINCT listing_id) AS named
           FROM search_changes WHERE generation = $1""",
        await generation(db),
    )
    assert logged is not None
    assert (logged["listings"], logged["anything"], logged["named"]) == (100, 5, 105)


async def test_kept_results_give_the_garbage_collector_nothing_to_walk(
    db: asyncpg.Connection, pool: Pool
) -> None:
    await dataset.load(db)
    backend = PostgresBackend(pool, cache_entries=10)
    key = (SearchQuery(text="palettes"), Viewer())
    result = await backend.search(*key)
    assert backend.cache is not None
    assert len(result.hits) >= 3
    entry = backend.cache.get(key, datetime.now(UTC))
    assert entry is not None
    assert [o for o in gc.get_referents(entry) if gc.is_tracked(o) and o is not type(entry)] == []
    assert msgspec.structs.replace(entry.result, processing_time_ms=0) == msgspec.structs.replace(
        result, processing_time_ms=0
    )
