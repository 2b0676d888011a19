"""Rules for transfers: asking for a quantity, moving it through its lifecycle, counting its impact.

A priced offer (`fixed` or `per_unit`) is paid for by the taker through Stripe before the transfer
can be scheduled (see `api.transfers.lifecycle`): its terms are copied when the transfer is
requested, the price follows the agreed quantity at accept, and the accept creates the
PaymentIntent inside its transaction (`api.payments.service`), so a Stripe failure changes nothing.
A `negotiable` price is agreed between the members, off the platform: the transfer goes as a free one.
The taker has `payment_hours` (TRANSFER_PAYMENT_HOURS) from the accept to pay; `expire_unpaid`, run
by the sweep, cancels the transfers still unpaid past that deadline.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgspec
import stripe

from api.auth import policy
from api.auth.principal import Principal
from api.db import idempotency, outbox
from api.db.pool import Connection
from api.errors import ConflictError, NotFoundError, RequestValidationError
from api.http import check_if_match, decode_cursor, encode_cursor
from api.lifecycle import SYSTEM, IllegalTransitionError
from api.listings import repository as listings
from api.listings.service import get_listing
from api.payments import repository as payments
from api.payments.pricing import TransferTerms
from api.payments.service import open_transfer_intent, refund_transfer, transfer_terms
from api.reservations.rules import PaymentsNotConfiguredError
from api.transfers import impact, lifecycle, repository
from api.transfers.lifecycle import HOLDS_STOCK, PAID, TRANSFER, actors_for, allowed_for
from schemas.listings import Listing
from schemas.pagination import Page
from schemas.transfers import Transfer, TransferCreate

PAID_KINDS = frozenset({"fixed", "per_unit"})
"""Offers whose transfers are paid online; `free` and `negotiable` ones are not."""

QUANTUM = Decimal("0.001")

PAYMENT_HOURS = 72
"""Hours a taker has to pay an accepted priced transfer, unless TRANSFER_PAYMENT_HOURS says."""

SWEEP_BATCH = 200
"""Transfers the sweep expires in one transaction."""


class InsufficientQuantityError(ConflictError):
    slug, title_text = "insufficient-quantity", "Not that much is left on the offer"


class ListingUnavailableError(ConflictError):
    slug, title_text = "listing-unavailable", "This listing cannot be transferred from"


class TrackingFormRequiredError(ConflictError):
    slug, title_text = "tracking-form-required", "Hazardous waste needs a tracking form and a carrier"


def _invalid(path: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        f"{path}: {message}", extra={"errors": [{"path": path, "message": message, "source": "body"}]}
    )


def _quantity(value: Decimal, path: str) -> Decimal:
    if value <= 0:
        raise _invalid(path, "must be greater than 0")
    if value != value.quantize(QUANTUM):
        raise _invalid(path, "at most 3 decimals")
    return value


async def _announce(conn: Connection, transfer_id: uuid.UUID, status: str, action: str) -> None:
    await outbox.emit(conn, "transfer.changed", transfer_id, {"status": status, "action": action})


async def _announce_stock(conn: Connection, listing_id: uuid.UUID, left: Decimal) -> None:
    """The search indexer drops an offer whose available quantity is zero from the results."""
    await outbox.emit(
        conn, "listing.changed", listing_id, {"available_quantity": str(left), "exhausted": left == 0}
    )


async def _parties(
    conn: Connection, listing: Listing, acting: uuid.UUID, data: TransferCreate
) -> tuple[Listing, uuid.UUID, uuid.UUID, str]:
    """(the offer, giver, taker, who initiated) for a transfer asked on `listing`."""
    if listing.direction == "offer":
        if data.offer_listing_id is not None:
            raise _invalid("body.offer_listing_id", "only when answering a need")
        return listing, listing.organisation_id, acting, "taker"
    if data.offer_listing_id is None:
        raise _invalid("body.offer_listing_id", "answering a need, name the offer the material comes from")
    offer = await listings.get(conn, data.offer_listing_id)
    if offer is None or offer.organisation_id != acting or offer.direction != "offer":
        raise _invalid("body.offer_listing_id", "is not an offer of your organisation")
    if offer.network_id != listing.network_id:
        raise _invalid("body.offer_listing_id", "is in another network than the need")
    return offer, acting, listing.organisation_id, "giver"


async def _terms(
    conn: Connection, offer: Listing, quantity: Decimal, payments_configured: bool
) -> TransferTerms | None:
    """The terms a transfer of `offer` copies: None for a free or negotiable offer; 409 for a priced
    one while this server takes no payments or its giver cannot take them."""
    if offer.price_kind == "per_day":
        raise ListingUnavailableError(
            "a per-day price is for services; a material is priced per unit or fixed"
        )
    if offer.price_kind not in PAID_KINDS:
        return None
    if not payments_configured:
        raise PaymentsNotConfiguredError(
            f"this material is priced ({offer.price_kind}) and this server takes no payments "
            "(STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET are not set); ask for a free one"
        )
    terms = await transfer_terms(conn, offer)
    if terms.price(quantity).amount_cents <= 0:
        raise _invalid("body.quantity", "this quantity would cost less than a cent; ask for more")
    return terms


async def create_transfer(
    conn: Connection,
    principal: Principal,
    listing_id: uuid.UUID,
    data: TransferCreate,
    idempotency_key: str | None,
    *,
    payments_configured: bool = False,
) -> tuple[Transfer, bool]:
    """Ask for a quantity of an offer, or propose one's own offer to a need; (transfer, replayed).
    A priced offer is refused (409) unless `payments_configured` and its giver takes payments."""
    user = policy.authenticated(principal)
    if idempotency_key is not None:
        fingerprint = idempotency.request_hash(listing_id, data)
        earlier = await idempotency.earlier_result(
            conn, idempotency.TRANSFER_KEYS, idempotency.key_owner(principal), idempotency_key, fingerprint
        )
        if earlier is not None:
            return await get_transfer(conn, principal, earlier), True
    listing = await get_listing(conn, principal, listing_id)
    status = await repository.membership_status(conn, listing.network_id, principal.acting_organisation_id)
    acting = policy.transfer_requester(principal, status)
    quantity = _quantity(data.quantity, "body.quantity")
    offer, giver, taker, initiated_by = await _parties(conn, listing, acting, data)
    if giver == taker:
        raise ListingUnavailableError("an organisation does not transfer to itself")
    if offer.status != "published" or offer.available_quantity is None:
        raise ListingUnavailableError("only published offers of resources are transferred")
    if quantity > offer.available_quantity:
        raise InsufficientQuantityError(
            f"{offer.available_quantity} {offer.unit} are available",
            extra={"available_quantity": str(offer.available_quantity)},
        )
    terms = await _terms(conn, offer, quantity, payments_configured)
    TRANSFER.step(None, "request", "initiator")  # the party `initiated_by` names
    transfer = await repository.insert(
        conn,
        offer=offer,
        need_listing_id=listing.id if listing.direction == "need" else None,
        giver_id=giver,
        taker_id=taker,
        initiated_by=initiated_by,
        quantity=quantity,
        message=data.message,
        created_by=user.id,
        terms=terms,
    )
    await repository.insert_event(
        conn, transfer.id, "request", None, "requested", user.id, initiated_by, None
    )
    await _announce(conn, transfer.id, "requested", "request")
    if idempotency_key is not None:
        await idempotency.bind(
            conn, idempotency.TRANSFER_KEYS, idempotency.key_owner(principal), idempotency_key, transfer.id
        )
    return await get_transfer(conn, principal, transfer.id), False


async def _visible(
    conn: Connection, principal: Principal, transfer_id: uuid.UUID, *, lock: bool
) -> tuple[Transfer, list[str]]:
    transfer = await repository.get(conn, transfer_id, for_update=lock)
    if transfer is None:
        policy.authenticated(principal)
        raise NotFoundError("no such transfer")
    return transfer, _roles(principal, transfer)


def _roles(principal: Principal, transfer: Transfer) -> list[str]:
    return policy.transfer_roles(
        principal, network_id=transfer.network_id, giver_id=transfer.giver_id, taker_id=transfer.taker_id
    )


async def get_transfer(conn: Connection, principal: Principal, transfer_id: uuid.UUID) -> Transfer:
    """A transfer seen by one of its parties or an operator of its network, with its history."""
    transfer, roles = await _visible(conn, principal, transfer_id, lock=False)
    counted = await repository.impacts(conn, [transfer.id])
    events = await repository.events(conn, transfer.id)
    allowed = allowed_for(transfer.status, roles, transfer.initiated_by)
    return msgspec.structs.replace(
        transfer, impact=counted.get(transfer.id), events=events, allowed_actions=allowed
    )


def _sent(body: msgspec.Struct | None) -> dict[str, Any]:
    """The fields an action's request carries (its Struct says which it may)."""
    sent = {k: v for k, v in msgspec.structs.asdict(body).items() if v is not None} if body else {}
    for name in ("distance_km", "replaced_site_km"):
        value = sent.get(name)
        if value is not None and not Decimal(0) <= value <= Decimal(100_000):
            raise _invalid(f"body.{name}", "kilometres between 0 and 100000")
        if value is not None and value != value.quantize(Decimal("0.01")):
            raise _invalid(f"body.{name}", "at most 2 decimals")
    return sent


async def _effects(
    conn: Connection, transfer: Transfer, action: str, sent: dict[str, Any], payment_hours: int
) -> dict[str, Any]:
    """The columns an action sets, after its guards; stock moves here, in the caller's transaction."""
    reason = sent.get("reason")
    if action == "accept":
        agreed = _quantity(sent.get("quantity", transfer.requested_quantity), "body.quantity")
        if agreed > transfer.requested_quantity:
            raise _invalid("body.quantity", f"at most the {transfer.requested_quantity} asked")
        fields: dict[str, Any] = {"agreed_quantity": agreed}
        terms = await repository.terms(conn, transfer.id)
        if terms is not None:  # the price follows the quantity agreed, on the terms copied at request
            price = terms.price(agreed)
            if price.amount_cents <= 0:
                raise _invalid("body.quantity", "this quantity would cost less than a cent")
            fields.update(amount_cents=price.amount_cents, fee_cents=price.fee_cents)
            fields["payment_due_at"] = await repository.payment_deadline(conn, payment_hours)
        left = await repository.take_stock(conn, transfer.listing_id, agreed)
        if left is None:
            listing_status, now = await repository.stock(conn, transfer.listing_id)
            if listing_status != "published":
                raise ListingUnavailableError(f"the offer is {listing_status}; publish it again to accept")
            raise InsufficientQuantityError(
                f"only {now} {transfer.unit} are left on the offer",
                extra={"available_quantity": None if now is None else str(now)},
            )
        await _announce_stock(conn, transfer.listing_id, left)
        return fields
    if action == "cancel" and transfer.status in HOLDS_STOCK and transfer.agreed_quantity is not None:
        await _return_stock(conn, transfer)
    if action == "cancel" and transfer.status == "awaiting_payment":
        return {"reason": reason, "payment_due_at": None}
    if action in ("decline", "cancel", "resolve_cancel"):
        return {"reason": reason}
    if action == "dispute":
        return {"reason": reason}
    if action == "schedule":
        return await _plan(conn, transfer, sent)
    if action == "dispatch":
        fields = {k: v for k, v in sent.items()}
        carrier = sent.get("carrier", transfer.carrier)
        form = sent.get("tracking_form_ref", transfer.tracking_form_ref)
        if transfer.hazardous and (carrier is None or form is None):
            raise TrackingFormRequiredError(
                f"waste {transfer.waste_code} is hazardous: give tracking_form_ref (BSD) and carrier first",
                extra={
                    "missing": [
                        n for n, v in (("tracking_form_ref", form), ("carrier", carrier)) if v is None
                    ]
                },
            )
        return fields
    if action == "receive":
        return _reception(transfer, sent)
    if action == "resolve_complete":
        fields = {"reason": reason}
        if "received_quantity" in sent or transfer.received_quantity is None:
            fields.update(_reception(transfer, {"received_quantity": sent.get("received_quantity")}))
        fields.update({k: sent[k] for k in ("replaced_site_km", "replaced_trips") if k in sent})
        return fields
    return dict(sent)  # complete: what the exchange replaced


async def _return_stock(conn: Connection, transfer: Transfer) -> None:
    assert transfer.agreed_quantity is not None  # what a transfer holding stock took
    left = await repository.return_stock(conn, transfer.listing_id, transfer.agreed_quantity)
    await _announce_stock(conn, transfer.listing_id, left)


async def _plan(conn: Connection, transfer: Transfer, sent: dict[str, Any]) -> dict[str, Any]:
    fields = dict(sent)
    if "distance_km" not in sent and transfer.distance_km is None:
        fields["distance_km"] = await repository.distance_km(conn, transfer.id)
    scheduled_for: datetime | None = sent.get("scheduled_for")
    if scheduled_for is not None and scheduled_for.tzinfo is None:
        raise _invalid("body.scheduled_for", "give a time zone (e.g. 2026-03-02T08:00:00Z)")
    return fields


def _reception(transfer: Transfer, sent: dict[str, Any]) -> dict[str, Any]:
    received = sent.get("received_quantity")
    if received is None:
        raise _invalid("body.received_quantity", "say how much actually arrived")
    if received < 0 or received != received.quantize(QUANTUM):
        raise _invalid("body.received_quantity", "a quantity of at least 0, with at most 3 decimals")
    if transfer.agreed_quantity is not None and received > transfer.agreed_quantity:
        raise _invalid("body.received_quantity", f"at most the {transfer.agreed_quantity} agreed")
    refused: Decimal = sent.get("refused_quantity", Decimal(0))
    if refused < 0 or refused > received or refused != refused.quantize(QUANTUM):
        raise _invalid("body.refused_quantity", "at most what was received, with at most 3 decimals")
    reason = sent.get("reason")
    if refused > 0 and reason is None:
        raise _invalid("body.reason", "say why part of the delivery is refused")
    return {
        "received_quantity": received,
        "refused_quantity": refused,
        "refusal_reason": reason if refused > 0 else None,
    }


async def _count_impact(conn: Connection, transfer: Transfer) -> None:
    """Store the impact of a completed transfer, once, with the category's factors of today."""
    kept = (transfer.received_quantity or Decimal(0)) - (transfer.refused_quantity or Decimal(0))
    factors = await repository.category_factors(conn, transfer.category_id)
    figures = impact.compute(
        kept,
        transfer.unit,
        factors,
        replaced_site_km=transfer.replaced_site_km,
        replaced_trips=transfer.replaced_trips,
    )
    if not await repository.insert_impact(conn, transfer, figures):
        raise ConflictError("this transfer's impact is already counted")
    await outbox.emit(
        conn, "impact.counted", transfer.id, {"network_id": transfer.network_id, "mass_kg": figures.mass_kg}
    )


async def act(
    conn: Connection,
    principal: Principal,
    transfer_id: uuid.UUID,
    action: str,
    body: msgspec.Struct | None,
    if_match: str | None,
    stripe_client: stripe.StripeClient | None = None,
    payment_hours: int = PAYMENT_HOURS,
) -> Transfer:
    """Apply one action of the transfer lifecycle for the caller's role, with its event and outbox row.

    Every transfer action comes here: the step `TRANSFER` allows from the status (409 otherwise, 403
    for the other party's action, 412 for a stale `If-Match`), then the action's effects. Accepting
    a priced transfer creates its PaymentIntent with `stripe_client` before answering, to be paid
    within `payment_hours`; cancelling a paid one refunds it."""
    transfer, roles = await _visible(conn, principal, transfer_id, lock=True)
    user = policy.authenticated(principal)
    if if_match is not None:
        check_if_match(if_match, transfer.version)
    permitted = actors_for(transfer.status, action, transfer.initiated_by) - {SYSTEM}
    if not permitted:
        allowed = allowed_for(transfer.status, roles, transfer.initiated_by)
        raise IllegalTransitionError(
            f"cannot {action} a transfer that is {transfer.status}; "
            f"allowed: {', '.join(allowed) or 'nothing'}",
            extra={"current_status": transfer.status, "allowed_actions": allowed},
        )
    role = policy.transfer_actor(roles, permitted, action)
    facts = frozenset({"free" if transfer.price is None else "priced"})
    step = lifecycle.step(transfer.status, action, role, transfer.initiated_by, facts)
    if action == "accept":  # committing stock is for active members, as asking is
        acting = principal.acting_organisation_id
        policy.transfer_requester(
            principal, await repository.membership_status(conn, transfer.network_id, acting)
        )
    fields = await _effects(conn, transfer, action, _sent(body), payment_hours)
    await repository.update(conn, transfer.id, step.to_status, fields)
    reason = fields.get("reason") or fields.get("refusal_reason")
    await repository.insert_event(
        conn, transfer.id, action, transfer.status, step.to_status, user.id, role, reason
    )
    await _announce(conn, transfer.id, step.to_status, action)
    if step.to_status == "completed":
        updated = await repository.get(conn, transfer.id)
        assert updated is not None
        await _count_impact(conn, updated)
    elif step.to_status == "awaiting_payment":
        updated = await repository.get(conn, transfer.id)
        assert updated is not None
        await open_transfer_intent(conn, stripe_client, updated)
    elif step.to_status == "cancelled" and transfer.status == "awaiting_payment":
        # Cancelled at Stripe once this commits (the sweep's `cancel_requested`): a call never rolls back.
        await payments.request_cancel(conn, transfer.id, of="transfer")
    elif step.to_status == "cancelled" and transfer.status in PAID:
        await refund_transfer(conn, stripe_client, transfer, role)
    return await get_transfer(conn, principal, transfer.id)


async def expire_unpaid(conn: Connection, batch: int = SWEEP_BATCH) -> int:
    """Cancel, as the system's `expire`, at most `batch` transfers still awaiting payment past their
    `payment_due_at`: the quantity returns to the offer and the PaymentIntent is marked for cancelling
    at Stripe once this commits (`api.payments.webhooks.cancel_requested`). Rows another transaction
    holds are skipped, so a payment being applied is never waited on and never expired under it;
    the caller commits. The number expired."""
    overdue = await repository.lock_unpaid_past_deadline(conn, batch)
    for transfer in overdue:
        step = TRANSFER.step(transfer.status, "expire", SYSTEM)
        assert transfer.payment_due_at is not None  # what the query selects on
        reason = f"not paid by {transfer.payment_due_at.astimezone(UTC).isoformat(timespec='seconds')}"
        await _return_stock(conn, transfer)
        await repository.update(conn, transfer.id, step.to_status, {"reason": reason, "payment_due_at": None})
        await repository.insert_event(
            conn, transfer.id, "expire", transfer.status, step.to_status, None, SYSTEM, reason
        )
        await _announce(conn, transfer.id, step.to_status, "expire")
        await payments.request_cancel(conn, transfer.id, of="transfer")
    return len(overdue)


async def expire_all_unpaid(conn: Connection) -> int:
    """`expire_unpaid` one batch per transaction until none is left (what the sweeps run)."""
    total = 0
    while True:
        async with conn.transaction():
            expired = await expire_unpaid(conn)
        total += expired
        if expired < SWEEP_BATCH:
            return total


async def list_transfers(
    conn: Connection, principal: Principal, filters: dict[str, Any], cursor: str | None, limit: int
) -> Page[Transfer]:
    """Transfers of the acting organisation (as giver or taker) and of the networks the caller operates."""
    policy.authenticated(principal)
    after = None
    if cursor is not None:
        created_at, raw_id = decode_cursor(cursor, 2)
        try:
            after = (datetime.fromisoformat(str(created_at)), uuid.UUID(str(raw_id)))
        except ValueError:
            decode_cursor("", 2)
    rows = await repository.search_page(
        conn,
        acting_organisation=principal.acting_organisation_id,
        operated=list(principal.operator_networks),
        platform_admin=principal.is_platform_admin,
        filters=filters,
        after=after,
        limit=limit + 1,
    )
    counted = await repository.impacts(conn, [t.id for t in rows[:limit]])
    items = [
        msgspec.structs.replace(
            t,
            impact=counted.get(t.id),
            allowed_actions=allowed_for(t.status, _roles(principal, t), t.initiated_by),
        )
        for t in rows[:limit]
    ]
    last = rows[limit - 1] if len(rows) > limit else None
    return Page(
        items=items, next_cursor=encode_cursor(last.created_at.isoformat(), str(last.id)) if last else None
    )
