"""Detection once a day per network, run by the sweep (the API's in-process one and `symbiose sweep`).

A network is due when detection has not run for it in the last `interval` (manual runs count). Each
network is claimed by upserting its `synergy_detection_runs` row in the transaction that detects: a
concurrent sweep waits on that row and then finds it fresh, so two sweeps never detect one network
twice in a day. A failed run (rolled back: a statement timeout on a very large network, say) is
logged and its network is tried again `RETRY_AFTER_FAILURE` later, not at every sweep; the networks
after it are still detected.
"""

from __future__ import annotations

import logging
import uuid
from datetime import timedelta

import asyncpg

from api.db.pool import Connection, Pool
from api.synergies.detect import detect

DETECTION_INTERVAL = timedelta(days=1)
RETRY_AFTER_FAILURE = timedelta(hours=1)
logger = logging.getLogger(__name__)


async def _due(conn: Connection, interval: timedelta) -> list[uuid.UUID]:
    rows = await conn.fetch(
        """SELECT n.id FROM networks n LEFT JOIN synergy_detection_runs r ON r.network_id = n.id
           WHERE r.ran_at IS NULL OR r.ran_at <= now() - $1::interval ORDER BY n.id""",
        interval,
    )
    return [r["id"] for r in rows]


async def _claim(conn: Connection, network_id: uuid.UUID, interval: timedelta) -> bool:
    claimed = await conn.fetchval(
        """INSERT INTO synergy_detection_runs AS r (network_id, ran_at) VALUES ($1, now())
           ON CONFLICT (network_id) DO UPDATE SET ran_at = now() WHERE r.ran_at <= now() - $2::interval
           RETURNING network_id""",
        network_id,
        interval,
    )
    return claimed is not None


async def _postpone(conn: Connection, network_id: uuid.UUID, interval: timedelta, retry: timedelta) -> None:
    """Make the network due again `retry` from now (`ran_at` is when the sweep last claimed it)."""
    await conn.execute(
        """INSERT INTO synergy_detection_runs AS r (network_id, ran_at) VALUES ($1, now() - $2::interval)
           ON CONFLICT (network_id) DO UPDATE SET ran_at = excluded.ran_at""",
        network_id,
        interval - retry,
    )


async def detect_due(pool: Pool, interval: timedelta = DETECTION_INTERVAL) -> dict[uuid.UUID, int]:
    """Run detection for every network due, one transaction each; {network: synergies proposed}."""
    async with pool.acquire() as conn:
        due = await _due(conn, interval)
    proposed: dict[uuid.UUID, int] = {}
    for network_id in due:
        try:
            async with pool.acquire() as conn, conn.transaction():
                if not await _claim(conn, network_id, interval):
                    continue  # another sweep has just run it
                proposed[network_id] = (await detect(conn, network_id)).proposed
        except asyncpg.PostgresError:
            logger.exception(
                "detection failed for network %s; tried again in %s", network_id, RETRY_AFTER_FAILURE
            )
            async with pool.acquire() as conn:
                await _postpone(conn, network_id, interval, RETRY_AFTER_FAILURE)
    if any(proposed.values()):
        logger.info("nightly detection proposed %d synergies", sum(proposed.values()))
    return proposed
