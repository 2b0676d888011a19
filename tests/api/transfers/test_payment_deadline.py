"""The deadline for paying a priced transfer (TRANSFER_PAYMENT_HOURS), through the app, the real
`stripe` library and the stand-in: set at accept, past it the sweep cancels the transfer as the
system, returns its quantity and cancels its PaymentIntent; a payment arriving after is refunded."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import asyncpg
import msgspec
import pytest
import stripe
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.observability import RequestContext
from api.payments import stripe_client
from api.payments.webhooks import cancel_requested
from api.settings import Settings
from api.transfers.service import expire_all_unpaid, expire_unpaid
from tests.api.payments.conftest import WEBHOOK, deliver
from tests.api.transfers.conftest import Park, act, available
from tests.api.transfers.test_paid import accepted, ask, intent_of, onboard_giver, priced, status_of
from tests.concurrency import concurrent_client
from tests.stripe_standin import StripeStandIn

Client = AsyncTestClient[RequestContext]


@pytest.fixture
async def stripe_pool(paying_settings: Settings) -> AsyncIterator[tuple[stripe.StripeClient, asyncpg.Pool]]:
    """What the sweep holds: the app's Stripe client and a pool of its own."""
    made = stripe_client.create_stripe(paying_settings)
    assert made is not None
    pool = await asyncpg.create_pool(paying_settings.database_url, min_size=1, max_size=4)
    try:
        yield made[0], pool
    finally:
        await pool.close()
        await made[1].close_async()  # type: ignore[no-untyped-call]


async def overdue(db: asyncpg.Connection, tid: str) -> None:
    await db.execute(
        "UPDATE transfers SET payment_due_at = now() - interval '1 minute' WHERE id = $1::uuid", tid
    )


async def test_the_deadline_is_set_at_accept_from_the_setting_shown_and_cleared_once_paid(
    park: Park, standin: StripeStandIn, db: asyncpg.Connection, paying_settings: Settings
) -> None:
    settings = msgspec.structs.replace(paying_settings, transfer_payment_hours=5)
    async with AsyncTestClient(app=create_asgi(settings)) as client:
        await onboard_giver(client, standin, park)
        await priced(db, park)
        tid = (await ask(client, park))["id"]
        before = datetime.now(UTC)
        answer = await act(client, tid, "accept", park.as_giver())
        after = datetime.now(UTC)
        due = datetime.fromisoformat(answer["payment_due_at"])
        assert before + timedelta(hours=5) - timedelta(seconds=1) <= due <= after + timedelta(hours=5)
        feed = (await client.get("/v1/events", headers=park.as_taker())).json()["items"]
        [waiting] = [e for e in feed if e["type"] == "transfer.awaiting_payment"]
        assert datetime.fromisoformat(waiting["resource"]["payment_due_at"]) == due
        intent_id = intent_of(standin, tid)
        standin.pay(intent_id)
        await deliver(client, standin, "payment_intent.succeeded", dict(standin.intents[intent_id]))
        seen = (await client.get(f"/v1/transfers/{tid}", headers=park.as_taker())).json()
        assert (seen["status"], seen["payment_due_at"]) == ("paid", None)


async def test_past_the_deadline_the_sweep_cancels_returns_the_stock_and_cancels_the_intent(
    park: Park,
    paying: Client,
    standin: StripeStandIn,
    db: asyncpg.Connection,
    stripe_pool: tuple[stripe.StripeClient, asyncpg.Pool],
) -> None:
    tid = await accepted(paying, standin, db, park)
    waiting = (await ask(paying, park, "5"))["id"]
    await act(paying, waiting, "accept", park.as_giver())
    assert await available(db, park.offer) == 25
    await overdue(db, tid)
    assert await expire_all_unpaid(db) == 1
    assert await expire_all_unpaid(db) == 0  # once
    seen = (await paying.get(f"/v1/transfers/{tid}", headers=park.as_taker())).json()
    assert (seen["status"], seen["payment_due_at"], seen["allowed_actions"]) == ("cancelled", None, [])
    last = seen["events"][-1]
    assert (last["action"], last["from_status"], last["actor_role"], last["actor_user_id"]) == (
        "expire",
        "awaiting_payment",
        "system",
        None,
    )
    assert last["reason"].startswith("not paid by ")
    assert await available(db, park.offer) == 35  # the 10 are back; the 5 still wait for payment
    assert await status_of(db, waiting) == "awaiting_payment"
    feed = (await paying.get("/v1/events", headers=park.as_giver())).json()["items"]
    [cancelled] = [e for e in feed if e["type"] == "transfer.cancelled"]
    assert (cancelled["resource_id"], cancelled["actor"]["role"]) == (tid, "system")

    client, pool = stripe_pool
    intent_id = intent_of(standin, tid)
    assert await cancel_requested(pool, client) == 1
    assert await cancel_requested(pool, client) == 0  # done once
    assert (standin.intents[intent_id]["status"], standin.intents[intent_id]["cancellation_reason"]) == (
        "canceled",
        "abandoned",
    )
    cancels = [key for method, path, key in standin.requests if path.endswith("/cancel")]
    assert cancels == [f"{intent_id}:cancel"]
    assert standin.intents[intent_of(standin, waiting)]["status"] == "requires_payment_method"
    problem = (await paying.get(f"/v1/transfers/{tid}/payment", headers=park.as_taker())).json()
    assert problem["type"].endswith("/no-payment")


async def test_a_payment_reported_after_the_expiry_is_refunded_in_full_once(
    park: Park,
    paying: Client,
    standin: StripeStandIn,
    db: asyncpg.Connection,
    stripe_pool: tuple[stripe.StripeClient, asyncpg.Pool],
) -> None:
    tid = await accepted(paying, standin, db, park)
    intent_id = intent_of(standin, tid)
    await overdue(db, tid)
    await expire_all_unpaid(db)
    standin.pay(intent_id)  # Stripe.js confirmed just before the deadline; the event comes after
    await deliver(paying, standin, "payment_intent.succeeded", dict(standin.intents[intent_id]))
    assert await status_of(db, tid) == "cancelled"
    [refund] = standin.refunds.values()
    assert (refund["amount"], refund["payment_intent"]) == (2500, intent_id)
    assert (refund["refund_application_fee"], refund["metadata"]["cancelled_by"]) == ("true", "system")
    # The sweep's cancellation then finds it paid at Stripe: nothing is cancelled or refunded twice.
    client, pool = stripe_pool
    assert await cancel_requested(pool, client) == 0
    assert len(standin.refunds) == 1
    assert standin.intents[intent_id]["status"] == "succeeded"
    assert await available(db, park.offer) == 40


async def test_a_payment_whose_webhook_was_lost_is_refunded_by_the_sweeps_cancellation(
    park: Park,
    paying: Client,
    standin: StripeStandIn,
    db: asyncpg.Connection,
    stripe_pool: tuple[stripe.StripeClient, asyncpg.Pool],
) -> None:
    tid = await accepted(paying, standin, db, park)
    intent_id = intent_of(standin, tid)
    standin.pay(intent_id)  # and the delivery never comes
    await overdue(db, tid)
    assert await expire_all_unpaid(db) == 1
    client, pool = stripe_pool
    assert await cancel_requested(pool, client) == 1  # looked up: succeeded, so refunded, not cancelled
    [refund] = standin.refunds.values()
    assert (refund["amount"], refund["metadata"]["cancelled_by"]) == (2500, "system")
    assert not [path for _, path, _ in standin.requests if path.endswith("/cancel")]
    await deliver(paying, standin, "payment_intent.succeeded", dict(standin.intents[intent_id]))
    assert len(standin.refunds) == 1
    assert await status_of(db, tid) == "cancelled"


async def test_payments_racing_the_expiry_end_paid_or_refunded_never_charged_and_cancelled(
    park: Park,
    paying: Client,
    standin: StripeStandIn,
    db: asyncpg.Connection,
    paying_settings: Settings,
    stripe_pool: tuple[stripe.StripeClient, asyncpg.Pool],
) -> None:
    await onboard_giver(paying, standin, park)
    await priced(db, park)
    ids = []
    for _ in range(8):  # 8 x 5 of the 40 pallets
        tid = (await ask(paying, park, "5"))["id"]
        await act(paying, tid, "accept", park.as_giver())
        standin.pay(intent_of(standin, tid))  # every taker pays, just before the deadline
        ids.append(tid)
    await db.execute("UPDATE transfers SET payment_due_at = now() - interval '1 second'")
    client, pool = stripe_pool

    async def sweep() -> int:
        """One transfer a transaction, so that deliveries land between the sweep's steps."""
        total = 0
        async with pool.acquire() as conn:
            while True:
                async with conn.transaction():
                    expired = await expire_unpaid(conn, batch=1)
                if not expired:
                    return total
                total += expired

    async with concurrent_client(create_asgi(paying_settings)) as concurrent:
        deliveries = [
            standin.delivery("payment_intent.succeeded", dict(standin.intents[intent_of(standin, tid)]))
            for tid in ids
        ]
        expired, *answers = await asyncio.gather(
            sweep(), *(concurrent.post(WEBHOOK, content=p, headers=h) for p, h in deliveries)
        )
    assert {a.status_code for a in answers} == {200}, [a.text for a in answers]
    await cancel_requested(pool, client)
    refunded = {r["metadata"]["transfer_id"]: r["amount"] for r in standin.refunds.values()}
    outcomes = {tid: await status_of(db, tid) for tid in ids}
    assert set(outcomes.values()) <= {"paid", "cancelled"}
    cancelled = [tid for tid, status in outcomes.items() if status == "cancelled"]
    assert len(cancelled) == expired
    assert refunded == {tid: 1250 for tid in cancelled}  # every cancelled one refunded in full, once
    assert len(standin.refunds) == len(cancelled)
    assert await available(db, park.offer) == 5 * len(cancelled)
    assert all(standin.intents[intent_of(standin, tid)]["status"] == "succeeded" for tid in ids)
