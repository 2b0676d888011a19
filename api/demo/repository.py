"""SQL used only to load the demo network."""

from __future__ import annotations

import uuid
from datetime import datetime

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


async def titles(conn: Connection, network_id: uuid.UUID) -> set[tuple[uuid.UUID, str]]:
    """(organisation, title) of the network's listings."""
    rows = await conn.fetch("SELECT organisation_id, title FROM listings WHERE network_id = $1", network_id)
    return {(r["organisation_id"], r["title"]) for r in rows}


async def sites(conn: Connection, network_id: uuid.UUID) -> dict[uuid.UUID, tuple[float, float]]:
    """Sites of the network's active members that have coordinates."""
    rows = await conn.fetch(
        """SELECT o.id, o.latitude, o.longitude FROM organisations o
           JOIN memberships m ON m.organisation_id = o.id AND m.network_id = $1 AND m.status = 'active'
           WHERE o.latitude IS NOT NULL""",
        network_id,
    )
    return {r["id"]: (r["latitude"], r["longitude"]) for r in rows}


async def count_reservations(conn: Connection, network_id: uuid.UUID) -> int:
    count: int = await conn.fetchval("SELECT count(*) FROM reservations WHERE network_id = $1", network_id)
    return count


async def service_offers(
    conn: Connection, network_id: uuid.UUID, limit: int
) -> list[tuple[uuid.UUID, uuid.UUID, bool]]:
    """(listing, provider, priced) of published service offers, in a stable order."""
    rows = await conn.fetch(
        """SELECT id, organisation_id, price_kind <> 'free' AS priced FROM listings
           WHERE network_id = $1 AND nature = 'service' AND direction = 'offer' AND status = 'published'
           ORDER BY title, id LIMIT $2""",
        network_id,
        limit,
    )
    return [(r["id"], r["organisation_id"], r["priced"]) for r in rows]


async def insert_reservation(
    conn: Connection,
    listing_id: uuid.UUID,
    requester_id: uuid.UUID,
    start: datetime,
    end: datetime,
    steps: list[tuple[str, str | None, str, str]],
) -> None:
    """A reservation of 1 unit of the listing's capacity, taken through `steps` (action, from, to, role)."""
    status = steps[-1][2]
    reservation_id = await conn.fetchval(
        """INSERT INTO reservations (network_id, listing_id, provider_id, requester_id, status, period,
               quantity, unit, price_kind, message, expires_at, whole)
           SELECT network_id, id, organisation_id, $2, $3, tstzrange($4, $5, '[)'), 1, unit, price_kind,
                  'Réservation de démonstration',
                  CASE WHEN $3 IN ('requested', 'accepted', 'awaiting_payment')
                       THEN least(now() + make_interval(hours => response_time_hours), $4) END,
                  capacity <= 1
           FROM listings WHERE id = $1 RETURNING id""",
        listing_id,
        requester_id,
        status,
        start,
        end,
    )
    await conn.executemany(
        """INSERT INTO reservation_events (reservation_id, action, from_status, to_status, actor_role)
           VALUES ($1, $2, $3, $4, $5)""",
        [(reservation_id, *step) for step in steps],
    )
