"""Detection once a day per network in the sweep: the API's own, `symbiose sweep`, and two at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import msgspec
import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from api.app import create_app
from api.cli import main
from api.db.pool import Pool, create_pool
from api.observability import RequestContext
from api.settings import Settings
from api.synergies.nightly import detect_due
from tests.api.synergies.conftest import Park
from tests.api.synergies.test_detection import detect, pallets


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    made = await create_pool(database_url, min_size=1, max_size=4)
    yield made
    await made.close()


async def _count(db: asyncpg.Connection) -> int:
    count: int = await db.fetchval("SELECT count(*) FROM synergies")
    return count


async def test_each_network_is_detected_once_a_day(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection, pool: Pool
) -> None:
    await pallets(client, park)
    assert await detect_due(pool) == {park.network: 1}
    assert await detect_due(pool) == {}  # ran less than a day ago
    await db.execute("UPDATE synergy_detection_runs SET ran_at = now() - interval '25 hours'")
    assert await detect_due(pool) == {park.network: 0}  # due again; nothing new to propose
    assert await _count(db) == 1


async def test_a_failed_run_is_logged_and_tried_again_an_hour_later_not_at_every_sweep(
    client: AsyncTestClient[RequestContext],
    park: Park,
    db: asyncpg.Connection,
    database_url: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    await pallets(client, park)
    slow = await create_pool(database_url, min_size=1, max_size=2, statement_timeout_s=1)
    try:
        async with db.transaction():
            # Writes to synergies wait behind this lock until the detection's statement times out.
            await db.execute("LOCK TABLE synergies IN EXCLUSIVE MODE")
            assert await detect_due(slow) == {}
        assert "detection failed for network" in caplog.text
        assert await detect_due(slow) == {}  # not hammered again at the next sweep
        due_in = await db.fetchval(
            "SELECT ran_at + interval '1 day' - now() FROM synergy_detection_runs WHERE network_id = $1",
            park.network,
        )
        assert timedelta(minutes=59) < due_in <= timedelta(hours=1)
        await db.execute("UPDATE synergy_detection_runs SET ran_at = ran_at - interval '1 hour'")
        assert await detect_due(slow) == {park.network: 1}
    finally:
        await slow.close()


async def test_an_operators_run_counts_as_the_days_run(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection, pool: Pool
) -> None:
    await pallets(client, park)
    assert (await detect(client, park))["proposed"] == 1
    assert await detect_due(pool) == {}


async def test_two_sweeps_at_once_detect_a_network_once(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection, pool: Pool
) -> None:
    await pallets(client, park)
    results = await asyncio.gather(detect_due(pool), detect_due(pool))
    assert sorted(len(r) for r in results) == [0, 1]
    assert await _count(db) == 1


async def test_the_sweep_command_and_the_api_detect_by_themselves(
    client: AsyncTestClient[RequestContext],
    park: Park,
    db: asyncpg.Connection,
    database_url: str,
    settings: Settings,
) -> None:
    await pallets(client, park)
    result = await asyncio.to_thread(CliRunner().invoke, main, ["sweep"], env={"DATABASE_URL": database_url})
    assert result.exit_code == 0, result.output
    assert "proposed 1" in result.output
    assert await _count(db) == 1

    await db.execute("DELETE FROM synergy_detection_runs")
    await db.execute("DELETE FROM synergies")
    app = create_app(msgspec.structs.replace(settings, sweep_interval_seconds=0.05))
    async with app.lifespan():
        for _ in range(100):
            if await _count(db):
                break
            await asyncio.sleep(0.05)
    assert await _count(db) == 1
