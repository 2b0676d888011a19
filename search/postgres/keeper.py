"""Keeps a worker's search index (search/postgres/index.py) exactly current with PostgreSQL.

Migration 0011 bumps `search_generation` once per transaction, at commit, under its row lock: the
generations are in commit order, and a snapshot that sees generation G sees every change up to G
and none after. A search reads the generation first (in the statement that expands its tsquery);
if the index is behind, the listings the change log names since the index's generation are read
again, in one REPEATABLE READ snapshot with the generation they are at, and applied before the
search is answered. So whatever was committed before a search started is in its answer.

When the log no longer covers the gap (`changes_kept_after`), or a change may touch anything (a
truncation, a transaction of more than 10 000 listings: migration 0020), the index is rebuilt in
the background; until it is ready, the caller answers through SQL. The first build starts with the
backend. A rebuild also runs, the current index serving meanwhile, once most positions are stale
or a tenth are out of rank order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from typing import Final

from api.db.pool import Connection, Pool
from search.postgres.index import CANDIDATES, RANK_ORDER, ROWS_SQL, SearchIndex

logger = logging.getLogger(__name__)

BUILD_BATCH: Final = 2000
# Stale positions (listings changed since the build) past this share of the index start a rebuild.
COMPACT_AT: Final = 1.0
COMPACT_MIN: Final = 10_000
# Positions out of rank order past this share (updates of older listings) start a rebuild too.
MISPLACED_AT: Final = 0.1
RETRY_AFTER_S: Final = 30.0

GENERATION_SQL: Final = "SELECT value FROM search_generation"
# $1 the index's generation. `anything`: a change the log cannot name listing by listing.
CHANGES_SQL: Final = """SELECT g.value, g.changes_kept_after,
        EXISTS (SELECT 1 FROM search_changes c
                WHERE c.generation > $1 AND c.generation <= g.value
                  AND c.listing_id IS NULL AND c.organisation_id IS NULL) AS anything,
        ARRAY(SELECT DISTINCT c.listing_id FROM search_changes c
              WHERE c.generation > $1 AND c.generation <= g.value AND c.listing_id IS NOT NULL) AS ids
    FROM search_generation g"""
CHANGED_ROWS_SQL: Final = f"{ROWS_SQL} WHERE l.id = ANY($1::uuid[])"


class IndexKeeper:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.index: SearchIndex | None = None
        self._lock = asyncio.Lock()
        self._building: asyncio.Task[None] | None = None
        self._built = asyncio.Event()
        self._failed_at: float | None = None
        self.builds = 0

    def start(self) -> None:
        """Build in the background (searches go through SQL meanwhile)."""
        if self._building is None or self._building.done():
            self._building = asyncio.get_running_loop().create_task(self._build(), name="search-index")

    async def wait_built(self) -> None:
        self.start()
        await self._built.wait()

    def current_or_retry(self) -> None:
        """No index: retry a failed build once it has waited long enough."""
        if self._failed_at is not None and time.monotonic() - self._failed_at > RETRY_AFTER_S:
            self._failed_at = None
            self.start()

    async def current(self, conn: Connection, generation: int, kept_after: int) -> SearchIndex | None:
        """The index at `generation` or later, or None (and a rebuild started) if it cannot be
        brought there from the change log."""
        index = self.index
        if index is None:
            return None
        if index.generation >= generation:
            return index
        if kept_after > index.generation:
            self._stale()
            return None
        async with self._lock:
            index = self.index
            if index is None:
                return None
            if index.generation < generation and not await self._catch_up(conn, index):
                self._stale()
                return None
        if index.dead > max(COMPACT_MIN, COMPACT_AT * len(index)) or len(index.misplaced) > max(
            COMPACT_MIN, MISPLACED_AT * len(index)
        ):
            self.start()
        return index

    def _stale(self) -> None:
        self.index = None
        self._built.clear()
        self.start()

    async def _catch_up(self, conn: Connection, index: SearchIndex) -> bool:
        """Apply the changes since `index.generation`; False if the log cannot say what they were."""
        async with conn.transaction(isolation="repeatable_read", readonly=True):
            state = await conn.fetchrow(CHANGES_SQL, index.generation)
            assert state is not None  # search_generation holds its one row from migration 0011 on
            if state["changes_kept_after"] > index.generation or state["anything"]:
                return False
            ids: list[uuid.UUID] = state["ids"]
            rows = await conn.fetch(CHANGED_ROWS_SQL, ids) if ids else []
        index.apply(state["value"], ids, rows)
        return True

    async def _build(self) -> None:
        started = time.perf_counter()
        try:
            index = await build(self.pool)
            # The connection before the lock: searches hold theirs while they wait for the lock.
            async with self.pool.acquire() as conn, self._lock:
                if not await self._catch_up(conn, index):
                    logger.warning("search index: the change log moved past the build; building again")
                    self._building = None
                    self.start()
                    return
                self.index = index
                self.builds += 1
                self._built.set()
        except asyncio.CancelledError:
            raise
        except Exception:  # logged; searches keep going through SQL, and retry the build later
            logger.exception("search index: build failed")
            self._failed_at = time.monotonic()
            return
        logger.info(
            "search index: %d listings at generation %d in %.1f s",
            len(index), index.generation, time.perf_counter() - started,
        )  # fmt: skip

    async def close(self) -> None:
        task = self._building
        if task is not None and not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


async def build(pool: Pool) -> SearchIndex:
    """Every candidate listing, read in one snapshot with the generation it is at."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read", readonly=True):
        generation = await conn.fetchval(GENERATION_SQL)
        index = SearchIndex(generation)
        batch = []
        async for row in conn.cursor(f"{ROWS_SQL} {CANDIDATES} {RANK_ORDER}", prefetch=BUILD_BATCH):
            batch.append(row)
            if len(batch) == BUILD_BATCH:
                index.add(batch)
                batch = []
                await asyncio.sleep(0)  # let the searches answered through SQL meanwhile run
        if batch:
            index.add(batch)
    index.compute_ranks()
    return index
