"""Building an index whole from PostgreSQL: in place (`refresh`), or beside it and swapped in
(`symbiose reindex`).

Both record as checkpoint the outbox horizon read *before* reading any listing: every change
committed below it is in the tables they read, and every change above it is replayed by the
indexer afterwards (harmless when already seen: documents are rebuilt whole).
"""

from __future__ import annotations

import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Final

from meilisearch_python_sdk import AsyncClient
from meilisearch_python_sdk.errors import MeilisearchError

from api.db.pool import Connection, Pool
from search.meili import documents, repository
from search.meili.sender import MeiliSender, Sender
from search.meili.settings import ensure_index
from search.meili.tasks import wait

logger = logging.getLogger(__name__)

PAGE: Final = 1000


async def _pages(conn: Connection, size: int) -> AsyncIterator[list[uuid.UUID]]:
    after: uuid.UUID | None = None
    while ids := await repository.listing_ids_after(conn, after, size):
        yield ids
        after = ids[-1]


async def fill(conn: Connection, sender: Sender, *, page: int = PAGE) -> set[str]:
    """Send the document of every searchable listing, a page at a time; their ids."""
    kept: set[str] = set()
    async for ids in _pages(conn, page):
        batch = await documents.load(conn, ids, int(time.time()))
        await sender.upsert(batch.documents)
        kept.update(d["id"] for d in batch.documents)
    return kept


async def index_ids(client: AsyncClient, uid: str, *, page: int = PAGE) -> list[str]:
    found: list[str] = []
    while True:
        info = await client.index(uid).get_documents(offset=len(found), limit=page, fields=["id"])
        found.extend(str(d["id"]) for d in info.results)
        if len(info.results) < page:
            return found


async def rebuild_live(pool: Pool, client: AsyncClient, uid: str, *, page: int = PAGE) -> None:
    """Make the live index equal to PostgreSQL now: store every searchable listing, delete every
    other document. The index stays searchable throughout; the indexer waits meanwhile."""
    async with pool.acquire() as conn, conn.transaction():
        await repository.lock(conn, uid)
        start = await repository.horizon(conn)
        sender = MeiliSender(client, uid)
        kept = await fill(conn, sender, page=page)
        await sender.delete([i for i in await index_ids(client, uid, page=page) if i not in kept])
        await repository.save_checkpoint(conn, uid, start)


def new_index_name(live: str, now: datetime | None = None) -> str:
    return f"{live}_{(now or datetime.now(UTC)):%Y%m%d%H%M%S}"


async def reindex(pool: Pool, client: AsyncClient, live: str, *, page: int = PAGE) -> str:
    """Build `<live>_<timestamp>` whole, swap it with `live` atomically, delete the old one.

    Searches see the old index until the swap and the new one after, never a partial one.
    Returns the name the new index was built under."""
    building = new_index_name(live)
    await ensure_index(client, live)  # a swap needs both indexes to exist
    await ensure_index(client, building)
    try:
        async with pool.acquire() as conn:
            start = await repository.horizon(conn)
            await fill(conn, MeiliSender(client, building), page=page)
            async with conn.transaction():
                # Wait for the indexer's batch in flight; it then resumes from `start` and
                # replays onto the new index what it had sent to the old one meanwhile.
                await repository.lock(conn, live)
                await wait(client, await client.swap_indexes([(live, building)]))
                await repository.save_checkpoint(conn, live, start)
    except BaseException:
        with contextlib.suppress(MeilisearchError, OSError):
            await client.delete_index_if_exists(building)
        raise
    # After the swap, `building` names the old documents.
    await wait(client, await client.index(building).delete())
    return building
