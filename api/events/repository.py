"""SQL of the event feed: numbering committed events, reading them, pruning old ones."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, get_type_hints

import msgspec

from api.db.pool import Connection
from schemas.events import EVENT_CLASSES, Actor, Event

# Number the events whose transaction is older than this statement's snapshot xmin (every such
# transaction has ended: see migration 0013), oldest transaction first, after the last number.
SEQUENCE = """
WITH pending AS (
    SELECT id, row_number() OVER (ORDER BY txid, position) AS n FROM events
    WHERE sequence_id IS NULL AND txid < pg_snapshot_xmin(pg_current_snapshot())
    ORDER BY txid, position LIMIT $2
)
UPDATE events e SET sequence_id = $1 + pending.n FROM pending WHERE e.id = pending.id
"""


async def sequence_pending(conn: Connection, batch: int) -> int:
    """Number up to `batch` committed events; the count (0 also when another sequencer is at work).

    Runs in its own transaction: the counter row's lock serialises numbering, and each numbering
    commits before the next starts, so numbers become visible in increasing order."""
    async with conn.transaction():
        last: int | None = await conn.fetchval(
            "SELECT last_sequence FROM event_sequencer FOR UPDATE SKIP LOCKED"
        )
        if last is None:
            return 0
        status: str = await conn.execute(SEQUENCE, last, batch)
        count = int(status.split()[-1])
        if count:
            await conn.execute("UPDATE event_sequencer SET last_sequence = last_sequence + $1", count)
        return count


@dataclass(frozen=True, slots=True)
class Visibility:
    """What a caller may read: everything, or its networks' and its organisation's events."""

    everything: bool
    networks: Sequence[uuid.UUID]
    organisation_id: uuid.UUID | None


# jsonb as text, decoded here into the resource's Struct: numeric columns keep their digits.
COLUMNS = """sequence_id, id, type, occurred_at, resource_type, resource_id, resource::text AS resource,
             previous_values::text AS previous_values, actor_user_id, actor_organisation_id, actor_role,
             request_id"""

FEED = f"""
SELECT {COLUMNS} FROM events
WHERE sequence_id > $1
  AND ($2 OR network_id = ANY($3::uuid[]) OR ($4::uuid IS NOT NULL AND $4 = ANY(parties)))
  AND ($5::text[] IS NULL OR type = ANY($5)
       OR EXISTS (SELECT 1 FROM unnest($6::text[]) p WHERE starts_with(type, p)))
ORDER BY sequence_id LIMIT $7
"""


# Each resource type's event Struct and its resource's: the feed sends exactly the keys the schema
# has, so a column added to a table reaches the feed when its schema says so.
_CLASSES: dict[str, Any] = {str(c.__struct_config__.tag): c for c in EVENT_CLASSES}
_STATES: dict[str, Any] = {tag: get_type_hints(cls)["resource"] for tag, cls in _CLASSES.items()}
_KEYS: dict[str, frozenset[str]] = {tag: frozenset(s.__struct_fields__) for tag, s in _STATES.items()}


def _event(row: Any) -> Event:
    kind = row["resource_type"]
    keys = _KEYS[kind]
    previous: dict[str, Any] = msgspec.json.decode(row["previous_values"])
    event: Event = _CLASSES[kind](
        sequence_id=row["sequence_id"],
        id=row["id"],
        type=row["type"],
        occurred_at=row["occurred_at"],
        resource_id=row["resource_id"],
        resource=msgspec.json.decode(row["resource"], type=_STATES[kind]),
        previous_values={k: v for k, v in previous.items() if k in keys},
        actor=Actor(
            user_id=row["actor_user_id"],
            organisation_id=row["actor_organisation_id"],
            role=row["actor_role"],
        ),
        request_id=row["request_id"],
    )
    return event


async def feed(
    conn: Connection,
    after: int,
    visibility: Visibility,
    exact: Sequence[str] | None,
    prefixes: Sequence[str],
    limit: int,
) -> list[Event]:
    rows = await conn.fetch(
        FEED,
        after,
        visibility.everything,
        list(visibility.networks),
        visibility.organisation_id,
        None if exact is None else list(exact),
        list(prefixes),
        limit,
    )
    return [_event(r) for r in rows]


async def get(conn: Connection, event_id: uuid.UUID) -> Event | None:
    row = await conn.fetchrow(
        f"SELECT {COLUMNS} FROM events WHERE id = $1 AND sequence_id IS NOT NULL", event_id
    )
    return None if row is None else _event(row)


async def get_many(conn: Connection, event_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Event]:
    rows = await conn.fetch(
        f"SELECT {COLUMNS} FROM events WHERE id = ANY($1::uuid[]) AND sequence_id IS NOT NULL",
        list(event_ids),
    )
    return {r["id"]: _event(r) for r in rows}


async def insert(
    conn: Connection,
    *,
    type_: str,
    resource_type: str,
    resource_id: uuid.UUID,
    resource: dict[str, Any],
    network_id: uuid.UUID | None,
    parties: Sequence[uuid.UUID],
) -> uuid.UUID:
    """An event no `*_events` trigger writes (a webhook endpoint disabled by the worker)."""
    event_id: uuid.UUID = await conn.fetchval(
        """INSERT INTO events (type, resource_type, resource_id, resource, actor_role, network_id, parties)
           VALUES ($1, $2, $3, $4::text::jsonb, 'system', $5, $6) RETURNING id""",
        type_,
        resource_type,
        resource_id,
        msgspec.json.encode(resource).decode(),
        network_id,
        list(parties),
    )
    return event_id


async def prune(conn: Connection, before: datetime) -> int:
    """Delete numbered events older than `before` (deliveries of them go with them)."""
    status: str = await conn.execute(
        "DELETE FROM events WHERE occurred_at < $1 AND sequence_id IS NOT NULL", before
    )
    return int(status.split()[-1])
