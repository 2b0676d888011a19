"""Cancelling a paid booking refunds it through Stripe: by its policy when the requester cancels,
in full when the provider or an operator does; refunds never exceed what was captured."""

from __future__ import annotations

from datetime import timedelta

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from api.payments.pricing import refund_cents
from api.reservations.service import sweep_due
from tests.api.payments.conftest import deliver, onboard, price
from tests.api.reservations.conftest import Park, act, book, period, status_of
from tests.factories import hours_from_now
from tests.stripe_standin import StripeStandIn

Client = AsyncTestClient[RequestContext]


async def _paid(
    paying: Client,
    standin: StripeStandIn,
    db: asyncpg.Connection,
    park: Park,
    policy: str,
    start_hours: float,
) -> tuple[str, str]:
    await onboard(paying, standin, park)
    await price(db, park, "fixed", 10_000)
    await db.execute("UPDATE listings SET cancellation_policy = $2 WHERE id = $1", park.storage, policy)
    booked = await book(paying, park, 1, **period(start_hours))
    assert booked["cancellation_policy"] == policy
    rid: str = booked["id"]
    await act(paying, rid, "accept", park.as_provider())
    [intent_id] = [i for i, v in standin.intents.items() if v["metadata"]["reservation_id"] == rid]
    standin.pay(intent_id)
    await deliver(paying, standin, "payment_intent.succeeded", dict(standin.intents[intent_id]))
    assert await status_of(db, rid) == "confirmed"
    return rid, intent_id


# (policy, hours before the start, refunded of 10 000 cents): either side of each notice.
CASES = [
    ("flexible", 25, 10_000),
    ("flexible", 23, 5_000),
    ("moderate", 5 * 24 + 1, 10_000),
    ("moderate", 5 * 24 - 1, 5_000),
    ("strict", 7 * 24 + 1, 5_000),
    ("strict", 7 * 24 - 1, 0),
]


@pytest.mark.parametrize(("policy", "hours", "refunded"), CASES)
async def test_a_requesters_cancellation_refunds_what_the_policy_says(
    park: Park,
    paying: Client,
    standin: StripeStandIn,
    db: asyncpg.Connection,
    policy: str,
    hours: float,
    refunded: int,
) -> None:
    rid, intent_id = await _paid(paying, standin, db, park, policy, hours)
    cancelled = await act(paying, rid, "cancel", park.as_requester(), reason="Plus besoin")
    assert cancelled["status"] == "cancelled"
    refunds = [r for r in standin.refunds.values() if r["payment_intent"] == intent_id]
    if refunded == 0:
        assert refunds == []
        return
    [refund] = refunds
    assert refund["amount"] == refunded
    assert refund["reverse_transfer"] == "true"
    assert refund["refund_application_fee"] == ("true" if refunded == 10_000 else "false")
    payment = (await paying.get(f"/v1/reservations/{rid}/payment", headers=park.as_requester())).json()
    assert [(r["amount_cents"], r["status"]) for r in payment["refunds"]] == [(refunded, "pending")]
    charge = standin.settle_refund(refund["id"])
    await deliver(paying, standin, "charge.refunded", charge)
    payment = (await paying.get(f"/v1/reservations/{rid}/payment", headers=park.as_requester())).json()
    assert [r["status"] for r in payment["refunds"]] == ["succeeded"]


@pytest.mark.parametrize("who", ["provider", "operator"])
async def test_a_providers_or_operators_cancellation_refunds_in_full(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection, who: str
) -> None:
    rid, intent_id = await _paid(paying, standin, db, park, "strict", 2)
    headers = park.as_provider() if who == "provider" else park.as_operator()
    await act(paying, rid, "cancel", headers, reason="Entrepôt inondé")
    [refund] = standin.refunds.values()
    assert (refund["amount"], refund["refund_application_fee"]) == (10_000, "true")
    assert refund["metadata"]["cancelled_by"] == who
    assert (
        await db.fetchval("SELECT refunded_cents FROM payment_intents WHERE stripe_id = $1", intent_id)
        == 10_000
    )


async def test_refunds_above_what_was_captured_are_refused_by_the_database(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    _, intent_id = await _paid(paying, standin, db, park, "flexible", 48)
    with pytest.raises(asyncpg.CheckViolationError, match="payment_intents_refunds_within_captured"):
        await db.execute(
            "UPDATE payment_intents SET refunded_cents = captured_cents + 1 WHERE stripe_id = $1", intent_id
        )


def test_the_policy_share_is_taken_at_the_cancellation_time() -> None:
    start = hours_from_now(48)
    assert refund_cents(999, "flexible", "requester", start, start - timedelta(hours=23)) == 500  # 499.5 up
    assert refund_cents(999, "strict", "provider", start, start - timedelta(hours=1)) == 999


async def test_a_dispute_marks_the_payment_for_its_parties_and_the_networks_operators(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    rid, intent_id = await _paid(paying, standin, db, park, "flexible", 48)
    snapshot = standin.dispute(intent_id, "product_not_received")
    await deliver(paying, standin, "charge.dispute.created", snapshot)
    for headers in (park.as_operator(), park.as_provider()):
        payment = (await paying.get(f"/v1/reservations/{rid}/payment", headers=headers)).json()
        assert payment["dispute"] == {"status": "needs_response", "reason": "product_not_received"}


async def test_a_payment_succeeding_after_its_reservation_expired_is_refunded_in_full(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    await onboard(paying, standin, park)
    await price(db, park, "fixed", 10_000)
    rid = (await book(paying, park, 1))["id"]
    await act(paying, rid, "accept", park.as_provider())
    [intent_id] = standin.intents
    await db.execute(
        "UPDATE reservations SET expires_at = now() - interval '1 minute' WHERE id = $1::uuid", rid
    )
    async with db.transaction():
        await sweep_due(db)
    standin.pay(intent_id)  # Stripe.js confirmed just before the deadline; the event comes after
    await deliver(paying, standin, "payment_intent.succeeded", dict(standin.intents[intent_id]))
    assert await status_of(db, rid) == "expired"
    [refund] = standin.refunds.values()
    assert (refund["amount"], refund["payment_intent"]) == (10_000, intent_id)
