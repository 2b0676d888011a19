"""Rules for payments: providers' connected accounts, the price of a booking, its PaymentIntent.

Providers' accounts are in `api.payments.accounts`. Charges are
*destination charges*: the platform creates the PaymentIntent, the provider's account is
`transfer_data.destination` and `on_behalf_of` (it is the merchant of record, its statement
descriptor shows), and the network's fee is the `application_fee_amount`.

Every Stripe call is made inside the request's transaction with an idempotency key derived from our
ids: should the call time out, or the answer be lost, the transaction rolls back, and the retry sends
the same key and gets the object Stripe made the first time, so a retried accept never charges twice.
The PaymentIntent id is stored in the transaction that moves the reservation (or the transfer) to
`awaiting_payment`, before the caller gets the answer; the partial unique indexes
`payment_intents_one_live` and `payment_intents_one_live_per_transfer` keep one live PaymentIntent
per reservation and per transfer. A transfer's payer is its taker, its payee its giver.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import Any

import msgspec
import stripe
from stripe.params import PaymentIntentCreateParams

from api.auth import policy
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import ConflictError, NotFoundError, RequestValidationError
from api.http import check_if_match
from api.payments import pricing, repository
from api.payments.pricing import TransferTerms
from api.payments.repository import Intent, Of
from api.payments.stripe_client import failure, require
from schemas.listings import Listing
from schemas.payments import (
    Dispute,
    NetworkFees,
    NetworkFeesUpdate,
    PriceBreakdown,
    Refund,
    ReservationPayment,
    TransferPayment,
)
from schemas.reservations import Reservation
from schemas.transfers import Transfer


class ProviderCannotTakePaymentsError(ConflictError):
    slug, title_text = "provider-cannot-take-payments", "The provider cannot take payments yet"


class NoPaymentError(ConflictError):
    slug, title_text = "no-payment", "There is no payment to show"


def intent_key(owner_id: uuid.UUID, of: Of = "reservation") -> str:
    return f"{of}:{owner_id}:payment-intent"


async def quote(
    conn: Connection, listing: Listing, quantity: Decimal, start: datetime, end: datetime
) -> PriceBreakdown | None:
    """The price of booking a priced listing, once its provider can take payments (409 otherwise);
    None for a free one."""
    if listing.price_kind == "free":
        return None
    cents = pricing.amount(listing, quantity, start, end)
    await _require_charges(conn, listing.organisation_id, "service")
    fees = await repository.fees(
        conn, listing.network_id, await repository.is_ess(conn, listing.organisation_id)
    )
    assert listing.currency is not None  # pricing.amount refuses a price without one
    return pricing.breakdown(cents, listing.currency, fees.basis_points, fees.fixed_cents)


async def _require_charges(conn: Connection, organisation_id: uuid.UUID, what: str) -> None:
    """409 `provider-cannot-take-payments` unless the organisation's account takes charges."""
    account = await repository.account(conn, organisation_id)
    if account is None or not account.charges_enabled:
        state = "has no payment account" if account is None else "has not finished Stripe's onboarding"
        raise ProviderCannotTakePaymentsError(
            f"the provider {state}, so this priced {what} cannot be paid for yet",
            extra={"requirements": account.requirements if account else []},
        )


async def transfer_terms(conn: Connection, offer: Listing) -> TransferTerms:
    """The terms a transfer of a priced offer (`fixed` or `per_unit`) copies, once its giver can take
    payments (409 otherwise)."""
    # A priced listing has both (the listings' rules).
    assert offer.price_cents is not None
    assert offer.currency is not None
    await _require_charges(conn, offer.organisation_id, "material")
    fees = await repository.fees(conn, offer.network_id, await repository.is_ess(conn, offer.organisation_id))
    return TransferTerms(
        price_kind=offer.price_kind,
        unit_price_cents=offer.price_cents,
        currency=offer.currency,
        basis_points=fees.basis_points,
        fixed_cents=fees.fixed_cents,
    )


async def open_intent(
    conn: Connection, client: stripe.StripeClient | None, reservation: Reservation
) -> Intent:
    """Create (or, on a retry, find again) the reservation's PaymentIntent and store it."""
    return await _open(
        conn, client, "reservation", reservation.id, reservation.provider_id, reservation.price
    )


async def open_transfer_intent(
    conn: Connection, client: stripe.StripeClient | None, transfer: Transfer
) -> Intent:
    """Create (or, on a retry, find again) the transfer's PaymentIntent, paid by the taker to the giver."""
    return await _open(conn, client, "transfer", transfer.id, transfer.giver_id, transfer.price)


async def _open(
    conn: Connection,
    client: stripe.StripeClient | None,
    of: Of,
    owner_id: uuid.UUID,
    provider_id: uuid.UUID,
    price: PriceBreakdown | None,
) -> Intent:
    existing = await repository.live_intent(conn, owner_id, of=of)
    if existing is not None:
        return existing
    if price is None:
        raise NoPaymentError(f"this {of} was requested without a price")
    account = await repository.account(conn, provider_id)
    if account is None or not account.charges_enabled:
        raise ProviderCannotTakePaymentsError("the provider's payment account cannot take charges now")
    params: PaymentIntentCreateParams = {
        "amount": price.amount_cents,
        "currency": price.currency.lower(),
        "transfer_data": {"destination": account.stripe_account_id},
        "on_behalf_of": account.stripe_account_id,
        "automatic_payment_methods": {"enabled": True},
        "metadata": {f"{of}_id": str(owner_id)},
    }
    if price.fee_cents > 0:
        params["application_fee_amount"] = price.fee_cents
    try:
        created = await require(client).v1.payment_intents.create_async(
            params, {"idempotency_key": intent_key(owner_id, of)}
        )
    except stripe.StripeError as exc:
        raise failure(exc) from exc
    intent = Intent(
        stripe_id=created.id,
        reservation_id=owner_id if of == "reservation" else None,
        transfer_id=owner_id if of == "transfer" else None,
        amount_cents=price.amount_cents,
        fee_cents=price.fee_cents,
        currency=price.currency,
        destination=account.stripe_account_id,
        client_secret=created.client_secret or "",
        status=created.status,
        last_error=None,
    )
    await repository.insert_intent(conn, intent)
    return intent


def last_error(intent: stripe.PaymentIntent) -> str | None:
    error = intent.last_payment_error
    if error is None:
        return None
    return str(error.message or error.code or "the payment failed")


async def reservation_payment(
    conn: Connection, principal: Principal, reservation: Reservation, roles: list[str]
) -> ReservationPayment:
    """The reservation's live PaymentIntent; its `client_secret` for the requester only."""
    intent = await repository.live_intent(conn, reservation.id)
    if intent is None or reservation.price is None:
        raise NoPaymentError(
            "this reservation has no payment: it is free, or not accepted yet, or its payment was cancelled"
        )
    return ReservationPayment(
        reservation_id=reservation.id,
        payment_intent_id=intent.stripe_id,
        client_secret=intent.client_secret if "requester" in roles else None,
        price=reservation.price,
        status=intent.status,
        last_error=intent.last_error,
        refunds=await repository.refunds_of(conn, reservation.id),
        dispute=_dispute(intent),
    )


def _dispute(intent: Intent) -> Dispute | None:
    if intent.dispute_status is None:
        return None
    return Dispute(status=intent.dispute_status, reason=intent.dispute_reason or "")


async def transfer_payment(conn: Connection, transfer: Transfer, roles: list[str]) -> TransferPayment:
    """The transfer's live PaymentIntent; its `client_secret` for the taker (the payer) only."""
    intent = await repository.live_intent(conn, transfer.id, of="transfer")
    if intent is None or transfer.price is None:
        raise NoPaymentError(
            "this transfer has no payment: its offer is free or negotiable, or it is not accepted yet, "
            "or its payment was cancelled"
        )
    return TransferPayment(
        transfer_id=transfer.id,
        payment_intent_id=intent.stripe_id,
        client_secret=intent.client_secret if "taker" in roles else None,
        price=transfer.price,
        status=intent.status,
        last_error=intent.last_error,
        refunds=await repository.refunds_of(conn, transfer.id, of="transfer"),
        dispute=_dispute(intent),
    )


def _fees(row: Any) -> tuple[NetworkFees, int]:
    values = dict(row)
    version: int = values.pop("version")
    return msgspec.convert(values, NetworkFees), version


async def get_fees(conn: Connection, principal: Principal, network_id: uuid.UUID) -> tuple[NetworkFees, int]:
    """The network's commission, for its operators; (fees, the network's version for `If-Match`)."""
    policy.network_operator(principal, network_id)
    row = await repository.network_fees(conn, network_id)
    if row is None:
        raise NotFoundError("no such network")
    return _fees(row)


async def set_fees(
    conn: Connection,
    principal: Principal,
    network_id: uuid.UUID,
    data: NetworkFeesUpdate,
    if_match: str | None,
) -> tuple[NetworkFees, int]:
    """Set the network's commission (its operators); applies to reservations requested from now on,
    whose price is fixed when they are requested."""
    policy.network_operator(principal, network_id)
    row = await repository.network_fees(conn, network_id, for_update=True)
    if row is None:
        raise NotFoundError("no such network")
    check_if_match(if_match, row["version"])
    if (data.ess_basis_points is None) != (data.ess_fixed_cents is None):
        missing = "ess_fixed_cents" if data.ess_fixed_cents is None else "ess_basis_points"
        message = "set both ESS parts of the fee, or neither"
        raise RequestValidationError(
            f"body.{missing}: {message}",
            extra={"errors": [{"path": f"body.{missing}", "message": message, "source": "body"}]},
        )
    values = (data.basis_points, data.fixed_cents, data.ess_basis_points, data.ess_fixed_cents)
    return _fees(await repository.set_network_fees(conn, network_id, values))


async def refund_on_cancel(
    conn: Connection,
    client: stripe.StripeClient | None,
    reservation: Reservation,
    by: str,
    now: datetime,
) -> Refund | None:
    """Refund a paid booking being cancelled: in full when the provider, an operator or the system
    (a payment arriving after the booking ended) cancels, the share its policy says when the
    requester does, through Stripe (reversing the transfer to the
    provider; the platform's fee is given back only with a full refund). None when nothing is due."""
    if reservation.price is None:
        return None
    policy = reservation.cancellation_policy or "flexible"

    def due(captured: int) -> int:
        return pricing.refund_cents(captured, policy, by, reservation.start, now)

    return await _refund(conn, client, "reservation", reservation.id, by, due, policy)


async def refund_transfer(
    conn: Connection, client: stripe.StripeClient | None, transfer: Transfer, by: str
) -> Refund | None:
    """Refund a paid transfer being cancelled, in full, whoever cancels (the giver, the taker, an
    operator resolving a dispute, or the system for a payment that arrived after the cancellation);
    None when nothing was captured."""
    if transfer.price is None:
        return None
    return await _refund(conn, client, "transfer", transfer.id, by, lambda captured: captured, None)


async def _refund(
    conn: Connection,
    client: stripe.StripeClient | None,
    of: Of,
    owner_id: uuid.UUID,
    by: str,
    due: Callable[[int], int],
    policy: str | None,
) -> Refund | None:
    captured = await repository.captured_intent(conn, owner_id, of=of)
    if captured is None:
        return None
    intent_id, captured_cents, refunded_cents = captured
    cents = min(due(captured_cents), captured_cents - refunded_cents)
    if cents <= 0:
        return None
    whole = cents == captured_cents
    try:
        made = await require(client).v1.refunds.create_async(
            {
                "payment_intent": intent_id,
                "amount": cents,
                "reverse_transfer": True,
                "refund_application_fee": whole,
                "metadata": {f"{of}_id": str(owner_id), "cancelled_by": by},
            },
            {"idempotency_key": f"{of}:{owner_id}:refund"},
        )
    except stripe.StripeError as exc:
        raise failure(exc) from exc
    share = "in full" if whole else f"{cents} of {captured_cents} cents ({policy} policy)"
    refund = Refund(
        stripe_id=made.id,
        amount_cents=cents,
        status=made.status or "pending",
        reason=f"cancelled by the {by}, {share}",
    )
    await repository.insert_refund(conn, refund, owner_id, intent_id, of=of)
    return refund
