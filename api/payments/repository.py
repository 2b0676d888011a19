"""SQL for payments: connected accounts, networks' fees, PaymentIntents and applied Stripe events.

A PaymentIntent and its refunds belong to a reservation or to a transfer (`Of`); the functions that
read or write them by their owner take `of` and choose the column from `_OWNER`, never from input."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any, Literal

import asyncpg
import msgspec

from api.db.pool import Connection
from schemas.payments import PaymentAccount, PaymentsRow, Refund

ACCOUNT = """organisation_id, stripe_account_id, charges_enabled, payouts_enabled, details_submitted,
    requirements, updated_at"""
INTENT = """stripe_id, reservation_id, amount_cents, fee_cents, currency, destination, client_secret, status,
    last_error, dispute_status, dispute_reason, transfer_id"""

Of = Literal["reservation", "transfer"]
"""What a payment is for."""
_OWNER: dict[Of, str] = {"reservation": "reservation_id", "transfer": "transfer_id"}


class Intent(msgspec.Struct, kw_only=True):
    stripe_id: str
    reservation_id: uuid.UUID | None
    amount_cents: int
    fee_cents: int
    currency: str
    destination: str
    client_secret: str
    status: str
    last_error: str | None
    dispute_status: str | None = None
    dispute_reason: str | None = None
    transfer_id: uuid.UUID | None = None


class Fees(msgspec.Struct, kw_only=True):
    basis_points: int
    fixed_cents: int


async def account(conn: Connection, organisation_id: uuid.UUID) -> PaymentAccount | None:
    row = await conn.fetchrow(
        f"SELECT {ACCOUNT} FROM payment_accounts WHERE organisation_id = $1", organisation_id
    )
    return None if row is None else msgspec.convert(dict(row), PaymentAccount)


async def insert_account(conn: Connection, organisation_id: uuid.UUID, stripe_account_id: str) -> None:
    """Record the account; a concurrent creation got the same one from Stripe (same idempotency key)."""
    await conn.execute(
        """INSERT INTO payment_accounts (organisation_id, stripe_account_id) VALUES ($1, $2)
           ON CONFLICT (organisation_id) DO NOTHING""",
        organisation_id,
        stripe_account_id,
    )


async def update_account(
    conn: Connection,
    stripe_account_id: str,
    *,
    charges_enabled: bool,
    payouts_enabled: bool,
    details_submitted: bool,
    requirements: list[str],
) -> bool:
    """Store Stripe's current view of an account; False when it is not one of ours."""
    done = await conn.execute(
        """UPDATE payment_accounts SET charges_enabled = $2, payouts_enabled = $3, details_submitted = $4,
               requirements = $5, updated_at = now()
           WHERE stripe_account_id = $1""",
        stripe_account_id,
        charges_enabled,
        payouts_enabled,
        details_submitted,
        requirements,
    )
    return bool(done != "UPDATE 0")


async def fees(conn: Connection, network_id: uuid.UUID, ess: bool) -> Fees:
    """The network's commission for a provider, ESS or not (the ESS rate when the network set one)."""
    row = await conn.fetchrow(
        """SELECT CASE WHEN $2 AND ess_fee_basis_points IS NOT NULL THEN ess_fee_basis_points
                       ELSE fee_basis_points END AS basis_points,
                  CASE WHEN $2 AND ess_fee_fixed_cents IS NOT NULL THEN ess_fee_fixed_cents
                       ELSE fee_fixed_cents END AS fixed_cents
           FROM networks WHERE id = $1""",
        network_id,
        ess,
    )
    assert row is not None  # a listing's network is a foreign key
    return msgspec.convert(dict(row), Fees)


async def is_ess(conn: Connection, organisation_id: uuid.UUID) -> bool:
    value: bool = await conn.fetchval("SELECT is_ess FROM organisations WHERE id = $1", organisation_id)
    return value


async def live_intent(conn: Connection, owner_id: uuid.UUID, *, of: Of = "reservation") -> Intent | None:
    row = await conn.fetchrow(
        f"SELECT {INTENT} FROM payment_intents WHERE {_OWNER[of]} = $1 AND status <> 'canceled'",
        owner_id,
    )
    return None if row is None else msgspec.convert(dict(row), Intent)


async def intent(conn: Connection, stripe_id: str) -> Intent | None:
    row = await conn.fetchrow(f"SELECT {INTENT} FROM payment_intents WHERE stripe_id = $1", stripe_id)
    return None if row is None else msgspec.convert(dict(row), Intent)


async def insert_intent(conn: Connection, intent: Intent) -> None:
    """Record a PaymentIntent; the same one again (a retried accept) changes nothing."""
    await conn.execute(
        f"""INSERT INTO payment_intents ({INTENT})
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
            ON CONFLICT (stripe_id) DO NOTHING""",
        *msgspec.structs.astuple(intent),
    )


async def update_intent(
    conn: Connection, stripe_id: str, status: str, last_error: str | None, captured_cents: int = 0
) -> None:
    await conn.execute(
        """UPDATE payment_intents SET status = $2, last_error = $3, updated_at = now(),
               cancel_requested = cancel_requested AND $2 NOT IN ('canceled', 'succeeded'),
               captured_cents = greatest(captured_cents, $4)
           WHERE stripe_id = $1""",
        stripe_id,
        status,
        last_error,
        captured_cents,
    )


async def captured_intent(
    conn: Connection, owner_id: uuid.UUID, *, of: Of = "reservation"
) -> tuple[str, int, int] | None:
    """(id, captured, refunded) of the reservation's (or transfer's) succeeded PaymentIntent, locked."""
    row = await conn.fetchrow(
        f"""SELECT stripe_id, captured_cents, refunded_cents FROM payment_intents
            WHERE {_OWNER[of]} = $1 AND status = 'succeeded' FOR UPDATE""",
        owner_id,
    )
    return None if row is None else (row["stripe_id"], row["captured_cents"], row["refunded_cents"])


async def insert_refund(
    conn: Connection, refund: Refund, owner_id: uuid.UUID, intent_id: str, *, of: Of = "reservation"
) -> None:
    """Record a refund and add it to its intent's refunded amount (the check
    `payment_intents_refunds_within_captured` refuses more than was captured)."""
    await conn.execute(
        f"""INSERT INTO refunds (stripe_id, payment_intent_id, {_OWNER[of]}, amount_cents, status, reason)
            VALUES ($1, $2, $3, $4, $5, $6)""",
        refund.stripe_id,
        intent_id,
        owner_id,
        refund.amount_cents,
        refund.status,
        refund.reason,
    )
    await conn.execute(
        """UPDATE payment_intents SET refunded_cents = refunded_cents + $2, updated_at = now()
           WHERE stripe_id = $1""",
        intent_id,
        refund.amount_cents,
    )


async def refunds_of(conn: Connection, owner_id: uuid.UUID, *, of: Of = "reservation") -> list[Refund]:
    rows = await conn.fetch(
        f"""SELECT stripe_id, amount_cents, status, reason, created_at FROM refunds
            WHERE {_OWNER[of]} = $1 ORDER BY created_at""",
        owner_id,
    )
    return [msgspec.convert(dict(r), Refund) for r in rows]


async def refund_ids_of_intent(conn: Connection, intent_id: str) -> list[str]:
    rows = await conn.fetch("SELECT stripe_id FROM refunds WHERE payment_intent_id = $1", intent_id)
    return [r["stripe_id"] for r in rows]


async def update_refund(conn: Connection, stripe_id: str, status: str) -> None:
    await conn.execute(
        "UPDATE refunds SET status = $2, updated_at = now() WHERE stripe_id = $1", stripe_id, status
    )


async def set_dispute(conn: Connection, intent_id: str, status: str, reason: str) -> None:
    await conn.execute(
        """UPDATE payment_intents SET dispute_status = $2, dispute_reason = $3, updated_at = now()
           WHERE stripe_id = $1""",
        intent_id,
        status,
        reason,
    )


def is_refund_above_captured(exc: asyncpg.PostgresError) -> bool:
    return (
        isinstance(exc, asyncpg.CheckViolationError)
        and getattr(exc, "constraint_name", None) == "payment_intents_refunds_within_captured"
    )


async def request_cancel(conn: Connection, owner_id: uuid.UUID, *, of: Of = "reservation") -> None:
    """Mark the reservation's (or transfer's) live PaymentIntent for cancelling once the transaction
    has committed."""
    await conn.execute(
        f"""UPDATE payment_intents SET cancel_requested = true, updated_at = now()
            WHERE {_OWNER[of]} = $1 AND status NOT IN ('canceled', 'succeeded')""",
        owner_id,
    )


async def to_cancel(conn: Connection, limit: int) -> list[str]:
    rows = await conn.fetch(
        "SELECT stripe_id FROM payment_intents WHERE cancel_requested ORDER BY updated_at LIMIT $1", limit
    )
    return [r["stripe_id"] for r in rows]


async def awaiting(conn: Connection, limit: int) -> list[str]:
    """PaymentIntents of reservations and transfers awaiting payment (what reconciliation looks up)."""
    rows = await conn.fetch(
        """SELECT p.stripe_id FROM payment_intents p
           LEFT JOIN reservations r ON r.id = p.reservation_id
           LEFT JOIN transfers t ON t.id = p.transfer_id
           WHERE (r.status = 'awaiting_payment' OR t.status = 'awaiting_payment') AND p.status <> 'canceled'
           ORDER BY p.created_at LIMIT $1""",
        limit,
    )
    return [r["stripe_id"] for r in rows]


async def record_event(conn: Connection, event_id: str, event_type: str, object_id: str | None) -> bool:
    """Record a Stripe event; False when it was recorded before (a replay: apply nothing)."""
    done = await conn.execute(
        """INSERT INTO stripe_events (id, type, object_id) VALUES ($1, $2, $3)
           ON CONFLICT (id) DO NOTHING""",
        event_id,
        event_type,
        object_id,
    )
    return bool(done == "INSERT 0 1")


async def set_failure(
    conn: Connection, owner_id: uuid.UUID, reason: str | None, *, of: Of = "reservation"
) -> None:
    table = {"reservation": "reservations", "transfer": "transfers"}[of]
    await conn.execute(
        f"UPDATE {table} SET payment_failure = $2, updated_at = now() WHERE id = $1", owner_id, reason
    )


def is_second_live_intent(exc: asyncpg.PostgresError) -> bool:
    return isinstance(exc, asyncpg.UniqueViolationError) and getattr(exc, "constraint_name", None) in (
        "payment_intents_one_live",
        "payment_intents_one_live_per_transfer",
    )


async def network_fees(conn: Connection, network_id: uuid.UUID, *, for_update: bool = False) -> Any:
    """The network's fee columns and version; None when there is no such network."""
    lock = " FOR UPDATE" if for_update else ""
    return await conn.fetchrow(
        f"""SELECT id AS network_id, fee_basis_points AS basis_points, fee_fixed_cents AS fixed_cents,
                   ess_fee_basis_points AS ess_basis_points, ess_fee_fixed_cents AS ess_fixed_cents, version
            FROM networks WHERE id = $1{lock}""",
        network_id,
    )


async def set_network_fees(
    conn: Connection, network_id: uuid.UUID, values: tuple[int, int, int | None, int | None]
) -> Any:
    return await conn.fetchrow(
        """UPDATE networks SET fee_basis_points = $2, fee_fixed_cents = $3, ess_fee_basis_points = $4,
               ess_fee_fixed_cents = $5, version = version + 1, updated_at = now()
           WHERE id = $1
           RETURNING id AS network_id, fee_basis_points AS basis_points, fee_fixed_cents AS fixed_cents,
               ess_fee_basis_points AS ess_basis_points, ess_fee_fixed_cents AS ess_fixed_cents, version""",
        network_id,
        *values,
    )


# Payments count in the month their reservation or transfer was paid (its `pay` event); refunds in
# the month they were made. The provider (a reservation's provider, a transfer's giver) is paid; the
# provider's part of a refund is the refund x its share of the amount (the transfer is reversed in
# proportion); the platform bears the rest.
REPORT = """
WITH owned AS (
    SELECT p.*, coalesce(r.provider_id, t.giver_id) AS provider_id,
           coalesce(r.network_id, t.network_id) AS network_id
    FROM payment_intents p
    LEFT JOIN reservations r ON r.id = p.reservation_id
    LEFT JOIN transfers t ON t.id = p.transfer_id
),
moves AS (
    SELECT o.provider_id, coalesce(re.created_at, te.created_at) AS at, o.currency, 1 AS payments,
           o.captured_cents AS gross, o.fee_cents AS fees, 0::bigint AS refunds, 0::bigint AS provider_refunds
    FROM owned o
    LEFT JOIN reservation_events re ON re.reservation_id = o.reservation_id AND re.action = 'pay'
    LEFT JOIN transfer_events te ON te.transfer_id = o.transfer_id AND te.action = 'pay'
    WHERE o.network_id = $1 AND o.status = 'succeeded' AND (re.id IS NOT NULL OR te.id IS NOT NULL)
    UNION ALL
    SELECT o.provider_id, f.created_at, o.currency, 0, 0, 0, f.amount_cents,
           round(f.amount_cents::numeric * (o.amount_cents - o.fee_cents) / o.amount_cents)::bigint
    FROM refunds f
    JOIN owned o ON o.stripe_id = f.payment_intent_id
    WHERE o.network_id = $1 AND f.status <> 'failed'
)
SELECT m.provider_id AS organisation_id, o.name AS organisation_name,
       to_char(date_trunc('month', m.at AT TIME ZONE 'UTC'), 'YYYY-MM') AS month, m.currency,
       sum(m.payments)::int AS payments, sum(m.gross)::bigint AS gross_cents,
       sum(m.fees)::bigint AS fee_cents,
       sum(m.refunds)::bigint AS refund_cents,
       (sum(m.gross) - sum(m.fees) - sum(m.provider_refunds))::bigint AS net_to_providers_cents
FROM moves m JOIN organisations o ON o.id = m.provider_id
WHERE ($2::timestamptz IS NULL OR m.at >= $2) AND ($3::timestamptz IS NULL OR m.at < $3)
GROUP BY 1, 2, 3, 4
ORDER BY month, organisation_name, organisation_id, currency
"""


async def report_rows(
    conn: Connection, network_id: uuid.UUID, date_from: datetime | None, date_to: datetime | None
) -> list[PaymentsRow]:
    rows = await conn.fetch(REPORT, network_id, date_from, date_to)
    return [msgspec.convert(dict(r), PaymentsRow) for r in rows]
