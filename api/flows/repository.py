"""SQL for flows."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import msgspec

from api.db.pool import Connection
from schemas.flows import Flow
from schemas.memberships import MembershipStatus

COLUMNS = """id, network_id, organisation_id, direction, category_id, waste_code, description, quantity,
    unit, period, latitude, longitude, months::int[] AS months, destination, destination_cost_cents,
    visibility, version, created_at, updated_at"""
FIELDS = (
    "direction",
    "category_id",
    "waste_code",
    "description",
    "quantity",
    "unit",
    "period",
    "latitude",
    "longitude",
    "months",
    "destination",
    "destination_cost_cents",
    "visibility",
)


def to_flow(row: Any) -> Flow:
    return msgspec.convert(dict(row), Flow)


async def membership_status(
    conn: Connection, network_id: uuid.UUID, organisation_id: uuid.UUID
) -> MembershipStatus | None:
    status: MembershipStatus | None = await conn.fetchval(
        "SELECT status FROM memberships WHERE network_id = $1 AND organisation_id = $2",
        network_id,
        organisation_id,
    )
    return status


async def member_of(conn: Connection, organisation_id: uuid.UUID) -> frozenset[uuid.UUID]:
    rows = await conn.fetch(
        "SELECT network_id FROM memberships WHERE organisation_id = $1 AND status <> 'rejected'",
        organisation_id,
    )
    return frozenset(r["network_id"] for r in rows)


async def allowed_units(conn: Connection, category_ids: Sequence[str]) -> dict[str, list[str]]:
    """Each existing category's allowed units, among `category_ids`."""
    rows = await conn.fetch(
        "SELECT id, allowed_units FROM categories WHERE id = ANY($1::text[])", list(category_ids)
    )
    return {r["id"]: r["allowed_units"] for r in rows}


async def known_waste_codes(conn: Connection, codes: Sequence[str]) -> set[str]:
    rows = await conn.fetch("SELECT code FROM waste_codes WHERE code = ANY($1::text[])", list(codes))
    return {r["code"] for r in rows}


async def organisation_site(
    conn: Connection, organisation_id: uuid.UUID
) -> tuple[str | None, float | None, float | None]:
    """(SIRET, latitude, longitude) of an organisation."""
    row = await conn.fetchrow(
        "SELECT siret, latitude, longitude FROM organisations WHERE id = $1", organisation_id
    )
    return (None, None, None) if row is None else (row["siret"], row["latitude"], row["longitude"])


async def copy_flows(
    conn: Connection,
    flows: Sequence[tuple[uuid.UUID, dict[str, Any]]],
    network_id: uuid.UUID,
    created_by: uuid.UUID,
) -> None:
    """Write imported flows, (organisation, values) each, in one COPY."""
    await conn.copy_records_to_table(
        "flows",
        records=[
            (network_id, organisation_id, created_by, *(values[name] for name in FIELDS))
            for organisation_id, values in flows
        ],
        columns=("network_id", "organisation_id", "created_by", *FIELDS),
    )


async def insert(
    conn: Connection,
    network_id: uuid.UUID,
    organisation_id: uuid.UUID,
    values: dict[str, Any],
    created_by: uuid.UUID,
) -> Flow:
    names = ", ".join(FIELDS)
    params = ", ".join(f"${i}" for i in range(4, 4 + len(FIELDS)))
    row = await conn.fetchrow(
        f"""INSERT INTO flows (network_id, organisation_id, created_by, {names})
            VALUES ($1, $2, $3, {params}) RETURNING {COLUMNS}""",
        network_id,
        organisation_id,
        created_by,
        *(values[name] for name in FIELDS),
    )
    return to_flow(row)


async def get(conn: Connection, flow_id: uuid.UUID, *, for_update: bool = False) -> Flow | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM flows WHERE id = $1{lock}", flow_id)
    return None if row is None else to_flow(row)


async def update(conn: Connection, flow_id: uuid.UUID, values: dict[str, Any]) -> Flow:
    sets = ", ".join(f"{name} = ${i}" for i, name in enumerate(FIELDS, start=2))
    row = await conn.fetchrow(
        f"""UPDATE flows SET {sets}, version = version + 1, updated_at = now()
            WHERE id = $1 RETURNING {COLUMNS}""",
        flow_id,
        *(values[name] for name in FIELDS),
    )
    return to_flow(row)


async def delete(conn: Connection, flow_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM flows WHERE id = $1", flow_id)


async def page(
    conn: Connection,
    *,
    network_id: uuid.UUID | None,
    organisation_id: uuid.UUID | None,
    networks: frozenset[uuid.UUID] | None,
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Flow]:
    """Newest first; `networks` (when not None) keeps only the flows in those networks."""
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM flows
            WHERE ($1::uuid IS NULL OR network_id = $1)
              AND ($2::uuid IS NULL OR organisation_id = $2)
              AND ($3::uuid[] IS NULL OR network_id = ANY($3))
              AND ($4::timestamptz IS NULL OR (created_at, id) < ($4, $5))
            ORDER BY created_at DESC, id DESC LIMIT $6""",
        network_id,
        organisation_id,
        None if networks is None else list(networks),
        None if after is None else after[0],
        None if after is None else after[1],
        limit,
    )
    return [to_flow(r) for r in rows]
