"""The transactional outbox: written in the same transaction as the change it announces."""

from __future__ import annotations

import uuid
from typing import Any

from api.db.pool import Connection


async def emit(conn: Connection, topic: str, aggregate_id: uuid.UUID, payload: dict[str, Any]) -> None:
    await conn.execute(
        "INSERT INTO outbox (topic, aggregate_id, payload) VALUES ($1, $2, $3)", topic, aggregate_id, payload
    )
