"""SQL for listings, their events and the reference data their rules need."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

import msgspec

from api.db.pool import Connection
from api.listings.rules import CategoryRef, Draft, References
from schemas.listings import Listing, ListingStatus
from schemas.memberships import MembershipStatus

COLUMNS = """l.id, l.organisation_id, l.network_id, l.zone_id, l.direction, l.category_id, l.nature, l.title,
    l.description, l.unit, l.quantity, l.available_quantity, l.capacity, l.capacity_period, l.price_kind,
    l.price_cents, l.currency, l.condition, l.waste_code, l.hazardous, l.latitude, l.longitude,
    l.available_from, l.available_until, l.photos, l.visibility, l.status, l.version, l.created_at,
    l.updated_at, l.published_at, l.response_time_hours, l.min_reservation_hours, l.max_reservation_hours,
    l.cancellation_policy"""

# Who may read a listing; $1 the acting organisation, $2 the networks the caller operates,
# $3 whether the caller is a platform administrator. Its own organisation sees every listing;
# operators all but drafts; others what is published, unexpired, from an active member, and
# either public or in a network where the caller's organisation is an active member.
VISIBLE = """(
    l.organisation_id = $1
    OR (($3 OR l.network_id = ANY($2::uuid[])) AND l.status <> 'draft')
    OR (l.status = 'published'
        AND (l.available_until IS NULL OR l.available_until > now())
        AND EXISTS (SELECT 1 FROM memberships m WHERE m.network_id = l.network_id
                    AND m.organisation_id = l.organisation_id AND m.status = 'active')
        AND (l.visibility = 'public'
             OR EXISTS (SELECT 1 FROM memberships m WHERE m.network_id = l.network_id
                        AND m.organisation_id = $1 AND m.status = 'active')))
)"""

# `VISIBLE` for one listing: the memberships looked up by their unique (network, organisation)
# rather than as `EXISTS`, which PostgreSQL runs as a hash of every active membership built on
# each execution (a sequential scan of the table for one row: most of a read's database time).
VISIBLE_ROW = """(
    l.organisation_id = $1
    OR (($3 OR l.network_id = ANY($2::uuid[])) AND l.status <> 'draft')
    OR (l.status = 'published'
        AND (l.available_until IS NULL OR l.available_until > now())
        AND (SELECT m.status FROM memberships m WHERE m.network_id = l.network_id
             AND m.organisation_id = l.organisation_id) = 'active'
        AND (l.visibility = 'public'
             OR (SELECT m.status FROM memberships m WHERE m.network_id = l.network_id
                 AND m.organisation_id = $1) = 'active'))
)"""
_GET_VISIBLE = f"SELECT {COLUMNS} FROM listings l WHERE l.id = $4 AND {VISIBLE_ROW}"

_DRAFT_FIELDS = tuple(Draft.__struct_fields__)


def _value(name: str) -> str:
    """The placeholder of a draft field; a listing given no zone takes its member's zone in the network."""
    index = _DRAFT_FIELDS.index(name) + 1
    if name != "zone_id":
        return f"${index}"
    network, organisation = _DRAFT_FIELDS.index("network_id") + 1, _DRAFT_FIELDS.index("organisation_id") + 1
    return f"""COALESCE(${index}, (SELECT m.zone_id FROM memberships m
        WHERE m.network_id = ${network} AND m.organisation_id = ${organisation}))"""


_VALUES = ", ".join(_value(name) for name in _DRAFT_FIELDS)
_INSERT = f"""INSERT INTO listings ({", ".join(_DRAFT_FIELDS)}, created_by, import_id)
    VALUES ({_VALUES}, ${len(_DRAFT_FIELDS) + 1}, ${len(_DRAFT_FIELDS) + 2})"""


def to_listing(row: Any) -> Listing:
    return msgspec.convert(dict(row), Listing)


async def load_references(
    conn: Connection, network_id: uuid.UUID, category_ids: Sequence[str], waste_codes: Sequence[str]
) -> References:
    categories = await conn.fetch(
        "SELECT id, nature, allowed_units FROM categories WHERE id = ANY($1::text[])", list(category_ids)
    )
    codes = await conn.fetch(
        "SELECT code, hazardous FROM waste_codes WHERE code = ANY($1::text[])", list(waste_codes)
    )
    zones = await conn.fetch("SELECT id FROM zones WHERE network_id = $1", network_id)
    return References(
        categories={
            r["id"]: CategoryRef(r["id"], r["nature"], tuple(r["allowed_units"])) for r in categories
        },
        waste_codes={r["code"]: r["hazardous"] for r in codes},
        zones={r["id"] for r in zones},
    )


async def organisation_site(
    conn: Connection, organisation_id: uuid.UUID
) -> tuple[float | None, float | None]:
    row = await conn.fetchrow("SELECT latitude, longitude FROM organisations WHERE id = $1", organisation_id)
    return (row["latitude"], row["longitude"]) if row else (None, None)


async def membership_status(
    conn: Connection, network_id: uuid.UUID, organisation_id: uuid.UUID
) -> MembershipStatus | None:
    status: MembershipStatus | None = await conn.fetchval(
        "SELECT status FROM memberships WHERE network_id = $1 AND organisation_id = $2",
        network_id,
        organisation_id,
    )
    return status


async def insert(conn: Connection, draft: Draft, created_by: uuid.UUID) -> Listing:
    values = [getattr(draft, name) for name in _DRAFT_FIELDS]
    row = await conn.fetchrow(f"{_INSERT} RETURNING {COLUMNS.replace('l.', '')}", *values, created_by, None)
    return to_listing(row)


async def insert_with_status(
    conn: Connection, rows: Sequence[tuple[Draft, ListingStatus]], created_by: uuid.UUID | None
) -> None:
    """Insert drafts already checked, each in the status given (demo data)."""
    columns = ", ".join(_DRAFT_FIELDS)
    at = len(_DRAFT_FIELDS)
    await conn.executemany(
        f"""INSERT INTO listings ({columns}, status, created_by, published_at)
            VALUES ({_VALUES}, ${at + 1}, ${at + 2}, CASE WHEN ${at + 1} = 'published' THEN now() END)""",
        [(*(getattr(d, n) for n in _DRAFT_FIELDS), status, created_by) for d, status in rows],
    )


async def get(conn: Connection, listing_id: uuid.UUID, *, for_update: bool = False) -> Listing | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM listings l WHERE l.id = $1{lock}", listing_id)
    return None if row is None else to_listing(row)


async def get_visible(
    conn: Connection,
    listing_id: uuid.UUID,
    acting_organisation: uuid.UUID | None,
    operated: Sequence[uuid.UUID],
    platform_admin: bool,
) -> Listing | None:
    row = await conn.fetchrow(
        _GET_VISIBLE,
        acting_organisation,
        list(operated),
        platform_admin,
        listing_id,
    )
    return None if row is None else to_listing(row)


async def update(conn: Connection, listing_id: uuid.UUID, draft: Draft) -> Listing:
    assignments = ", ".join(f"{name} = ${i}" for i, name in enumerate(_DRAFT_FIELDS, start=2))
    row = await conn.fetchrow(
        f"""UPDATE listings l SET {assignments}, version = version + 1, updated_at = now()
            WHERE id = $1 RETURNING {COLUMNS}""",
        listing_id,
        *(getattr(draft, name) for name in _DRAFT_FIELDS),
    )
    return to_listing(row)


async def set_status(conn: Connection, listing_id: uuid.UUID, status: ListingStatus) -> Listing:
    row = await conn.fetchrow(
        f"""UPDATE listings l SET status = $2, version = version + 1, updated_at = now(),
                published_at = CASE WHEN $2 = 'published' THEN now() ELSE published_at END
            WHERE id = $1 RETURNING {COLUMNS}""",
        listing_id,
        status,
    )
    return to_listing(row)


async def insert_event(
    conn: Connection,
    listing_id: uuid.UUID,
    action: str,
    from_status: str | None,
    to_status: str,
    actor_user_id: uuid.UUID | None,
) -> None:
    await conn.execute(
        """INSERT INTO listing_events (listing_id, action, from_status, to_status, actor_user_id)
           VALUES ($1, $2, $3, $4, $5)""",
        listing_id,
        action,
        from_status,
        to_status,
        actor_user_id,
    )


async def expire_due(conn: Connection) -> list[tuple[uuid.UUID, ListingStatus]]:
    """Expire published and paused listings whose availability has ended; return (id, old status).

    SKIP LOCKED lets two sweeps run at once without waiting on, or expiring, the same rows twice."""
    rows = await conn.fetch(
        """WITH due AS (
               SELECT id, status FROM listings
               WHERE status IN ('published', 'paused') AND available_until <= now()
               FOR UPDATE SKIP LOCKED
           )
           UPDATE listings l SET status = 'expired', version = l.version + 1, updated_at = now()
           FROM due WHERE l.id = due.id RETURNING l.id, due.status AS old_status"""
    )
    return [(r["id"], r["old_status"]) for r in rows]


async def search_page(
    conn: Connection,
    *,
    acting_organisation: uuid.UUID | None,
    operated: Sequence[uuid.UUID],
    platform_admin: bool,
    filters: dict[str, Any],
    after: tuple[Any, uuid.UUID] | None,
    limit: int,
) -> list[Listing]:
    """Visible listings matching `filters`, newest first, keyset-paginated on (created_at, id)."""
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM listings l
            WHERE {VISIBLE}
              AND ($4::uuid IS NULL OR l.network_id = $4)
              AND ($5::uuid IS NULL OR l.organisation_id = $5)
              AND ($6::text IS NULL OR l.direction = $6)
              AND ($7::text IS NULL OR l.nature = $7)
              AND ($8::text IS NULL OR l.category_id = $8 OR starts_with(l.category_id, $8 || '.'))
              AND ($9::text IS NULL OR l.status = $9)
              AND ($10::timestamptz IS NULL OR (l.created_at, l.id) < ($10, $11::uuid))
            ORDER BY l.created_at DESC, l.id DESC
            LIMIT $12""",
        acting_organisation,
        list(operated),
        platform_admin,
        filters.get("network_id"),
        filters.get("organisation_id"),
        filters.get("direction"),
        filters.get("nature"),
        filters.get("category_id"),
        filters.get("status"),
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [to_listing(r) for r in rows]
