"""SQL the search routes need besides the backend's own: whose eyes a search looks through."""

from __future__ import annotations

import uuid

from api.db.pool import Connection


async def active_networks(conn: Connection, organisation_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """The networks where `organisation_id` is an active member."""
    rows = await conn.fetch(
        "SELECT network_id FROM memberships WHERE organisation_id = $1 AND status = 'active'",
        organisation_id,
    )
    return frozenset(r["network_id"] for r in rows)
