"""SQL for transfers, their events, their impact, and the idempotency keys of their creation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec

from api.db.pool import Connection
from api.payments.pricing import TransferTerms
from api.transfers.impact import CategoryFactors, Figures
from schemas.impact import ImpactRow, TransferImpact
from schemas.memberships import MembershipStatus
from schemas.payments import PriceBreakdown
from schemas.transfers import Transfer, TransferEvent, TransferStatus

COLUMNS = """t.id, t.network_id, t.listing_id, t.need_listing_id, t.giver_id, t.taker_id, t.initiated_by,
    t.category_id, t.unit, t.waste_code, t.hazardous, t.status, t.requested_quantity, t.agreed_quantity,
    t.received_quantity, t.refused_quantity, t.refusal_reason, t.message, t.scheduled_for,
    t.transport_mode, t.vehicle_type, t.distance_km, t.carrier, t.tracking_form_ref, t.replaced_site_km,
    t.replaced_trips, t.reason, t.version, t.created_at, t.updated_at, t.amount_cents, t.fee_cents,
    t.currency, t.unit_price_cents, t.payment_failure, t.payment_due_at,
    (SELECT p.dispute_status FROM payment_intents p WHERE p.transfer_id = t.id AND p.status <> 'canceled')
        AS payment_dispute"""

IMPACT_COLUMNS = """quantity, unit, kg_per_unit, mass_kg, co2e_kg_per_kg, factor_source, co2e_avoided_kg,
    km_saved, trips_saved, completed_at"""

# Who may read a transfer: $1 the acting organisation, $2 the networks the caller operates,
# $3 whether the caller is a platform administrator.
VISIBLE = "(t.giver_id = $1 OR t.taker_id = $1 OR t.network_id = ANY($2::uuid[]) OR $3)"

# Settable by actions; the service decides which action may set which.
PLAN_FIELDS = (
    "scheduled_for",
    "transport_mode",
    "vehicle_type",
    "distance_km",
    "carrier",
    "tracking_form_ref",
    "replaced_site_km",
    "replaced_trips",
)


def _transfer(row: Any) -> Transfer:
    values = dict(row)
    amount, fee, currency = values.pop("amount_cents"), values.pop("fee_cents"), values.pop("currency")
    if amount is not None:
        values["price"] = PriceBreakdown(
            amount_cents=amount, fee_cents=fee, provider_share_cents=amount - fee, currency=currency
        )
    return msgspec.convert(values, Transfer)


async def get(conn: Connection, transfer_id: uuid.UUID, *, for_update: bool = False) -> Transfer | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM transfers t WHERE t.id = $1{lock}", transfer_id)
    return None if row is None else _transfer(row)


async def membership_status(
    conn: Connection, network_id: uuid.UUID, organisation_id: uuid.UUID | None
) -> MembershipStatus | None:
    status: MembershipStatus | None = await conn.fetchval(
        "SELECT status FROM memberships WHERE network_id = $1 AND organisation_id = $2",
        network_id,
        organisation_id,
    )
    return status


async def insert(
    conn: Connection,
    *,
    offer: Any,
    need_listing_id: uuid.UUID | None,
    giver_id: uuid.UUID,
    taker_id: uuid.UUID,
    initiated_by: str,
    quantity: Decimal,
    message: str,
    created_by: uuid.UUID,
    terms: TransferTerms | None = None,
) -> Transfer:
    """A requested transfer; a priced one with its terms and their price for the quantity asked."""
    price = None if terms is None else terms.price(quantity)
    row = await conn.fetchrow(
        f"""INSERT INTO transfers AS t (network_id, listing_id, need_listing_id, giver_id, taker_id,
                initiated_by, category_id, unit, waste_code, hazardous, status, requested_quantity, message,
                created_by, price_kind, unit_price_cents, currency, fee_basis_points, fee_fixed_cents,
                amount_cents, fee_cents)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'requested', $11, $12, $13, $14, $15, $16, $17,
                    $18, $19, $20)
            RETURNING {COLUMNS}""",
        offer.network_id,
        offer.id,
        need_listing_id,
        giver_id,
        taker_id,
        initiated_by,
        offer.category_id,
        offer.unit,
        offer.waste_code,
        offer.hazardous,
        quantity,
        message,
        created_by,
        None if terms is None else terms.price_kind,
        None if terms is None else terms.unit_price_cents,
        None if terms is None else terms.currency,
        None if terms is None else terms.basis_points,
        None if terms is None else terms.fixed_cents,
        None if price is None else price.amount_cents,
        None if price is None else price.fee_cents,
    )
    return _transfer(row)


async def terms(conn: Connection, transfer_id: uuid.UUID) -> TransferTerms | None:
    """The price terms copied onto a priced transfer at request; None for a free one."""
    row = await conn.fetchrow(
        """SELECT price_kind, unit_price_cents, currency, fee_basis_points AS basis_points,
                  fee_fixed_cents AS fixed_cents
           FROM transfers WHERE id = $1 AND price_kind IS NOT NULL""",
        transfer_id,
    )
    return None if row is None else TransferTerms(**dict(row))


async def update(
    conn: Connection, transfer_id: uuid.UUID, status: TransferStatus, fields: dict[str, Any]
) -> None:
    """Set the status and the given columns (names from this module's fixed lists only)."""
    names = list(fields)
    assignments = "".join(f", {name} = ${i}" for i, name in enumerate(names, start=3))
    await conn.execute(
        f"""UPDATE transfers SET status = $2{assignments}, version = version + 1, updated_at = now()
            WHERE id = $1""",
        transfer_id,
        status,
        *(fields[name] for name in names),
    )


async def payment_deadline(conn: Connection, hours: int) -> datetime:
    """The deadline of a payment asked for now: `hours` after this transaction's clock."""
    due: datetime = await conn.fetchval("SELECT now() + make_interval(hours => $1)", hours)
    return due


async def lock_unpaid_past_deadline(conn: Connection, limit: int) -> list[Transfer]:
    """Transfers awaiting payment past their deadline, locked; those another transaction holds (a
    payment being applied, a party cancelling, another sweep) are skipped, not waited for."""
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM transfers t
            WHERE t.status = 'awaiting_payment' AND t.payment_due_at <= now()
            ORDER BY t.payment_due_at LIMIT $1 FOR UPDATE SKIP LOCKED""",
        limit,
    )
    return [_transfer(r) for r in rows]


async def take_stock(conn: Connection, listing_id: uuid.UUID, quantity: Decimal) -> Decimal | None:
    """Take `quantity` from a published offer's available quantity; None when it cannot be taken.

    One statement: under READ COMMITTED a concurrent taker waits for the row, then the WHERE is
    checked again against the committed value, so the stock never goes below zero."""
    left: Decimal | None = await conn.fetchval(
        """UPDATE listings SET available_quantity = available_quantity - $2, version = version + 1,
               updated_at = now()
           WHERE id = $1 AND status = 'published' AND available_quantity >= $2
           RETURNING available_quantity""",
        listing_id,
        quantity,
    )
    return left


async def return_stock(conn: Connection, listing_id: uuid.UUID, quantity: Decimal) -> Decimal:
    left: Decimal = await conn.fetchval(
        """UPDATE listings SET available_quantity = available_quantity + $2, version = version + 1,
               updated_at = now()
           WHERE id = $1 RETURNING available_quantity""",
        listing_id,
        quantity,
    )
    return left


async def stock(conn: Connection, listing_id: uuid.UUID) -> tuple[str, Decimal | None]:
    """An offer's status and available quantity."""
    row = await conn.fetchrow("SELECT status, available_quantity FROM listings WHERE id = $1", listing_id)
    assert row is not None  # a transfer's offer is a foreign key
    return row["status"], row["available_quantity"]


async def distance_km(conn: Connection, transfer_id: uuid.UUID) -> Decimal | None:
    """Great-circle distance between the offer's point and the taker's site (the need's point when
    the transfer answers a need), with earthdistance; None when the taker has no site."""
    value: Decimal | None = await conn.fetchval(
        """SELECT round((earth_distance(ll_to_earth(o.latitude, o.longitude),
                                        ll_to_earth(coalesce(n.latitude, tk.latitude),
                                                    coalesce(n.longitude, tk.longitude))) / 1000)::numeric, 2)
           FROM transfers t
           JOIN listings o ON o.id = t.listing_id
           JOIN organisations tk ON tk.id = t.taker_id
           LEFT JOIN listings n ON n.id = t.need_listing_id
           WHERE t.id = $1""",
        transfer_id,
    )
    return value


async def insert_event(
    conn: Connection,
    transfer_id: uuid.UUID,
    action: str,
    from_status: str | None,
    to_status: str,
    actor_user_id: uuid.UUID | None,
    actor_role: str,
    reason: str | None,
) -> None:
    await conn.execute(
        """INSERT INTO transfer_events (transfer_id, action, from_status, to_status, actor_user_id,
               actor_role, reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        transfer_id,
        action,
        from_status,
        to_status,
        actor_user_id,
        actor_role,
        reason,
    )


async def events(conn: Connection, transfer_id: uuid.UUID) -> list[TransferEvent]:
    rows = await conn.fetch(
        """SELECT action, from_status, to_status, actor_user_id, actor_role, reason, created_at
           FROM transfer_events WHERE transfer_id = $1 ORDER BY id""",
        transfer_id,
    )
    return [msgspec.convert(dict(r), TransferEvent) for r in rows]


async def category_factors(conn: Connection, category_id: str) -> CategoryFactors:
    row = await conn.fetchrow(
        """SELECT kg_per_unit::text AS kg_per_unit, co2e_kg_per_kg, factor_source
           FROM categories WHERE id = $1""",
        category_id,
    )
    assert row is not None, category_id  # a transfer's category is a foreign key
    # Read as text and decoded here, so numbers keep their decimal spelling on any connection.
    per_unit = msgspec.json.decode(row["kg_per_unit"].encode(), type=dict[str, Decimal])
    return CategoryFactors(per_unit, row["co2e_kg_per_kg"], row["factor_source"])


async def insert_impact(conn: Connection, transfer: Transfer, figures: Figures) -> bool:
    """Record a transfer's impact; False when it was already counted (the primary key says so)."""
    inserted = await conn.fetchval(
        """INSERT INTO transfer_impacts (transfer_id, network_id, zone_id, giver_id, taker_id, category_id,
               quantity, unit, kg_per_unit, mass_kg, co2e_kg_per_kg, factor_source, co2e_avoided_kg, km_saved,
               trips_saved)
           SELECT $1, $2, coalesce(l.zone_id, m.zone_id), $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14
           FROM listings l
           LEFT JOIN memberships m ON m.network_id = l.network_id AND m.organisation_id = l.organisation_id
           WHERE l.id = $15
           ON CONFLICT (transfer_id) DO NOTHING RETURNING true""",
        transfer.id,
        transfer.network_id,
        transfer.giver_id,
        transfer.taker_id,
        transfer.category_id,
        figures.quantity,
        figures.unit,
        figures.kg_per_unit,
        figures.mass_kg,
        figures.co2e_kg_per_kg,
        figures.factor_source,
        figures.co2e_avoided_kg,
        figures.km_saved,
        figures.trips_saved,
        transfer.listing_id,
    )
    return bool(inserted)


async def impacts(conn: Connection, transfer_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, TransferImpact]:
    rows = await conn.fetch(
        f"SELECT transfer_id, {IMPACT_COLUMNS} FROM transfer_impacts WHERE transfer_id = ANY($1::uuid[])",
        list(transfer_ids),
    )
    return {r["transfer_id"]: msgspec.convert(dict(r), TransferImpact) for r in rows}


async def search_page(
    conn: Connection,
    *,
    acting_organisation: uuid.UUID | None,
    operated: Sequence[uuid.UUID],
    platform_admin: bool,
    filters: dict[str, Any],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Transfer]:
    """Visible transfers matching `filters`, newest first, keyset-paginated on (created_at, id)."""
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM transfers t
            WHERE {VISIBLE}
              AND ($4::uuid IS NULL OR t.network_id = $4)
              AND ($5::uuid IS NULL OR t.listing_id = $5 OR t.need_listing_id = $5)
              AND ($6::text IS NULL OR t.status = $6)
              AND ($7::timestamptz IS NULL OR (t.created_at, t.id) < ($7, $8::uuid))
            ORDER BY t.created_at DESC, t.id DESC
            LIMIT $9""",
        acting_organisation,
        list(operated),
        platform_admin,
        filters.get("network_id"),
        filters.get("listing_id"),
        filters.get("status"),
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [_transfer(r) for r in rows]


IMPACT_GROUPS = {
    "zone": "i.zone_id::text",
    "category": "i.category_id",
    "month": "to_char(i.completed_at AT TIME ZONE 'UTC', 'YYYY-MM')",
}


async def impact_rows(
    conn: Connection,
    network_id: uuid.UUID,
    group_by: str,
    date_from: datetime | None,
    date_to: datetime | None,
    organisation_id: uuid.UUID | None,
) -> list[ImpactRow]:
    """Sums of impact per group over `[date_from, date_to)`; only `organisation_id`'s transfers when given.

    By organisation, a transfer counts for both its giver and its taker."""
    if group_by == "organisation":
        source = """(SELECT i.*, i.giver_id AS party FROM transfer_impacts i
                     UNION ALL SELECT i.*, i.taker_id AS party FROM transfer_impacts i) AS i"""
        key = "i.party::text"
    else:
        source, key = "transfer_impacts i", IMPACT_GROUPS[group_by]
    rows = await conn.fetch(
        f"""SELECT {key} AS key, count(*)::int AS transfers, coalesce(sum(i.mass_kg), 0) AS mass_kg,
                   coalesce(sum(i.co2e_avoided_kg), 0) AS co2e_avoided_kg,
                   coalesce(sum(i.km_saved), 0) AS km_saved,
                   coalesce(sum(i.trips_saved), 0)::int AS trips_saved
            FROM {source}
            WHERE i.network_id = $1
              AND ($2::timestamptz IS NULL OR i.completed_at >= $2)
              AND ($3::timestamptz IS NULL OR i.completed_at < $3)
              AND ($4::uuid IS NULL OR i.giver_id = $4 OR i.taker_id = $4)
              {"AND ($4::uuid IS NULL OR i.party = $4)" if group_by == "organisation" else ""}
            GROUP BY 1 ORDER BY 1 NULLS LAST""",
        network_id,
        date_from,
        date_to,
        organisation_id,
    )
    return [msgspec.convert(dict(r), ImpactRow) for r in rows]


async def impact_total(
    conn: Connection, network_id: uuid.UUID, date_from: datetime | None, date_to: datetime | None
) -> ImpactRow:
    row = await conn.fetchrow(
        """SELECT NULL::text AS key, count(*)::int AS transfers, coalesce(sum(mass_kg), 0) AS mass_kg,
                  coalesce(sum(co2e_avoided_kg), 0) AS co2e_avoided_kg,
                  coalesce(sum(km_saved), 0) AS km_saved,
                  coalesce(sum(trips_saved), 0)::int AS trips_saved
           FROM transfer_impacts
           WHERE network_id = $1 AND ($2::timestamptz IS NULL OR completed_at >= $2)
             AND ($3::timestamptz IS NULL OR completed_at < $3)""",
        network_id,
        date_from,
        date_to,
    )
    assert row is not None  # an aggregate always answers one row
    return msgspec.convert(dict(row), ImpactRow)
