"""The clock's sweep: safe to run twice at once, and one consistent outcome when it races a provider."""

from __future__ import annotations

import asyncio
import uuid

import asyncpg
import msgspec
import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.cli import main
from api.observability import RequestContext
from api.reservations.service import sweep_due
from api.settings import Settings
from tests import factories
from tests.api.reservations.conftest import Park, status_of
from tests.concurrency import concurrent_client


async def _sweep(database_url: str) -> int:
    conn = await asyncpg.connect(database_url)
    try:
        async with conn.transaction():
            return await sweep_due(conn)
    finally:
        await conn.close()


async def _overdue(db: asyncpg.Connection, park: Park) -> uuid.UUID:
    reservation_id = await factories.reservation(db, park.storage, requester=park.requester)
    await db.execute(
        "UPDATE reservations SET expires_at = now() - interval '1 second' WHERE id = $1", reservation_id
    )
    return reservation_id


async def _events(db: asyncpg.Connection, reservation_id: uuid.UUID) -> list[str]:
    rows = await db.fetch(
        "SELECT action FROM reservation_events WHERE reservation_id = $1 ORDER BY id", reservation_id
    )
    return [r["action"] for r in rows]


async def test_two_sweeps_at_once_move_each_due_reservation_once(
    park: Park, db: asyncpg.Connection, database_url: str
) -> None:
    ids = [await _overdue(db, park) for _ in range(40)]
    counts = await asyncio.gather(*(_sweep(database_url) for _ in range(2)))
    assert sum(counts) == 40
    assert await db.fetchval("SELECT count(*) FROM reservations WHERE status = 'expired'") == 40
    assert await db.fetchval("SELECT count(*) FROM reservation_events WHERE action = 'expire'") == 40
    for reservation_id in ids:
        assert await _events(db, reservation_id) == ["expire"]


async def test_the_sweep_skips_a_reservation_a_provider_is_answering_without_waiting(
    park: Park, db: asyncpg.Connection, database_url: str
) -> None:
    reservation_id = await _overdue(db, park)
    async with db.transaction():
        await db.execute("SELECT 1 FROM reservations WHERE id = $1 FOR UPDATE", reservation_id)
        assert await asyncio.wait_for(_sweep(database_url), timeout=5) == 0
    assert await _sweep(database_url) == 1


@pytest.mark.parametrize("overdue", [True, False])
async def test_the_sweep_racing_an_accept_leaves_one_consistent_outcome(
    park: Park, asgi: RequestContext, db: asyncpg.Connection, database_url: str, overdue: bool
) -> None:
    ids = [
        await (
            _overdue(db, park)
            if overdue
            else factories.reservation(db, park.storage, requester=park.requester)
        )
        for _ in range(3)
    ]

    async def accept(reservation_id: uuid.UUID) -> int:
        response = await client.post(f"/v1/reservations/{reservation_id}/accept", headers=park.as_provider())
        return response.status_code

    async with concurrent_client(asgi) as client:
        results = await asyncio.gather(_sweep(database_url), *(accept(r) for r in ids), _sweep(database_url))
    sweeps, answers = results[0] + results[-1], results[1:-1]
    for reservation_id, answer in zip(ids, answers, strict=True):
        status = await status_of(db, reservation_id)
        events = await _events(db, reservation_id)
        if overdue:  # past the deadline the clock wins, whoever gets the row first
            assert (answer, status, events) == (409, "expired", ["expire"])
        else:
            assert (answer, status, events) == (200, "accepted", ["accept"])
    assert sweeps == (3 if overdue else 0)


async def test_the_sweep_command_expires_listings_and_moves_reservations(
    park: Park, db: asyncpg.Connection, database_url: str
) -> None:
    await _overdue(db, park)
    # The command runs its own event loop: give it a thread.
    result = await asyncio.to_thread(CliRunner().invoke, main, ["sweep"], env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "expired 0 listings; moved 1 reservations" in result.output


async def test_an_action_applies_what_the_clock_made_due_before_the_sweep(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    reservation_id = await _overdue(db, park)
    response = await client.post(
        f"/v1/reservations/{reservation_id}/decline", json={}, headers=park.as_provider()
    )
    assert response.status_code == 409
    assert (response.json()["status"], response.json()["current_status"]) == (409, "expired")
    assert await status_of(db, reservation_id) == "requested"  # refused: nothing written, the sweep will


async def test_the_api_sweeps_by_itself_on_an_interval(
    park: Park, db: asyncpg.Connection, settings: Settings
) -> None:
    reservation_id = await _overdue(db, park)
    app = create_app(msgspec.structs.replace(settings, sweep_interval_seconds=0.05))
    async with app.lifespan():
        for _ in range(100):
            if await status_of(db, reservation_id) == "expired":
                break
            await asyncio.sleep(0.05)
    assert await status_of(db, reservation_id) == "expired"
