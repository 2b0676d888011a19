"""Stripe's webhooks in, and the sweep's side of payments (cancelling, reconciling).

An event is checked with the library's own signature code (`Webhook.construct_event`, 300 s
tolerance), recorded once by its id in the transaction that applies it, and then *not* trusted for
its content: the object it names is fetched from Stripe and applied as it is now. So events may
arrive twice, late or out of order (a `payment_failed` after the `succeeded`): each leads to the
same state. Should Stripe not answer the fetch, the transaction rolls back with a 503 and Stripe
delivers the event again.
"""

from __future__ import annotations

import logging

import stripe

from api.db.pool import Connection, Pool
from api.errors import BadRequestError, MalformedBodyError
from api.payments import repository
from api.payments.accounts import account_state
from api.payments.service import last_error, refund_on_cancel, refund_transfer
from api.payments.stripe_client import failure, require
from api.reservations import repository as reservations
from api.reservations.service import settle
from api.transfers import payment as transfer_payment
from api.transfers import repository as transfers
from schemas.payments import WebhookReceipt

logger = logging.getLogger(__name__)

TOLERANCE_S = 300
BATCH = 100
INTENT_EVENTS = frozenset(
    {
        "payment_intent.succeeded",
        "payment_intent.payment_failed",
        "payment_intent.processing",
        "payment_intent.canceled",
        "payment_intent.requires_action",
    }
)

DISPUTE_EVENTS = frozenset({"charge.dispute.created", "charge.dispute.updated", "charge.dispute.closed"})


class InvalidSignatureError(BadRequestError):
    slug, title_text = "invalid-signature", "The webhook's signature does not verify"


async def receive(
    pool: Pool,
    client: stripe.StripeClient | None,
    secret: str | None,
    payload: bytes,
    signature: str | None,
) -> WebhookReceipt:
    """Verify one Stripe event delivery, then record it once and apply it in one transaction. Nothing
    touches the database before the signature verifies: the route is outside the anonymous rate
    limit (Stripe retries what it is refused), so the signature check is its guard."""
    stripe_client = require(client)
    event = verify(secret, payload, signature)
    async with pool.acquire() as conn, conn.transaction():
        return await apply_event(conn, stripe_client, event)


def verify(secret: str | None, payload: bytes, signature: str | None) -> stripe.Event:
    """The event `payload` holds, once `signature` verifies it with `secret` (400 otherwise)."""
    try:
        event: stripe.Event = stripe.Webhook.construct_event(
            payload.decode("utf-8", "replace"), signature, secret, TOLERANCE_S
        )
    except stripe.SignatureVerificationError as exc:
        raise InvalidSignatureError(
            "the Stripe-Signature header does not sign this body with the endpoint's secret, "
            f"or is older than {TOLERANCE_S} s"
        ) from exc
    except ValueError as exc:  # signed, but not a JSON event
        raise MalformedBodyError("the body is not a JSON Stripe event") from exc
    return event


async def apply_event(
    conn: Connection, stripe_client: stripe.StripeClient, event: stripe.Event
) -> WebhookReceipt:
    """Record a verified event once and apply the object it names, as Stripe has it now."""
    raw_id = getattr(event.data.object, "id", None)
    object_id = raw_id if isinstance(raw_id, str) else None
    if not await repository.record_event(conn, event.id, event.type, object_id):
        return WebhookReceipt(duplicate=True)
    try:
        if event.type in INTENT_EVENTS and object_id:
            await apply_intent(
                conn, stripe_client, await stripe_client.v1.payment_intents.retrieve_async(object_id)
            )
        elif event.type in ("refund.created", "refund.updated") and object_id:
            refund = await stripe_client.v1.refunds.retrieve_async(object_id)
            await repository.update_refund(conn, refund.id, refund.status or "pending")
        elif event.type in DISPUTE_EVENTS and object_id:
            await _dispute(conn, stripe_client, object_id)
        elif event.type == "charge.refunded" and object_id:
            await _refunds_of_charge(conn, stripe_client, object_id)
        elif event.type == "account.updated" and object_id:
            account = await stripe_client.v1.accounts.retrieve_async(object_id)
            await repository.update_account(conn, account.id, **account_state(account))  # type: ignore[arg-type]
    except stripe.StripeError as exc:
        raise failure(exc) from exc
    return WebhookReceipt()


async def _intent_of_charge(client: stripe.StripeClient, charge: object) -> str | None:
    if not isinstance(charge, str):
        charge = getattr(charge, "id", None)
    if not isinstance(charge, str):
        return None
    found = (await client.v1.charges.retrieve_async(charge)).payment_intent
    intent_id = found if isinstance(found, str) else getattr(found, "id", None)
    return intent_id if isinstance(intent_id, str) else None


async def _dispute(conn: Connection, client: stripe.StripeClient, dispute_id: str) -> None:
    """A dispute of one of our charges, as Stripe has it now, marks its PaymentIntent (shown with the
    reservation's or transfer's payment to its parties and the network's operators)."""
    dispute = await client.v1.disputes.retrieve_async(dispute_id)
    intent_id = await _intent_of_charge(client, dispute.charge)
    if intent_id is not None:
        await repository.set_dispute(conn, intent_id, str(dispute.status), str(dispute.reason))


async def _refunds_of_charge(conn: Connection, client: stripe.StripeClient, charge_id: str) -> None:
    """`charge.refunded`: bring every refund of the charge's PaymentIntent up to date."""
    charge = await client.v1.charges.retrieve_async(charge_id)
    intent = charge.payment_intent
    intent_id = intent if isinstance(intent, str) else getattr(intent, "id", None)
    if intent_id is None:
        return
    for refund_id in await repository.refund_ids_of_intent(conn, intent_id):
        refund = await client.v1.refunds.retrieve_async(refund_id)
        await repository.update_refund(conn, refund.id, refund.status or "pending")


async def apply_intent(conn: Connection, client: stripe.StripeClient, intent: stripe.PaymentIntent) -> None:
    """Store a PaymentIntent as Stripe describes it now, and apply it to its reservation or transfer.
    A payment that succeeded for a reservation or transfer that no longer awaits it (expired or
    cancelled meanwhile) is refunded in full: nobody pays for what they do not get."""
    stored = await repository.intent(conn, intent.id)
    if stored is None:
        return  # not one of ours (another platform's integration on the same account)
    error = last_error(intent)
    succeeded = intent.status == "succeeded"
    captured = intent.amount_received if succeeded else 0
    # The owner's row first, then the intent's, in the order every cancellation and expiry takes them:
    # the other order deadlocks with a sweep expiring the owner while its payment arrives.
    if stored.transfer_id is not None:
        await transfers.get(conn, stored.transfer_id, for_update=True)
    else:
        assert stored.reservation_id is not None  # an intent is a reservation's or a transfer's
        await reservations.get_for_update(conn, stored.reservation_id)
    await repository.update_intent(conn, intent.id, intent.status, error, captured or 0)
    if stored.transfer_id is not None:
        await transfer_payment.settle(conn, stored.transfer_id, succeeded, error)
        transfer = await transfers.get(conn, stored.transfer_id) if succeeded else None
        if transfer is not None and transfer.status == "cancelled":
            await refund_transfer(conn, client, transfer, "system")
        return
    assert stored.reservation_id is not None
    await settle(conn, stored.reservation_id, succeeded, error)
    if succeeded:
        reservation = await reservations.get(conn, stored.reservation_id)
        if reservation is not None and reservation.status in ("expired", "cancelled"):
            await refund_on_cancel(conn, client, reservation, "system", await reservations.now(conn))


async def cancel_requested(pool: Pool, client: stripe.StripeClient | None) -> int:
    """Cancel at Stripe the PaymentIntents of reservations that expired or were cancelled unpaid, and
    of transfers cancelled unpaid or past their payment deadline."""
    if client is None:
        return 0
    async with pool.acquire() as conn:
        pending = await repository.to_cancel(conn, BATCH)
    done = 0
    for stripe_id in pending:
        try:
            intent = await client.v1.payment_intents.retrieve_async(stripe_id)
            if intent.status not in ("canceled", "succeeded"):
                intent = await client.v1.payment_intents.cancel_async(
                    stripe_id,
                    {"cancellation_reason": "abandoned"},
                    {"idempotency_key": f"{stripe_id}:cancel"},
                )
        except stripe.StripeError:
            logger.warning("could not cancel PaymentIntent %s; the next sweep retries", stripe_id)
            continue
        async with pool.acquire() as conn, conn.transaction():
            await apply_intent(conn, client, intent)
        done += 1
    return done


async def reconcile(pool: Pool, client: stripe.StripeClient | None) -> int:
    """Look up the PaymentIntent of every reservation and transfer awaiting payment and apply what a
    lost webhook would have; the number applied."""
    if client is None:
        return 0
    async with pool.acquire() as conn:
        pending = await repository.awaiting(conn, BATCH)
    for stripe_id in pending:
        try:
            intent = await client.v1.payment_intents.retrieve_async(stripe_id)
        except stripe.StripeError:
            logger.warning("could not look up PaymentIntent %s; the next reconciliation retries", stripe_id)
            continue
        async with pool.acquire() as conn, conn.transaction():
            await apply_intent(conn, client, intent)
    return len(pending)
