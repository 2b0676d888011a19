"""Rules for reservations: booking capacity of a service over a period, and its lifecycle.

Capacity is checked twice. At request, against what is held *now*: a request that cannot fit is
refused up front (409 with the free capacity), but a request holds nothing, so many may wait on
the same slot. At accept, where it starts to be held, with the listing's row locked for the rest
of the transaction: concurrent accepts of one listing queue there, each sees the holdings
committed before it, and the total never exceeds the capacity. The exclusion constraint
`reservations_no_overbooking` backs this in the schema where a reservation takes the whole
capacity (always so at capacity 1).
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import msgspec
import stripe

from api.auth import policy
from api.auth.principal import Principal
from api.db import idempotency, outbox
from api.db.pool import Connection
from api.errors import NotFoundError
from api.http import check_if_match, decode_cursor, encode_cursor
from api.inputs import query_instant
from api.lifecycle import IllegalTransitionError
from api.listings import repository as listings
from api.listings.service import get_listing
from api.payments import repository as payments
from api.payments.service import open_intent, quote, refund_on_cancel, reservation_payment
from api.reservations import repository, rules
from api.reservations.capacity import free_intervals, min_free
from api.reservations.lifecycle import HOLDS_CAPACITY, RESERVATION, actors_for, allowed_for, due
from api.reservations.rules import ListingNotBookableError
from schemas.pagination import Page
from schemas.payments import ReservationPayment
from schemas.reservations import (
    Availability,
    FreeInterval,
    Reservation,
    ReservationCancel,
    ReservationCreate,
    ReservationDecline,
    ReservationStatus,
)

MAX_WINDOW = timedelta(days=366)
SWEEP_BATCH = 500


async def _announce(
    conn: Connection, reservation: Reservation, to_status: ReservationStatus, action: str
) -> None:
    await outbox.emit(
        conn,
        "reservation.changed",
        reservation.id,
        {"status": to_status, "action": action, "listing_id": reservation.listing_id},
    )
    if (reservation.status in HOLDS_CAPACITY) != (to_status in HOLDS_CAPACITY):
        # Held capacity changed: search follows the listing's free capacity.
        await outbox.emit(
            conn,
            "listing.changed",
            reservation.listing_id,
            {"reservation_id": reservation.id, "capacity_held": to_status in HOLDS_CAPACITY},
        )


async def create_reservation(
    conn: Connection,
    principal: Principal,
    listing_id: uuid.UUID,
    data: ReservationCreate,
    idempotency_key: str | None,
    *,
    payments_configured: bool = False,
) -> tuple[Reservation, bool]:
    """Ask for `quantity` of a service over `[start, end)`; (reservation, replayed). A priced service
    is refused (409) unless `payments_configured`."""
    user = policy.authenticated(principal)
    if idempotency_key is not None:
        fingerprint = idempotency.request_hash(listing_id, data)
        earlier = await idempotency.earlier_result(
            conn, idempotency.RESERVATION_KEYS, idempotency.key_owner(principal), idempotency_key, fingerprint
        )
        if earlier is not None:
            return await get_reservation(conn, principal, earlier), True
    listing = await get_listing(conn, principal, listing_id)
    acting = policy.acting_organisation(principal)
    statuses = await repository.membership_statuses(
        conn, listing.network_id, [acting, listing.organisation_id]
    )
    requester_id = policy.reservation_requester(principal, statuses.get(acting))
    capacity = rules.bookable(listing, requester_id)
    rules.payable(listing, payments_configured)
    if statuses.get(listing.organisation_id) != "active":
        raise ListingNotBookableError("the provider is not an active member of the network")
    now = datetime.now(UTC)
    start, end = rules.period(listing, data.start, data.end, now)
    quantity = rules.quantity(data.quantity, capacity, listing.unit)
    free = min_free(capacity, await repository.held(conn, listing.id, start, end), start, end)
    if quantity > free:
        raise rules.capacity_error(listing, free)
    price = await quote(conn, listing, quantity, start, end)
    RESERVATION.step(None, "request", "requester")
    reservation = await repository.insert(
        conn,
        listing=listing,
        requester_id=requester_id,
        start=start,
        end=end,
        quantity=quantity,
        message=data.message,
        created_by=user.id,
        price=price,
    )
    event = await repository.insert_event(
        conn, reservation.id, "request", None, "requested", user.id, "requester", None
    )
    await outbox.emit(
        conn,
        "reservation.changed",
        reservation.id,
        {"status": "requested", "action": "request", "listing_id": listing.id},
    )
    if idempotency_key is not None:
        await idempotency.bind(
            conn,
            idempotency.RESERVATION_KEYS,
            idempotency.key_owner(principal),
            idempotency_key,
            reservation.id,
        )
    # Everything the answer holds is at hand: no need to read it back.
    allowed = allowed_for(reservation.status, _roles(principal, reservation))
    return msgspec.structs.replace(reservation, events=[event], allowed_actions=allowed), False


async def get_reservation(conn: Connection, principal: Principal, reservation_id: uuid.UUID) -> Reservation:
    """A reservation seen by one of its parties or an operator of its network, with its history."""
    reservation = await repository.get(conn, reservation_id)
    if reservation is None:
        policy.authenticated(principal)
        raise NotFoundError("no such reservation")
    roles = _roles(principal, reservation)
    events = await repository.events(conn, reservation.id)
    return msgspec.structs.replace(
        reservation, events=events, allowed_actions=allowed_for(reservation.status, roles)
    )


def _roles(principal: Principal, reservation: Reservation) -> list[str]:
    return policy.reservation_roles(
        principal,
        network_id=reservation.network_id,
        provider_id=reservation.provider_id,
        requester_id=reservation.requester_id,
    )


async def _hold(conn: Connection, reservation: Reservation, now: datetime) -> dict[str, Any]:
    """Start holding the reservation's capacity, with the listing locked; the columns accept sets."""
    listing = await listings.get(conn, reservation.listing_id, for_update=True)
    assert listing is not None  # a reservation's listing is a foreign key
    if listing.status != "published" or listing.capacity is None:
        raise ListingNotBookableError(f"the listing is {listing.status}; publish it again to accept")
    held = await repository.held(conn, listing.id, reservation.start, reservation.end, exclude=reservation.id)
    free = min_free(listing.capacity, held, reservation.start, reservation.end)
    if reservation.quantity > free:
        raise rules.capacity_error(listing, free)
    return {
        "whole": reservation.quantity >= listing.capacity,
        "expires_at": rules.deadline(listing, now, reservation.start),
    }


async def _apply(
    conn: Connection,
    reservation: Reservation,
    action: str,
    to_status: ReservationStatus,
    fields: dict[str, Any],
    actor: tuple[uuid.UUID | None, str],
) -> Reservation:
    """Write one transition: the row, its event, its outbox rows. Returns the reservation as it now is."""
    await repository.update(conn, reservation.id, to_status, fields)
    if reservation.status == "awaiting_payment" and to_status in ("expired", "cancelled"):
        # Cancelled at Stripe once this commits (`api.payments.sweep`): a call never rolls back.
        await payments.request_cancel(conn, reservation.id)
    await repository.insert_event(
        conn, reservation.id, action, reservation.status, to_status, actor[0], actor[1], fields.get("reason")
    )
    await _announce(conn, reservation, to_status, action)
    return msgspec.structs.replace(reservation, status=to_status)


async def _apply_holding(
    conn: Connection,
    reservation: Reservation,
    to_status: ReservationStatus,
    fields: dict[str, Any],
    actor: tuple[uuid.UUID | None, str],
) -> None:
    """Apply an accept; should the exclusion constraint refuse it, answer the same 409 as the check."""
    try:
        async with conn.transaction():  # a savepoint: the constraint's refusal leaves the rest usable
            await _apply(conn, reservation, "accept", to_status, fields, actor)
    except asyncpg.PostgresError as exc:
        if not repository.is_overbooking(exc):
            raise
        listing = await listings.get(conn, reservation.listing_id)
        assert listing is not None
        assert listing.capacity is not None
        held = await repository.held(
            conn, listing.id, reservation.start, reservation.end, exclude=reservation.id
        )
        raise rules.capacity_error(
            listing, min_free(listing.capacity, held, reservation.start, reservation.end)
        ) from exc


async def _catch_up(
    conn: Connection, reservation: Reservation, steps: list[tuple[str, ReservationStatus]]
) -> Reservation:
    """Apply the clock's due steps (start, complete, expire) as the system."""
    for action, _ in steps:
        step = RESERVATION.step(reservation.status, action, "system")
        fields: dict[str, Any] = {"expires_at": None} if step.to_status == "expired" else {}
        reservation = await _apply(conn, reservation, action, step.to_status, fields, (None, "system"))
    return reservation


async def act(
    conn: Connection,
    principal: Principal,
    reservation_id: uuid.UUID,
    action: str,
    body: ReservationDecline | ReservationCancel | None,
    if_match: str | None,
    stripe_client: stripe.StripeClient | None = None,
) -> Reservation:
    """Apply one action of the reservation lifecycle for the caller's role, with its event and outbox rows.

    Every reservation action comes here: the step `RESERVATION` allows from the status the clock
    leaves (409 otherwise, 403 for the other party's action, 412 for a stale `If-Match`). Accepting
    a priced reservation creates its PaymentIntent with `stripe_client` before answering."""
    found = await repository.get_for_update(conn, reservation_id)
    if found is None:
        policy.authenticated(principal)
        raise NotFoundError("no such reservation")
    reservation, now = found
    roles = _roles(principal, reservation)
    user = policy.authenticated(principal)
    if if_match is not None:
        check_if_match(if_match, reservation.version)
    clock = due(reservation.status, reservation.expires_at, reservation.start, reservation.end, now)
    effective = clock[-1][1] if clock else reservation.status
    permitted = actors_for(effective, action) - {"system"}
    if not permitted:
        allowed = allowed_for(effective, roles)
        raise IllegalTransitionError(
            f"cannot {action} a reservation that is {effective}; allowed: {', '.join(allowed) or 'nothing'}",
            extra={"current_status": effective, "allowed_actions": allowed},
        )
    role = policy.reservation_actor(roles, permitted, action)
    reason = body.reason if body is not None else None
    reservation = await _catch_up(conn, reservation, clock)
    fields: dict[str, Any] = {}
    facts: set[str] = set()
    if action == "accept":
        policy.reservation_provider_active(
            await listings.membership_status(conn, reservation.network_id, reservation.provider_id)
        )
        facts.add("free" if reservation.price_kind == "free" else "priced")
        fields = await _hold(conn, reservation, now)
    elif action in ("confirm", "cancel", "decline"):
        fields = {"expires_at": None}
    if reason is not None:
        fields["reason"] = reason
    if action == "cancel":
        fields["cancelled_by"] = role
    step = RESERVATION.step(reservation.status, action, role, facts)
    if action == "accept":  # the one action that starts holding capacity
        await _apply_holding(conn, reservation, step.to_status, fields, (user.id, role))
        if step.to_status == "awaiting_payment":
            await open_intent(conn, stripe_client, reservation)
    else:
        await _apply(conn, reservation, action, step.to_status, fields, (user.id, role))
        if action == "cancel" and reservation.status == "confirmed":
            await refund_on_cancel(conn, stripe_client, reservation, role, now)
    return await get_reservation(conn, principal, reservation.id)


async def settle(conn: Connection, reservation_id: uuid.UUID, succeeded: bool, failure: str | None) -> None:
    """Apply what the payment provider says of a reservation's payment: `pay` (the system's action)
    once it succeeded, the reason of a failed attempt otherwise; nothing unless it awaits payment.

    A success is applied even past the payment deadline the clock would expire it at: the money is
    taken, and a confirmed booking is what the requester paid for."""
    found = await repository.get_for_update(conn, reservation_id)
    if found is None or found[0].status != "awaiting_payment":
        return
    reservation = found[0]
    if succeeded:
        step = RESERVATION.step(reservation.status, "pay", "system")
        fields: dict[str, Any] = {"expires_at": None, "payment_failure": None}
        await _apply(conn, reservation, "pay", step.to_status, fields, (None, "system"))
    elif failure != reservation.payment_failure:
        await payments.set_failure(conn, reservation.id, failure)


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    created_at, raw_id = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(str(created_at)), uuid.UUID(str(raw_id))
    except ValueError:
        decode_cursor("", 2)
        raise  # pragma: no cover - decode_cursor("") always raises


def _instant(value: str | None, name: str) -> datetime | None:
    """A query parameter's RFC 3339 instant; 422 naming `query.<name>` when it is not one."""
    return query_instant(value, name)


async def list_reservations(
    conn: Connection, principal: Principal, filters: dict[str, Any], cursor: str | None, limit: int
) -> Page[Reservation]:
    """Reservations of the acting organisation (as requester or provider) and of the networks the
    caller operates, newest first."""
    policy.authenticated(principal)
    period_from = _instant(filters.get("period_from"), "from")
    period_to = _instant(filters.get("period_to"), "to")
    if period_from is not None and period_to is not None and period_to <= period_from:
        raise rules.invalid("query.to", "must be later than from", "query")
    rows = await repository.search_page(
        conn,
        acting_organisation=principal.acting_organisation_id,
        operated=list(principal.operator_networks),
        platform_admin=principal.is_platform_admin,
        filters={**filters, "period_from": period_from, "period_to": period_to},
        after=_after(cursor),
        limit=limit + 1,
    )
    items = [
        msgspec.structs.replace(r, allowed_actions=allowed_for(r.status, _roles(principal, r)))
        for r in rows[:limit]
    ]
    last = rows[limit - 1] if len(rows) > limit else None
    return Page(
        items=items, next_cursor=encode_cursor(last.created_at.isoformat(), str(last.id)) if last else None
    )


async def availability(
    conn: Connection,
    principal: Principal,
    listing_id: uuid.UUID,
    date_from: str | None,
    date_to: str | None,
) -> Availability:
    """Free capacity of a service listing over `[start, end)` (default: the next 30 days), as intervals."""
    listing = await get_listing(conn, principal, listing_id)
    if listing.nature != "service" or listing.capacity is None:
        raise ListingNotBookableError("only services have a capacity to book")
    start = _instant(date_from, "from") or datetime.now(UTC)
    end = _instant(date_to, "to") or start + timedelta(days=30)
    if end <= start:
        raise rules.invalid("query.to", "must be later than from", "query")
    if end - start > MAX_WINDOW:
        raise rules.invalid("query.to", "at most 366 days after from", "query")
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    lo = max(start, listing.available_from) if listing.available_from else start
    hi = min(end, listing.available_until) if listing.available_until else end
    held = await repository.held(conn, listing.id, lo, hi) if hi > lo else []
    return Availability(
        listing_id=listing.id,
        capacity=listing.capacity,
        unit=listing.unit,
        start=start,
        end=end,
        intervals=[
            FreeInterval(start=i.start, end=i.end, free_capacity=i.free)
            for i in free_intervals(listing.capacity, held, lo, hi)
        ],
    )


async def sweep_due(conn: Connection, batch: int = SWEEP_BATCH) -> int:
    """Move what the clock has made due, at most `batch` reservations: unanswered requests and
    unconfirmed acceptances expire, confirmed ones start, started ones complete. Rows another
    transaction holds are skipped (FOR UPDATE SKIP LOCKED), so two sweeps never move one twice
    and a sweep never waits on a provider answering; the caller commits."""
    rows, now = await repository.lock_due(conn, batch)
    for reservation in rows:
        await _catch_up(
            conn,
            reservation,
            due(reservation.status, reservation.expires_at, reservation.start, reservation.end, now),
        )
    return len(rows)


async def get_payment(
    conn: Connection, principal: Principal, reservation_id: uuid.UUID
) -> ReservationPayment:
    """A priced reservation's payment, for its parties and the network's operators; the
    `client_secret` the frontend confirms with goes to the requester only."""
    reservation = await get_reservation(conn, principal, reservation_id)
    return await reservation_payment(conn, principal, reservation, _roles(principal, reservation))
