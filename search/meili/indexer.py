"""The outbox indexer: follows the outbox and keeps the Meilisearch index equal to PostgreSQL.

One batch is one PostgreSQL transaction: take the index's advisory lock (one writer per index),
read the checkpoint and the outbox rows after it (below the visibility horizon, see migration
0009), map them to listing ids, rebuild those documents whole, send them and wait until
Meilisearch has applied them, then move the checkpoint and commit. Any failure on the way rolls
back, so the checkpoint moves only past rows whose documents are in the index: a crash or an
unreachable Meilisearch loses nothing, the batch is simply done again (documents are rebuilt
whole, so doing one twice is harmless).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Final

from api.db.pool import Pool
from search.meili import documents, repository
from search.meili.sender import Sender

logger = logging.getLogger(__name__)

BATCH_SIZE: Final = 500
IDLE_S: Final = 1.0
FIRST_RETRY_S: Final = 0.5
MAX_RETRY_S: Final = 30.0


class NeverBuiltError(Exception):
    """The index has no checkpoint: build it whole (`rebuild_live`) before following the outbox."""


def next_delay(delay: float, *, first: float = FIRST_RETRY_S, cap: float = MAX_RETRY_S) -> float:
    """Exponential backoff: double the wait after each failure, never beyond `cap`."""
    return first if delay <= 0 else min(delay * 2, cap)


@dataclass(slots=True)
class Indexer:
    pool: Pool
    sender: Sender
    consumer: str
    """The live index name: whose checkpoint this is."""
    batch_size: int = BATCH_SIZE
    rebuild: Callable[[], Awaitable[None]] | None = None
    """Builds the index whole; called when it never was (no checkpoint)."""
    first_retry_s: float = FIRST_RETRY_S
    max_retry_s: float = MAX_RETRY_S

    async def drain_once(self) -> int:
        """Apply one batch; the number of outbox rows consumed (0: nothing to do, or another
        indexer holds the lock). Raises on any failure, with the checkpoint unmoved."""
        async with self.pool.acquire() as conn, conn.transaction():
            if not await repository.try_lock(conn, self.consumer):
                return 0
            position = await repository.checkpoint(conn, self.consumer)
            if position is None:
                raise NeverBuiltError(self.consumer)
            rows = await repository.pending(conn, position, self.batch_size)
            if not rows:
                return 0
            listing_ids = await repository.affected_listings(conn, rows)
            batch = await documents.load(conn, listing_ids, int(time.time()))
            await self.sender.upsert(batch.documents)
            await self.sender.delete(batch.deletions)
            last = rows[-1]
            await repository.save_checkpoint(conn, self.consumer, repository.Position(last.txid, last.id))
            return len(rows)

    async def drain(self) -> int:
        """Apply batches until the outbox is caught up (below the horizon); rows consumed."""
        total = 0
        while (done := await self.drain_once()) > 0:
            total += done
        return total

    async def run(self, stop: asyncio.Event, *, idle_s: float = IDLE_S) -> None:
        """Follow the outbox until `stop` is set, retrying failures with capped backoff."""
        delay = 0.0
        while not stop.is_set():
            try:
                done = await self.drain_once()
            except NeverBuiltError:
                if self.rebuild is None:
                    raise
                logger.info("no checkpoint for %s: building it whole from PostgreSQL", self.consumer)
                done = 0
                try:
                    await self.rebuild()
                except Exception:
                    delay = next_delay(delay, first=self.first_retry_s, cap=self.max_retry_s)
                    logger.exception("building %s failed; retrying in %.1f s", self.consumer, delay)
                    await sleep_unless(stop, delay)
                    continue
            except Exception:
                delay = next_delay(delay, first=self.first_retry_s, cap=self.max_retry_s)
                logger.exception("indexing %s failed; retrying in %.1f s", self.consumer, delay)
                await sleep_unless(stop, delay)
                continue
            delay = 0.0
            if done < self.batch_size:
                await sleep_unless(stop, idle_s)


async def sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    """Sleep, waking early when `stop` is set."""
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), timeout=seconds)
