"""How long an `Idempotency-Key` is remembered: a retry within a day returns the first result."""

from __future__ import annotations

from datetime import timedelta

from api.db.pool import Connection

KEY_TTL = timedelta(hours=24)

_FORGET = """
WITH transfers AS (DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval RETURNING 1),
     reservations AS (
         DELETE FROM reservation_idempotency_keys WHERE created_at < now() - $1::interval RETURNING 1)
SELECT (SELECT count(*) FROM transfers) + (SELECT count(*) FROM reservations)
"""


async def forget_expired_keys(conn: Connection, ttl: timedelta = KEY_TTL) -> int:
    """Delete the creation keys (transfers, reservations) older than `ttl`; their results stay."""
    deleted: int = await conn.fetchval(_FORGET, ttl)
    return deleted
