"""Search results kept across the changes that cannot touch them.

A result is stored under the catalogue generation (migration 0011) read before it was computed.
A search that reads the same generation is served the result as it is. A search that reads a later
one is served it only once PostgreSQL confirms that no change since could touch it: for a text
search, that no listing changed since matches its tsquery (as expanded now, so a word new to the
typo vocabulary counts) before or after the change, since a listing that matches neither time was
in no count and no page. Searches without text are computed again after every change.
Every result also ends at the first expiry that could change it. Whatever is served is what the
tables answer at that moment: the backend stays transactional.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final

import msgspec

from schemas.search import SearchResult
from search.query import SearchQuery, Viewer

Key = tuple[SearchQuery, Viewer]
_ENCODER: Final = msgspec.msgpack.Encoder()
_DECODER: Final = msgspec.msgpack.Decoder(SearchResult)


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The state a result is computed at, read before computing it.

    The data the result reads is at least as new as `generation`: a change committed in between
    has a later generation and is checked against the result before it is served again. Every
    listing visible then has `available_until > next_expiry`'s `now()`, so none leaves the result
    before `next_expiry`."""

    generation: int
    next_expiry: datetime | None


@dataclass(slots=True)
class Entry:
    """A result kept encoded: as structs, its hits' UUIDs were objects that every full collection of
    the garbage collector walked (500 results held about 40 000 of them, 30 to 50 ms a collection,
    a pause every request in flight waited through); bytes are not walked."""

    encoded: bytes
    generation: int
    expires: datetime | None

    @property
    def result(self) -> SearchResult:
        return _DECODER.decode(self.encoded)

    def renew(self, generation: int) -> None:
        """The result holds at `generation` too (nothing since touched it)."""
        self.generation = max(self.generation, generation)


@dataclass(slots=True)
class CacheStats:
    hits: int = 0
    revalidated: int = 0
    misses: int = 0


class ResultCache:
    """At most `max_entries` results, least recently used first out.

    Concurrent misses of one key at one generation wait for a single computation."""

    def __init__(self, max_entries: int) -> None:
        self.max_entries = max_entries
        self.stats = CacheStats()
        self._entries: OrderedDict[Key, Entry] = OrderedDict()
        self._running: dict[tuple[Key, int], asyncio.Future[SearchResult | None]] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def __contains__(self, key: Key) -> bool:
        return key in self._entries

    def store(self, key: Key, catalogue: Catalogue, result: SearchResult) -> None:
        """Keep `result`, computed at exactly `catalogue` (see `Catalogue`)."""
        self._put(key, catalogue, result)

    def get(self, key: Key, now: datetime) -> Entry | None:
        """The entry of `key` unless it has expired, whatever its generation."""
        entry = self._entries.get(key)
        if entry is None or (entry.expires is not None and now >= entry.expires):
            return None
        self._entries.move_to_end(key)
        return entry

    async def compute(
        self,
        key: Key,
        read_catalogue: Callable[[], Awaitable[Catalogue]],
        run: Callable[[], Awaitable[SearchResult]],
    ) -> SearchResult:
        """`run()`'s result, stored under the catalogue read just before it; a search of the same
        key already running at that generation is awaited instead of run twice, and one that ended
        while this caller waited (for a connection, for the catalogue) is served as stored."""
        catalogue = await read_catalogue()
        done = self._entries.get(key)
        # Computed at this very catalogue: the same listings and, the expiry being the same, none
        # of them expired since (an expiry that passed would have moved `next_expiry` on).
        if done is not None and (done.generation, done.expires) == (
            catalogue.generation,
            catalogue.next_expiry,
        ):
            self._entries.move_to_end(key)
            return done.result
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
        if self.max_entries == 0:
            return
        current = self._entries.get(key)
        if current is not None and current.generation > catalogue.generation:
            return  # a newer result is already there
        self._entries[key] = Entry(_ENCODER.encode(result), catalogue.generation, catalogue.next_expiry)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
