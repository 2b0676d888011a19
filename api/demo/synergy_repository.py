"""SQL of the demo's synergies: members by name, what detection proposed, and the exchanges that realise
the demo's substitutions (an offer given away, its completed transfer and its history)."""

from __future__ import annotations

import uuid
from decimal import Decimal

from api.db.pool import Connection

TRANSFER_STEPS = (
    ("request", None, "requested", "taker"),
    ("accept", "requested", "accepted", "giver"),
    ("schedule", "accepted", "scheduled", "giver"),
    ("ship", "scheduled", "in_transit", "giver"),
    ("receive", "in_transit", "received", "taker"),
    ("complete", "received", "completed", "taker"),
)


async def count_flows(conn: Connection, network_id: uuid.UUID) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM flows WHERE network_id = $1", network_id)
    return count


async def members(conn: Connection, network_id: uuid.UUID) -> dict[str, tuple[uuid.UUID, float, float]]:
    """Active members by name: (id, latitude, longitude) of their site."""
    rows = await conn.fetch(
        """SELECT o.name, o.id, o.latitude, o.longitude FROM organisations o
           JOIN memberships m ON m.organisation_id = o.id
           WHERE m.network_id = $1 AND m.status = 'active' AND o.latitude IS NOT NULL""",
        network_id,
    )
    return {r["name"]: (r["id"], r["latitude"], r["longitude"]) for r in rows}


async def zones(conn: Connection, network_id: uuid.UUID) -> dict[str, uuid.UUID]:
    """The network's zones by name."""
    rows = await conn.fetch("SELECT id, name FROM zones WHERE network_id = $1", network_id)
    return {r["name"]: r["id"] for r in rows}


async def default_units(conn: Connection, category_ids: list[str]) -> dict[str, str]:
    rows = await conn.fetch(
        "SELECT id, default_unit FROM categories WHERE id = ANY($1::text[])", category_ids
    )
    return {r["id"]: r["default_unit"] for r in rows}


async def flow_ids(conn: Connection, network_id: uuid.UUID) -> dict[tuple[uuid.UUID, str, str], uuid.UUID]:
    """(organisation, direction, category) -> flow id."""
    rows = await conn.fetch(
        "SELECT id, organisation_id, direction, category_id FROM flows WHERE network_id = $1", network_id
    )
    return {(r["organisation_id"], r["direction"], r["category_id"]): r["id"] for r in rows}


async def synergy_with_flows(
    conn: Connection, network_id: uuid.UUID, flows: list[uuid.UUID]
) -> uuid.UUID | None:
    found: uuid.UUID | None = await conn.fetchval(
        """SELECT id FROM synergies WHERE network_id = $1 AND flow_ids @> $2::uuid[]
           ORDER BY cardinality(flow_ids) LIMIT 1""",
        network_id,
        flows,
    )
    return found


async def synergy_by_inputs(conn: Connection, network_id: uuid.UUID, inputs_key: str) -> uuid.UUID | None:
    found: uuid.UUID | None = await conn.fetchval(
        "SELECT id FROM synergies WHERE network_id = $1 AND inputs_key = $2", network_id, inputs_key
    )
    return found


async def potential_ids(conn: Connection, network_id: uuid.UUID) -> list[uuid.UUID]:
    """Potential synergies, best score first."""
    rows = await conn.fetch(
        """SELECT id FROM synergies WHERE network_id = $1 AND status = 'potential'
           ORDER BY score DESC, kind, category_id, id""",
        network_id,
    )
    return [r["id"] for r in rows]


async def given_offer(
    conn: Connection,
    network_id: uuid.UUID,
    giver: uuid.UUID,
    category_id: str,
    waste_code: str | None,
    title: str,
    quantity: Decimal,
    unit: str,
    site: tuple[float, float],
) -> uuid.UUID:
    """An offer all of which was given away (archived, nothing left): what the transfer came from; in
    the giver's zone, as a listing created through the API would be."""
    listing_id: uuid.UUID = await conn.fetchval(
        """INSERT INTO listings (organisation_id, network_id, direction, category_id, nature, title, unit,
               quantity, available_quantity, price_kind, condition, waste_code, latitude, longitude, status,
               zone_id)
           SELECT $1, $2, 'offer', $3, 'material', $4, $5, $6, 0, 'free', 'used', $7, $8, $9, 'archived',
                  m.zone_id
           FROM memberships m WHERE m.network_id = $2 AND m.organisation_id = $1
           RETURNING id""",
        giver,
        network_id,
        category_id,
        title,
        unit,
        quantity,
        waste_code,
        site[0],
        site[1],
    )
    return listing_id


async def completed_transfer(
    conn: Connection,
    listing_id: uuid.UUID,
    taker: uuid.UUID,
    quantity: Decimal,
    distance_km: Decimal,
    replaced_site_km: Decimal,
    replaced_trips: int,
) -> uuid.UUID:
    """A transfer from the offer to `taker`, completed, with each step of its history."""
    transfer_id: uuid.UUID = await conn.fetchval(
        """INSERT INTO transfers (network_id, listing_id, giver_id, taker_id, initiated_by, category_id, unit,
               waste_code, hazardous, status, requested_quantity, agreed_quantity, received_quantity,
               scheduled_for, transport_mode, distance_km, replaced_site_km, replaced_trips)
           SELECT network_id, id, organisation_id, $2, 'taker', category_id, unit, waste_code, hazardous,
                  'completed', $3, $3, $3, now() - interval '20 days', 'road', $4, $5, $6
           FROM listings WHERE id = $1 RETURNING id""",
        listing_id,
        taker,
        quantity,
        distance_km,
        replaced_site_km,
        replaced_trips,
    )
    await conn.executemany(
        """INSERT INTO transfer_events (transfer_id, action, from_status, to_status, actor_role)
           VALUES ($1, $2, $3, $4, $5)""",
        [(transfer_id, *step) for step in TRANSFER_STEPS],
    )
    return transfer_id


async def person(conn: Connection, email: str) -> tuple[uuid.UUID, uuid.UUID]:
    """(user, the organisation they are admin or staff of) of a demo person."""
    row = await conn.fetchrow(
        """SELECT u.id, r.organisation_id FROM users u JOIN organisation_roles r ON r.user_id = u.id
           WHERE u.email = $1 ORDER BY r.organisation_id LIMIT 1""",
        email,
    )
    assert row is not None, email  # the loader created them
    return row["id"], row["organisation_id"]
