"""The transactional outbox: written in the same transaction as the change it announces."""

from __future__ import annotations

import json
import uuid
from typing import Any

from api.db.pool import Connection


async def emit(conn: Connection, topic: str, aggregate_id: uuid.UUID, payload: dict[str, Any]) -> None:
    # Sent as text so it works on any connection, with or without a jsonb codec installed.
    await conn.execute(
        "INSERT INTO outbox (topic, aggregate_id, payload) VALUES ($1, $2, $3::text::jsonb)",
        topic,
        aggregate_id,
        json.dumps(payload, default=str),
    )
