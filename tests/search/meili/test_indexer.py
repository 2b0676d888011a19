"""The outbox indexer's own logic, with the network call replaced by a recording sender.

The sender stands in for "Meilisearch applied this batch" (or failed to); nothing here imitates
Meilisearch's search. What is tested: which listings an outbox batch touches, that the
checkpoint moves only past applied batches, and that rows committed out of id order are not
skipped.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest

from api.db import outbox
from api.db.pool import Pool, create_pool
from search.meili import repository
from search.meili.indexer import Indexer, NeverBuiltError, next_delay
from search.meili.repository import OutboxRow, Position
from tests import factories
from tests.search.meili.recording import RecordingSender

CONSUMER = "listings"


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    created = await create_pool(database_url, min_size=1, max_size=4)
    yield created
    await created.close()


async def _member(db: asyncpg.Connection) -> tuple[uuid.UUID, uuid.UUID]:
    network_id = await factories.network(db, f"net-{uuid.uuid4().hex[:8]}")
    organisation_id = await factories.organisation(db, "Cartonnerie du Rhône")
    await factories.membership(db, network_id, organisation_id)
    return network_id, organisation_id


async def _announce(db: asyncpg.Connection, *listing_ids: uuid.UUID) -> None:
    for listing_id in listing_ids:
        await outbox.emit(db, "listing.changed", listing_id, {})


async def _start_from_scratch(db: asyncpg.Connection) -> None:
    await repository.save_checkpoint(db, CONSUMER, Position(0, 0))


async def _rows(db: asyncpg.Connection) -> list[OutboxRow]:
    return await repository.pending(db, Position(0, 0), 1000)


async def test_an_outbox_batch_maps_to_the_listings_it_touches(db: asyncpg.Connection) -> None:
    network_id, organisation_id = await _member(db)
    other_network = await factories.network(db, "other-net")
    await factories.membership(db, other_network, organisation_id)
    in_network = [await factories.listing(db, network_id, organisation_id) for _ in range(2)]
    elsewhere = await factories.listing(db, other_network, organisation_id)
    second_org = await factories.organisation(db, "Verrerie")
    await factories.membership(db, network_id, second_org)
    of_second_org = await factories.listing(db, network_id, second_org)
    taker = await factories.organisation(db, "Preneur")
    transferred = await factories.listing(db, network_id, second_org)
    transfer_id = await factories.transfer(db, transferred, taker=taker)
    membership_id = await db.fetchval(
        "SELECT id FROM memberships WHERE network_id = $1 AND organisation_id = $2",
        network_id,
        organisation_id,
    )
    deleted_listing = uuid.uuid4()

    await outbox.emit(db, "membership.changed", membership_id, {"status": "suspended"})
    await outbox.emit(db, "organisation.changed", second_org, {})
    await outbox.emit(db, "transfer.changed", transfer_id, {"status": "requested"})
    await outbox.emit(db, "listing.changed", deleted_listing, {})
    await outbox.emit(db, "impact.counted", transfer_id, {})
    await outbox.emit(db, "reservation.changed", uuid.uuid4(), {})

    found = await repository.affected_listings(db, await _rows(db))

    assert set(found) == {*in_network, of_second_org, transferred, deleted_listing}
    assert elsewhere not in found


async def test_a_batch_of_unrelated_topics_touches_nothing(db: asyncpg.Connection) -> None:
    await outbox.emit(db, "impact.counted", uuid.uuid4(), {})
    assert await repository.affected_listings(db, await _rows(db)) == []


async def test_a_failed_send_keeps_the_checkpoint_and_the_retry_loses_nothing(
    db: asyncpg.Connection, pool: Pool
) -> None:
    network_id, organisation_id = await _member(db)
    shown = await factories.listing(db, network_id, organisation_id)
    hidden = await factories.listing(db, network_id, organisation_id, status="draft")
    await _start_from_scratch(db)
    await _announce(db, shown, hidden)
    sender = RecordingSender(failures=1)
    indexer = Indexer(pool, sender, CONSUMER)

    with pytest.raises(ConnectionError):
        await indexer.drain_once()

    assert await repository.checkpoint(db, CONSUMER) == Position(0, 0)
    assert await repository.lag(db, CONSUMER) == 2
    assert sender.stored == {}

    assert await indexer.drain() == 2

    assert set(sender.stored) == {str(shown)}
    assert sender.deleted == [str(hidden)]
    last = (await _rows(db))[-1]
    assert await repository.checkpoint(db, CONSUMER) == Position(last.txid, last.id)
    assert await repository.lag(db, CONSUMER) == 0
    assert await indexer.drain_once() == 0


async def test_batches_advance_the_checkpoint_one_batch_at_a_time(db: asyncpg.Connection, pool: Pool) -> None:
    network_id, organisation_id = await _member(db)
    listings = [await factories.listing(db, network_id, organisation_id) for _ in range(5)]
    await _start_from_scratch(db)
    await _announce(db, *listings)
    rows = await _rows(db)
    indexer = Indexer(pool, RecordingSender(), CONSUMER, batch_size=2)

    assert await indexer.drain_once() == 2
    assert await repository.checkpoint(db, CONSUMER) == Position(rows[1].txid, rows[1].id)
    assert await repository.lag(db, CONSUMER) == 3
    assert await indexer.drain() == 3
    assert await repository.lag(db, CONSUMER) == 0


async def test_a_row_committed_after_a_younger_one_is_not_skipped(
    db: asyncpg.Connection, pool: Pool, database_url: str
) -> None:
    network_id, organisation_id = await _member(db)
    early, late = [await factories.listing(db, network_id, organisation_id) for _ in range(2)]
    await _start_from_scratch(db)
    slow = await asyncpg.connect(database_url)
    try:
        transaction = slow.transaction()
        await transaction.start()
        await _announce(slow, early)  # takes the lower outbox id, not committed yet
        await _announce(db, late)  # a higher id, committed at once
        ids = await db.fetch("SELECT id FROM outbox ORDER BY id")
        sender = RecordingSender()
        indexer = Indexer(pool, sender, CONSUMER)

        await indexer.drain()

        # The younger row waits behind the open transaction: nothing past it is checkpointed.
        assert str(early) not in sender.stored
        position = await repository.checkpoint(db, CONSUMER)
        assert position is not None
        assert position.outbox_id < ids[0]["id"]
        await transaction.commit()
    finally:
        await slow.close()

    await indexer.drain()

    assert set(sender.stored) == {str(early), str(late)}
    assert await repository.lag(db, CONSUMER) == 0


async def test_a_second_indexer_waits_for_the_first(db: asyncpg.Connection, pool: Pool) -> None:
    network_id, organisation_id = await _member(db)
    await _start_from_scratch(db)
    await _announce(db, await factories.listing(db, network_id, organisation_id))
    gate = asyncio.Event()
    first_sender = RecordingSender(gate=gate)
    first = asyncio.create_task(Indexer(pool, first_sender, CONSUMER).drain_once())
    await first_sender.entered.wait()

    assert await Indexer(pool, RecordingSender(), CONSUMER).drain_once() == 0

    gate.set()
    assert await first == 1


async def test_an_index_never_built_is_not_followed_from_the_middle(
    db: asyncpg.Connection, pool: Pool
) -> None:
    await _announce(db, uuid.uuid4())
    with pytest.raises(NeverBuiltError):
        await Indexer(pool, RecordingSender(), CONSUMER).drain_once()
    assert await repository.lag(db, CONSUMER) == 1


async def test_run_retries_with_backoff_then_builds_and_follows(db: asyncpg.Connection, pool: Pool) -> None:
    network_id, organisation_id = await _member(db)
    listing_id = await factories.listing(db, network_id, organisation_id)
    await _announce(db, listing_id)
    sender = RecordingSender(failures=2)
    stop = asyncio.Event()
    rebuilds = 0

    async def rebuild() -> None:
        nonlocal rebuilds
        rebuilds += 1
        async with pool.acquire() as conn:
            await repository.save_checkpoint(conn, CONSUMER, Position(0, 0))

    indexer = Indexer(pool, sender, CONSUMER, rebuild=rebuild, first_retry_s=0.01, max_retry_s=0.02)
    task = asyncio.create_task(indexer.run(stop, idle_s=0.01))
    for _ in range(500):
        if await repository.lag(db, CONSUMER) == 0:
            break
        await asyncio.sleep(0.02)
    stop.set()
    await task

    assert rebuilds == 1
    assert sender.calls == 3
    assert set(sender.stored) == {str(listing_id)}


def test_backoff_doubles_up_to_a_cap() -> None:
    delays = [0.0]
    for _ in range(8):
        delays.append(next_delay(delays[-1], first=0.5, cap=30))
    assert delays[1:] == [0.5, 1, 2, 4, 8, 16, 30, 30]
