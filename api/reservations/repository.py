"""SQL for reservations, their events, the capacity they hold, and the idempotency keys of their creation."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec

from api.db.pool import Connection
from api.reservations.capacity import Held
from schemas.memberships import MembershipStatus
from schemas.payments import PriceBreakdown
from schemas.reservations import Reservation, ReservationEvent, ReservationStatus

COLUMNS = """r.id, r.network_id, r.listing_id, r.provider_id, r.requester_id, r.status,
    lower(r.period) AS start, upper(r.period) AS "end", r.quantity, r.unit, r.price_kind, r.message,
    r.expires_at, r.reason, r.cancelled_by, r.version, r.created_at, r.updated_at,
    r.amount_cents, r.fee_cents, r.currency, r.payment_failure, r.cancellation_policy"""

# Who may read a reservation: $1 the acting organisation, $2 the networks the caller operates,
# $3 whether the caller is a platform administrator.
VISIBLE = "(r.requester_id = $1 OR r.provider_id = $1 OR r.network_id = ANY($2::uuid[]) OR $3)"

# What the clock has made due at the transaction's `now()` (see `lifecycle.due`).
DUE = """((r.status IN ('requested', 'accepted', 'awaiting_payment') AND r.expires_at <= now())
          OR (r.status = 'confirmed' AND lower(r.period) <= now())
          OR (r.status = 'in_progress' AND upper(r.period) <= now()))"""


def _reservation(row: Any) -> Reservation:
    values = dict(row)
    amount, fee, currency = values.pop("amount_cents"), values.pop("fee_cents"), values.pop("currency")
    if amount is not None:
        values["price"] = PriceBreakdown(
            amount_cents=amount, fee_cents=fee, provider_share_cents=amount - fee, currency=currency
        )
    return msgspec.convert(values, Reservation)


async def get(conn: Connection, reservation_id: uuid.UUID) -> Reservation | None:
    row = await conn.fetchrow(f"SELECT {COLUMNS} FROM reservations r WHERE r.id = $1", reservation_id)
    return None if row is None else _reservation(row)


async def get_for_update(conn: Connection, reservation_id: uuid.UUID) -> tuple[Reservation, datetime] | None:
    """The reservation, locked until the transaction ends, and the transaction's clock."""
    row = await conn.fetchrow(
        f"SELECT {COLUMNS}, now() AS db_now FROM reservations r WHERE r.id = $1 FOR UPDATE", reservation_id
    )
    if row is None:
        return None
    values = dict(row)
    now: datetime = values.pop("db_now")
    return _reservation(values), now


async def now(conn: Connection) -> datetime:
    value: datetime = await conn.fetchval("SELECT now()")
    return value


async def held(
    conn: Connection,
    listing_id: uuid.UUID,
    start: datetime,
    end: datetime,
    *,
    exclude: uuid.UUID | None = None,
) -> list[Held]:
    """Capacity held on the listing by reservations overlapping `[start, end)`."""
    rows = await conn.fetch(
        """SELECT lower(period) AS start, upper(period) AS "end", quantity FROM reservations
           WHERE listing_id = $1 AND holds AND period && tstzrange($2, $3, '[)')
             AND ($4::uuid IS NULL OR id <> $4)""",
        listing_id,
        start,
        end,
        exclude,
    )
    return [Held(r["start"], r["end"], r["quantity"]) for r in rows]


async def held_ahead(conn: Connection, listing_id: uuid.UUID) -> list[Held]:
    """Capacity held on the listing by reservations that have not ended."""
    rows = await conn.fetch(
        """SELECT lower(period) AS start, upper(period) AS "end", quantity FROM reservations
           WHERE listing_id = $1 AND holds AND upper(period) > now()""",
        listing_id,
    )
    return [Held(r["start"], r["end"], r["quantity"]) for r in rows]


async def insert(
    conn: Connection,
    *,
    listing: Any,
    requester_id: uuid.UUID,
    start: datetime,
    end: datetime,
    quantity: Decimal,
    message: str,
    created_by: uuid.UUID,
    price: PriceBreakdown | None = None,
) -> Reservation:
    """A new request; it expires after the listing's response time, and at the latest at its start."""
    row = await conn.fetchrow(
        f"""INSERT INTO reservations AS r (network_id, listing_id, provider_id, requester_id, status, period,
                quantity, unit, price_kind, message, expires_at, created_by,
                amount_cents, fee_cents, currency, cancellation_policy)
            VALUES ($1, $2, $3, $4, 'requested', tstzrange($5, $6, '[)'), $7, $8, $9, $10,
                    least(now() + make_interval(hours => $11), $5), $12, $13, $14, $15, $16)
            RETURNING {COLUMNS}""",
        listing.network_id,
        listing.id,
        listing.organisation_id,
        requester_id,
        start,
        end,
        quantity,
        listing.unit,
        listing.price_kind,
        message,
        listing.response_time_hours,
        created_by,
        None if price is None else price.amount_cents,
        None if price is None else price.fee_cents,
        None if price is None else price.currency,
        None if price is None else listing.cancellation_policy,
    )
    return _reservation(row)


# Columns an action may set; the service decides which.
SETTABLE = frozenset({"expires_at", "reason", "cancelled_by", "whole", "payment_failure"})


async def update(
    conn: Connection, reservation_id: uuid.UUID, status: ReservationStatus, fields: dict[str, Any]
) -> None:
    """Set the status and the given columns (names from `SETTABLE` only)."""
    names = [name for name in fields if name in SETTABLE]
    assert len(names) == len(fields), fields
    assignments = "".join(f", {name} = ${i}" for i, name in enumerate(names, start=3))
    await conn.execute(
        f"""UPDATE reservations SET status = $2{assignments}, version = version + 1, updated_at = now()
            WHERE id = $1""",
        reservation_id,
        status,
        *(fields[name] for name in names),
    )


async def insert_event(
    conn: Connection,
    reservation_id: uuid.UUID,
    action: str,
    from_status: str | None,
    to_status: str,
    actor_user_id: uuid.UUID | None,
    actor_role: str,
    reason: str | None,
) -> ReservationEvent:
    row = await conn.fetchrow(
        """INSERT INTO reservation_events (reservation_id, action, from_status, to_status, actor_user_id,
               actor_role, reason)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           RETURNING action, from_status, to_status, actor_user_id, actor_role, reason, created_at""",
        reservation_id,
        action,
        from_status,
        to_status,
        actor_user_id,
        actor_role,
        reason,
    )
    assert row is not None  # INSERT ... RETURNING answers its row
    return msgspec.convert(dict(row), ReservationEvent)


async def membership_statuses(
    conn: Connection, network_id: uuid.UUID, organisation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, MembershipStatus]:
    """The membership status of each of `organisation_ids` in the network (absent: not a member)."""
    rows = await conn.fetch(
        """SELECT organisation_id, status FROM memberships
           WHERE network_id = $1 AND organisation_id = ANY($2::uuid[])""",
        network_id,
        list(organisation_ids),
    )
    return {r["organisation_id"]: r["status"] for r in rows}


async def events(conn: Connection, reservation_id: uuid.UUID) -> list[ReservationEvent]:
    rows = await conn.fetch(
        """SELECT action, from_status, to_status, actor_user_id, actor_role, reason, created_at
           FROM reservation_events WHERE reservation_id = $1 ORDER BY id""",
        reservation_id,
    )
    return [msgspec.convert(dict(r), ReservationEvent) for r in rows]


async def lock_due(conn: Connection, limit: int) -> tuple[list[Reservation], datetime]:
    """Reservations the clock has made due, locked; rows another transaction holds (a provider
    accepting, another sweep) are skipped, not waited for."""
    rows = await conn.fetch(
        f"""SELECT {COLUMNS}, now() AS db_now FROM reservations r WHERE {DUE}
            ORDER BY r.created_at LIMIT $1 FOR UPDATE SKIP LOCKED""",
        limit,
    )
    if not rows:
        return [], await now(conn)
    clock: datetime = rows[0]["db_now"]
    return [_reservation({k: v for k, v in r.items() if k != "db_now"}) for r in rows], clock


async def search_page(
    conn: Connection,
    *,
    acting_organisation: uuid.UUID | None,
    operated: Sequence[uuid.UUID],
    platform_admin: bool,
    filters: dict[str, Any],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[Reservation]:
    """Visible reservations matching `filters`, newest first, keyset-paginated on (created_at, id).

    `period_from`/`period_to` keep those whose period overlaps `[period_from, period_to)`."""
    rows = await conn.fetch(
        f"""SELECT {COLUMNS} FROM reservations r
            WHERE {VISIBLE}
              AND ($4::text IS NULL OR r.status = $4)
              AND ($5::uuid IS NULL OR r.listing_id = $5)
              AND ($6::text IS NULL OR ($6 = 'requester' AND r.requester_id = $1)
                   OR ($6 = 'provider' AND r.provider_id = $1))
              AND r.period && tstzrange($7::timestamptz, $8::timestamptz, '[)')
              AND ($9::timestamptz IS NULL OR (r.created_at, r.id) < ($9, $10::uuid))
            ORDER BY r.created_at DESC, r.id DESC
            LIMIT $11""",
        acting_organisation,
        list(operated),
        platform_admin,
        filters.get("status"),
        filters.get("listing_id"),
        filters.get("role"),
        filters.get("period_from"),
        filters.get("period_to"),
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [_reservation(r) for r in rows]


def is_overbooking(exc: asyncpg.PostgresError) -> bool:
    """The exclusion constraint that keeps two whole-capacity holdings from overlapping."""
    return (
        isinstance(exc, asyncpg.ExclusionViolationError)
        and getattr(exc, "constraint_name", None) == "reservations_no_overbooking"
    )
