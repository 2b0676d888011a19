"""SQL for bulk imports: reference look-ups in one query each, rows written with COPY."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime

import asyncpg

from api.db.pool import Connection
from api.listings.rules import Draft

_LISTING_COLUMNS = ("id", *Draft.__struct_fields__, "status", "published_at", "created_by", "import_id")


async def members_by_siret(
    conn: Connection, network_id: uuid.UUID, sirets: Sequence[str]
) -> dict[str, asyncpg.Record]:
    rows = await conn.fetch(
        """SELECT o.siret, o.id, o.latitude, o.longitude, m.status, m.zone_id
           FROM organisations o JOIN memberships m ON m.organisation_id = o.id AND m.network_id = $1
           WHERE o.siret = ANY($2::text[])""",
        network_id,
        list(sirets),
    )
    return {r["siret"]: r for r in rows}


async def insert_import(
    conn: Connection, network_id: uuid.UUID, created_by: uuid.UUID | None, rows: int, created: int
) -> asyncpg.Record:
    row = await conn.fetchrow(
        """INSERT INTO imports (network_id, created_by, rows_total, rows_created) VALUES ($1, $2, $3, $4)
           RETURNING id, network_id, rows_total AS rows, rows_created AS created, created_at""",
        network_id,
        created_by,
        rows,
        created,
    )
    assert row is not None
    return row


async def copy_listings(
    conn: Connection,
    drafts: Sequence[tuple[uuid.UUID, Draft, bool]],
    created_by: uuid.UUID | None,
    import_id: uuid.UUID,
    now: datetime,
) -> None:
    """Write the listings, one event and one outbox row each, in three statements."""
    records = [
        (
            listing_id,
            *(getattr(draft, name) for name in Draft.__struct_fields__),
            "published" if published else "draft",
            now if published else None,
            created_by,
            import_id,
        )
        for listing_id, draft, published in drafts
    ]
    await conn.copy_records_to_table("listings", records=records, columns=_LISTING_COLUMNS)
    await conn.copy_records_to_table(
        "listing_events",
        records=[(i, "import", None, "published" if p else "draft", created_by) for i, _, p in drafts],
        columns=("listing_id", "action", "from_status", "to_status", "actor_user_id"),
    )
    # COPY has no binary form for jsonb: the outbox rows are built by one INSERT from arrays.
    await conn.execute(
        """INSERT INTO outbox (topic, aggregate_id, payload)
           SELECT 'listing.changed', id, jsonb_build_object('status', status, 'version', 1)
           FROM unnest($1::uuid[], $2::text[]) AS t (id, status)""",
        [i for i, _, _ in drafts],
        ["published" if p else "draft" for _, _, p in drafts],
    )


async def get_import(conn: Connection, network_id: uuid.UUID, import_id: uuid.UUID) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT i.id, i.network_id, i.rows_total AS rows, i.rows_created AS created, i.created_at,
                  (SELECT count(*) FROM listings l JOIN listing_events e ON e.listing_id = l.id
                    WHERE l.import_id = i.id AND e.action = 'import' AND e.to_status = 'published'
                  )::int AS published
           FROM imports i WHERE i.id = $2 AND i.network_id = $1""",
        network_id,
        import_id,
    )
