"""Idempotency-Keys are remembered for a day, then forgotten; what they created stays."""

from __future__ import annotations

from datetime import timedelta

import asyncpg

from api.db.idempotency import forget_expired_keys


async def test_keys_older_than_a_day_are_forgotten_and_younger_ones_kept(db: asyncpg.Connection) -> None:
    user = await db.fetchval(
        "INSERT INTO users (issuer, subject, email) VALUES ('i', 's', 'k@x.fr') RETURNING id"
    )
    for table in ("idempotency_keys", "reservation_idempotency_keys"):
        await db.execute(
            f"""INSERT INTO {table} (user_id, key, request_hash, created_at) VALUES
                ($1, 'old', 'h', now() - interval '25 hours'),
                ($1, 'young', 'h', now() - interval '23 hours')""",
            user,
        )
    assert await forget_expired_keys(db) == 2
    assert await forget_expired_keys(db) == 0
    for table in ("idempotency_keys", "reservation_idempotency_keys"):
        keys = await db.fetch(f"SELECT key FROM {table}")
        assert [r["key"] for r in keys] == ["young"]
    assert await forget_expired_keys(db, timedelta(hours=1)) == 2
