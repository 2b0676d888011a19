"""SQL for synergies, their events, notes and linked exchanges."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from api.db.pool import Connection
from schemas.synergies import (
    Synergy,
    SynergyEvent,
    SynergyExchange,
    SynergyNote,
    SynergyOutcome,
    SynergyOutcomeCreate,
    SynergyStatus,
)

COLUMNS = """s.id, s.network_id, s.kind, s.status, s.category_id, s.organisation_ids, s.flow_ids,
    s.listing_ids, s.score::float8 AS score, s.explanation, s.abandon_reason, s.abandon_note, s.version,
    s.created_at, s.updated_at"""


_OUTCOME = """id, euros_saved_cents, km_saved, shared_jobs::float8 AS shared_jobs, note, declared_by,
    declared_for, declared_at"""


def to_synergy(row: Any) -> Synergy:
    return msgspec.convert(dict(row), Synergy)


async def get(conn: Connection, synergy_id: uuid.UUID, *, for_update: bool = False) -> Synergy | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM synergies s WHERE s.id = $1{lock}", synergy_id)
    return None if row is None else to_synergy(row)


async def details(conn: Connection, synergy: Synergy) -> Synergy:
    events = await conn.fetch(
        """SELECT action, from_status, to_status, actor_user_id, reason, note, created_at
           FROM synergy_events WHERE synergy_id = $1 ORDER BY id""",
        synergy.id,
    )
    notes = await conn.fetch(
        """SELECT id, organisation_id, author_user_id, body, created_at
           FROM synergy_notes WHERE synergy_id = $1 ORDER BY created_at, id""",
        synergy.id,
    )
    exchanges = await conn.fetch(
        """SELECT transfer_id, reservation_id, created_at FROM synergy_exchanges
           WHERE synergy_id = $1 ORDER BY created_at""",
        synergy.id,
    )
    outcomes = await conn.fetch(
        f"SELECT {_OUTCOME} FROM synergy_outcomes WHERE synergy_id = $1 ORDER BY declared_at, id", synergy.id
    )
    return msgspec.structs.replace(
        synergy,
        outcomes=[msgspec.convert(dict(r), SynergyOutcome) for r in outcomes],
        events=[msgspec.convert(dict(r), SynergyEvent) for r in events],
        notes=[msgspec.convert(dict(r), SynergyNote) for r in notes],
        exchanges=[msgspec.convert(dict(r), SynergyExchange) for r in exchanges],
    )


async def set_status(
    conn: Connection,
    synergy_id: uuid.UUID,
    status: SynergyStatus,
    *,
    abandon_reason: str | None = None,
    abandon_note: str | None = None,
) -> None:
    await conn.execute(
        """UPDATE synergies SET status = $2, abandon_reason = $3, abandon_note = $4,
               version = version + 1, updated_at = now() WHERE id = $1""",
        synergy_id,
        status,
        abandon_reason,
        abandon_note,
    )


async def insert_event(
    conn: Connection,
    synergy_id: uuid.UUID,
    action: str,
    from_status: SynergyStatus | None,
    to_status: SynergyStatus,
    actor_user_id: uuid.UUID | None,
    *,
    reason: str | None = None,
    note: str | None = None,
) -> None:
    await conn.execute(
        """INSERT INTO synergy_events
               (synergy_id, action, from_status, to_status, actor_user_id, reason, note)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        synergy_id,
        action,
        from_status,
        to_status,
        actor_user_id,
        reason,
        note,
    )


async def insert_note(
    conn: Connection, synergy_id: uuid.UUID, organisation_id: uuid.UUID | None, author: uuid.UUID, body: str
) -> SynergyNote:
    row = await conn.fetchrow(
        """INSERT INTO synergy_notes (synergy_id, organisation_id, author_user_id, body)
           VALUES ($1, $2, $3, $4) RETURNING id, organisation_id, author_user_id, body, created_at""",
        synergy_id,
        organisation_id,
        author,
        body,
    )
    assert row is not None  # INSERT ... RETURNING
    return msgspec.convert(dict(row), SynergyNote)


async def exchange_facts(
    conn: Connection, *, transfer_id: uuid.UUID | None, reservation_id: uuid.UUID | None
) -> tuple[uuid.UUID, str, bool] | None:
    """(network, status, already linked to a synergy) of a transfer or reservation, if it exists."""
    table, key = ("transfers", transfer_id) if transfer_id is not None else ("reservations", reservation_id)
    column = "transfer_id" if transfer_id is not None else "reservation_id"
    row = await conn.fetchrow(
        f"""SELECT t.network_id, t.status,
                   EXISTS (SELECT 1 FROM synergy_exchanges x WHERE x.{column} = t.id) AS linked
            FROM {table} t WHERE t.id = $1""",
        key,
    )
    return None if row is None else (row["network_id"], row["status"], row["linked"])


async def link_exchange(
    conn: Connection,
    synergy_id: uuid.UUID,
    *,
    transfer_id: uuid.UUID | None,
    reservation_id: uuid.UUID | None,
    created_by: uuid.UUID,
) -> bool:
    """Link an exchange; False when another synergy took it meanwhile (the unique constraint)."""
    status = await conn.execute(
        """INSERT INTO synergy_exchanges (synergy_id, transfer_id, reservation_id, created_by)
           VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING""",
        synergy_id,
        transfer_id,
        reservation_id,
        created_by,
    )
    return bool(status == "INSERT 0 1")


async def page(
    conn: Connection,
    *,
    network_id: uuid.UUID | None,
    organisation_id: uuid.UUID | None,
    status: SynergyStatus | None,
    kind: str | None,
    networks: frozenset[uuid.UUID] | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Synergy]:
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM synergies s
            WHERE ($1::uuid IS NULL OR s.network_id = $1)
              AND ($2::uuid IS NULL OR s.organisation_ids @> ARRAY[$2::uuid])
              AND ($3::text IS NULL OR s.status = $3)
              AND ($4::text IS NULL OR s.kind = $4)
              AND ($5::timestamptz IS NULL OR (s.created_at, s.id) < ($5, $6))
              AND ($8::uuid[] IS NULL OR s.network_id = ANY($8))
            ORDER BY s.created_at DESC, s.id DESC LIMIT $7""",
        network_id,
        organisation_id,
        status,
        kind,
        None if after is None else after[0],
        None if after is None else after[1],
        limit,
        None if networks is None else list(networks),
    )
    return [to_synergy(r) for r in rows]


async def insert_outcome(
    conn: Connection,
    synergy_id: uuid.UUID,
    data: SynergyOutcomeCreate,
    declared_by: uuid.UUID,
    declared_for: uuid.UUID | None,
) -> SynergyOutcome:
    row = await conn.fetchrow(
        f"""INSERT INTO synergy_outcomes
                (synergy_id, euros_saved_cents, km_saved, shared_jobs, note, declared_by, declared_for)
            VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {_OUTCOME}""",
        synergy_id,
        data.euros_saved_cents,
        data.km_saved,
        data.shared_jobs,
        data.note,
        declared_by,
        declared_for,
    )
    assert row is not None  # INSERT ... RETURNING
    return msgspec.convert(dict(row), SynergyOutcome)
