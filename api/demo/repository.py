"""SQL used only to load the demo network."""

from __future__ import annotations

import uuid

from api.db.pool import Connection
from api.demo.data import DemoOrganisation


async def upsert_organisation(conn: Connection, org: DemoOrganisation, siret: str) -> uuid.UUID:
    organisation_id: uuid.UUID = await conn.fetchval(
        """INSERT INTO organisations (name, siret, naf_code, legal_form, is_ess, description, city,
               postcode, latitude, longitude, address_line)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '')
           ON CONFLICT (siret) DO UPDATE SET name = EXCLUDED.name RETURNING id""",
        org.name,
        siret,
        org.naf_code,
        org.legal_form,
        org.is_ess,
        org.description,
        org.city,
        org.postcode,
        org.latitude,
        org.longitude,
    )
    return organisation_id


async def ensure_membership(
    conn: Connection, network_id: uuid.UUID, organisation_id: uuid.UUID, zone_id: uuid.UUID, status: str
) -> None:
    await conn.execute(
        """INSERT INTO memberships (network_id, organisation_id, zone_id, status, decided_at)
           VALUES ($1, $2, $3, $4, CASE WHEN $4 = 'active' THEN now() END)
           ON CONFLICT (network_id, organisation_id) DO NOTHING""",
        network_id,
        organisation_id,
        zone_id,
        status,
    )


async def count_listings(conn: Connection, network_id: uuid.UUID) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM listings WHERE network_id = $1", network_id)
    return count


async def sites(conn: Connection, network_id: uuid.UUID) -> dict[uuid.UUID, tuple[float, float]]:
    """Sites of the network's active members that have coordinates."""
    rows = await conn.fetch(
        """SELECT o.id, o.latitude, o.longitude FROM organisations o
           JOIN memberships m ON m.organisation_id = o.id AND m.network_id = $1 AND m.status = 'active'
           WHERE o.latitude IS NOT NULL""",
        network_id,
    )
    return {r["id"]: (r["latitude"], r["longitude"]) for r in rows}
