"""SQL for networks, zones and operators."""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from api.db.pool import Connection
from schemas.networks import Network, NetworkCreate, Zone, ZoneCreate

_NETWORK_COLUMNS = "id, slug, name, description, latitude, longitude, version, created_at, updated_at"
_ZONE_COLUMNS = "id, network_id, name, kind, latitude, longitude, radius_km::float8 AS radius_km, created_at"


async def list_networks(conn: Connection, *, after_slug: str | None, limit: int) -> list[Network]:
    rows = await conn.fetch(
        f"""SELECT {_NETWORK_COLUMNS} FROM networks
            WHERE ($1::text IS NULL OR slug > $1) ORDER BY slug LIMIT $2""",
        after_slug,
        limit,
    )
    return [msgspec.convert(dict(r), Network) for r in rows]


async def get_network(conn: Connection, network_id: uuid.UUID, *, for_update: bool = False) -> Network | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {_NETWORK_COLUMNS} FROM networks WHERE id = $1{lock}", network_id)
    return None if row is None else msgspec.convert(dict(row), Network)


async def insert_network(conn: Connection, data: NetworkCreate) -> Network | None:
    """The new network, or None when the slug is taken."""
    row = await conn.fetchrow(
        f"""INSERT INTO networks (slug, name, description, latitude, longitude)
            VALUES ($1, $2, $3, $4, $5) ON CONFLICT (slug) DO NOTHING RETURNING {_NETWORK_COLUMNS}""",
        data.slug,
        data.name,
        data.description,
        data.latitude,
        data.longitude,
    )
    return None if row is None else msgspec.convert(dict(row), Network)


async def update_network(conn: Connection, network_id: uuid.UUID, changes: dict[str, Any]) -> Network:
    row = await conn.fetchrow(
        f"""UPDATE networks SET
                name = COALESCE($2, name),
                description = COALESCE($3, description),
                latitude = COALESCE($4, latitude),
                longitude = COALESCE($5, longitude),
                version = version + 1,
                updated_at = now()
            WHERE id = $1 RETURNING {_NETWORK_COLUMNS}""",
        network_id,
        changes.get("name"),
        changes.get("description"),
        changes.get("latitude"),
        changes.get("longitude"),
    )
    assert row is not None
    return msgspec.convert(dict(row), Network)


async def list_zones(
    conn: Connection, network_id: uuid.UUID, *, after_name: str | None, limit: int
) -> list[Zone]:
    rows = await conn.fetch(
        f"""SELECT {_ZONE_COLUMNS} FROM zones
            WHERE network_id = $1 AND ($2::text IS NULL OR name > $2) ORDER BY name LIMIT $3""",
        network_id,
        after_name,
        limit,
    )
    return [msgspec.convert(dict(r), Zone) for r in rows]


async def get_zone(conn: Connection, network_id: uuid.UUID, zone_id: uuid.UUID) -> Zone | None:
    row = await conn.fetchrow(
        f"SELECT {_ZONE_COLUMNS} FROM zones WHERE network_id = $1 AND id = $2", network_id, zone_id
    )
    return None if row is None else msgspec.convert(dict(row), Zone)


async def insert_zone(conn: Connection, network_id: uuid.UUID, data: ZoneCreate) -> Zone | None:
    """The new zone, or None when the network already has a zone of that name."""
    row = await conn.fetchrow(
        f"""INSERT INTO zones (network_id, name, kind, latitude, longitude, radius_km)
            VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (network_id, name) DO NOTHING
            RETURNING {_ZONE_COLUMNS}""",
        network_id,
        data.name,
        data.kind,
        data.latitude,
        data.longitude,
        data.radius_km,
    )
    return None if row is None else msgspec.convert(dict(row), Zone)


async def user_exists(conn: Connection, user_id: uuid.UUID) -> bool:
    return bool(await conn.fetchval("SELECT EXISTS (SELECT 1 FROM users WHERE id = $1)", user_id))


async def add_operator(conn: Connection, network_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO network_operators (network_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        network_id,
        user_id,
    )
