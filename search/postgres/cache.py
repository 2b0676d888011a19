"""Search results kept between two changes to what search reads.

A result is stored under the catalogue generation (migration 0011) read before it was computed, and
served only to a search that reads the same generation, before the first expiry that could change
it. Every commit that changes listings or organisations moves the generation, so a served result is
what the tables answer at that moment: the backend stays transactional. Like Elasticsearch's shard
request cache, which keeps aggregations until the next refresh.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from schemas.search import SearchResult
from search.query import SearchQuery, Viewer

# Two statements, with no snapshot in common; the next expiry is read first (see `Catalogue`).
GENERATION_SQL: Final = "SELECT value, now() FROM search_generation"
CATALOGUE_SQL: Final = """SELECT g.value, (
        SELECT min(l.available_until) FROM listings l
        WHERE l.status = 'published' AND l.available_until > now()) AS next_expiry
    FROM search_generation g"""

Key = tuple[SearchQuery, Viewer]


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The state a result is computed at, read before computing it.

    The data the result reads is at least as new as `generation`: if a change commits in between,
    the generation has moved on and the entry is never served. Every listing visible then has
    `available_until > next_expiry`'s `now()`, so none leaves the result before `next_expiry`."""

    generation: int
    next_expiry: datetime | None


@dataclass(frozen=True, slots=True)
class Entry:
    result: SearchResult
    expires: datetime | None


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    misses: int = 0


class ResultCache:
    """Least recently used results of the newest generation seen, at most `max_entries`.

    Concurrent misses of one key at one generation wait for a single computation."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.stats = CacheStats()
        self._generation = -1
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._running: dict[tuple[Key, int], asyncio.Future[SearchResult | None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def get(self, key: Key, generation: int, now: datetime) -> SearchResult | None:
        if generation > self._generation:
            self._entries.clear()  # an older generation is never read again
            self._generation = generation
        entry = self._entries.get(key) if generation == self._generation else None
        if entry is None or (entry.expires is not None and now >= entry.expires):
            self.stats.misses += 1
            return None
        self._entries.move_to_end(key)
        self.stats.hits += 1
        return entry.result

    async def compute(
        self,
        key: Key,
        read_catalogue: Callable[[], Awaitable[Catalogue]],
        run: Callable[[], Awaitable[SearchResult]],
    ) -> SearchResult:
        """`run()`'s result, stored under the catalogue read just before it; a search of the same
        key already running at that generation is awaited instead of run twice."""
        catalogue = await read_catalogue()
        flight = (key, catalogue.generation)
        running = self._running.get(flight)
        if running is not None:
            shared = await asyncio.shield(running)
            return shared if shared is not None else await run()
        # None tells the waiters that this computation failed: each then runs the search itself.
        future: asyncio.Future[SearchResult | None] = asyncio.get_running_loop().create_future()
        self._running[flight] = future
        result: SearchResult | None = None
        try:
            result = await run()
        finally:
            del self._running[flight]
            future.set_result(result)
        self._put(key, catalogue, result)
        return result

    def _put(self, key: Key, catalogue: Catalogue, result: SearchResult) -> None:
        if catalogue.generation > self._generation:
            self._entries.clear()
            self._generation = catalogue.generation
        if catalogue.generation < self._generation or self.max_entries == 0:
            return
        self._entries[key] = Entry(result, catalogue.next_expiry)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
