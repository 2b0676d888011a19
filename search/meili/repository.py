"""SQL of the Meilisearch indexer: document rows, outbox reading and the checkpoint."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.db.pool import Connection

# One row per listing with everything its document holds: no query per listing.
# `category_path` is the category's id and its ancestors' (a dotted id's prefixes that exist),
# shortest first, so a filter on `wood` finds `wood.pallets`. `starts_with`, not LIKE: category
# ids contain `_`, a LIKE wildcard.
DOCUMENT_ROWS = """
SELECT l.id, l.organisation_id, l.network_id, l.zone_id, l.direction, l.nature, l.category_id,
       l.title, l.description, l.unit, l.quantity, l.available_quantity, l.capacity, l.capacity_period,
       l.price_kind, l.price_cents, l.currency, l.condition, l.waste_code, l.hazardous, l.latitude,
       l.longitude, l.available_from, l.available_until, l.visibility, l.status, l.version,
       l.published_at, o.name AS organisation_name, o.is_ess,
       EXISTS (SELECT 1 FROM memberships m
               WHERE m.network_id = l.network_id AND m.organisation_id = l.organisation_id
                 AND m.status = 'active') AS member_active,
       ARRAY[c.label_fr, c.label_en] AS category_labels,
       (SELECT array_agg(a.id ORDER BY a.id) FROM categories a
        WHERE a.id = l.category_id OR starts_with(l.category_id, a.id || '.')) AS category_path
FROM listings l
JOIN organisations o ON o.id = l.organisation_id
JOIN categories c ON c.id = l.category_id
WHERE l.id = ANY($1::uuid[])
ORDER BY l.id
"""


async def document_rows(conn: Connection, listing_ids: Sequence[uuid.UUID]) -> list[dict[str, Any]]:
    return [dict(r) for r in await conn.fetch(DOCUMENT_ROWS, list(listing_ids))]


async def listing_ids_after(conn: Connection, after: uuid.UUID | None, limit: int) -> list[uuid.UUID]:
    """Every listing, in id order, a page at a time (a full rebuild walks them all)."""
    rows = await conn.fetch(
        "SELECT id FROM listings WHERE $1::uuid IS NULL OR id > $1 ORDER BY id LIMIT $2", after, limit
    )
    return [r["id"] for r in rows]


# Which listings an outbox row touches. A membership decides whether its organisation's listings
# in that network show; an organisation's name and ESS flag are in each of its listings; a
# transfer moves its offer's stock (stock changes also write `listing.changed`, this is belt and
# braces). Other topics (impact, reservations) change nothing a listing document holds.
AFFECTED_LISTINGS = """
SELECT l.id FROM memberships m
JOIN listings l ON l.network_id = m.network_id AND l.organisation_id = m.organisation_id
WHERE m.id = ANY($1::uuid[])
UNION SELECT l.id FROM listings l WHERE l.organisation_id = ANY($2::uuid[])
UNION SELECT t.listing_id FROM transfers t WHERE t.id = ANY($3::uuid[])
UNION SELECT unnest($4::uuid[])
"""

TOPICS = ("listing.changed", "membership.changed", "organisation.changed", "transfer.changed")


@dataclass(frozen=True, slots=True)
class OutboxRow:
    id: int
    txid: int
    topic: str
    aggregate_id: uuid.UUID


async def affected_listings(conn: Connection, rows: Sequence[OutboxRow]) -> list[uuid.UUID]:
    by_topic: dict[str, list[uuid.UUID]] = {topic: [] for topic in TOPICS}
    for row in rows:
        if row.topic in by_topic:
            by_topic[row.topic].append(row.aggregate_id)
    if not any(by_topic.values()):
        return []
    found = await conn.fetch(
        AFFECTED_LISTINGS,
        by_topic["membership.changed"],
        by_topic["organisation.changed"],
        by_topic["transfer.changed"],
        by_topic["listing.changed"],
    )
    return sorted(r["id"] for r in found)


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the outbox: every row at or before (txid, outbox_id) is indexed."""

    txid: int
    outbox_id: int


async def try_lock(conn: Connection, consumer: str) -> bool:
    """One writer per index at a time, until the transaction ends (no xid is taken for it)."""
    locked: bool = await conn.fetchval(
        "SELECT pg_try_advisory_xact_lock(hashtextextended('search-indexer:' || $1, 0))", consumer
    )
    return locked


async def lock(conn: Connection, consumer: str) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock(hashtextextended('search-indexer:' || $1, 0))", consumer)


async def checkpoint(conn: Connection, consumer: str) -> Position | None:
    row = await conn.fetchrow(
        "SELECT txid::text::bigint AS txid, outbox_id FROM search_indexer_checkpoints WHERE consumer = $1",
        consumer,
    )
    return None if row is None else Position(row["txid"], row["outbox_id"])


async def save_checkpoint(conn: Connection, consumer: str, position: Position) -> None:
    await conn.execute(
        """INSERT INTO search_indexer_checkpoints (consumer, txid, outbox_id) VALUES ($1, $2::text::xid8, $3)
           ON CONFLICT (consumer) DO UPDATE
           SET txid = excluded.txid, outbox_id = excluded.outbox_id, updated_at = now()""",
        consumer,
        str(position.txid),
        position.outbox_id,
    )


async def horizon(conn: Connection) -> Position:
    """The position below which every outbox row is committed and visible: the snapshot's xmin.

    Every transaction older than xmin has ended; rows of younger ones wait for a later read."""
    txid: int = await conn.fetchval("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")
    # (xmin, 0) sorts before every row of transaction xmin (ids start at 1) and after all older.
    return Position(txid, 0)


async def pending(conn: Connection, after: Position, limit: int) -> list[OutboxRow]:
    """Outbox rows after `after` and below the horizon, oldest transaction first."""
    rows = await conn.fetch(
        """SELECT id, txid::text::bigint AS txid, topic, aggregate_id FROM outbox
           WHERE (txid, id) > ($1::text::xid8, $2::bigint)
             AND txid < pg_snapshot_xmin(pg_current_snapshot())
           ORDER BY txid, id LIMIT $3""",
        str(after.txid),
        after.outbox_id,
        limit,
    )
    return [OutboxRow(r["id"], r["txid"], r["topic"], r["aggregate_id"]) for r in rows]


async def lag(conn: Connection, consumer: str) -> int:
    """Outbox rows not yet indexed (all of them when the index was never built)."""
    position = await checkpoint(conn, consumer)
    if position is None:
        total: int = await conn.fetchval("SELECT count(*) FROM outbox")
        return total
    behind: int = await conn.fetchval(
        "SELECT count(*) FROM outbox WHERE (txid, id) > ($1::text::xid8, $2::bigint)",
        str(position.txid),
        position.outbox_id,
    )
    return behind
