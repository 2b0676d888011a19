"""Accepts and payments of one priced listing's reservations that really run at the same time
(`tests.concurrency`): capacity is never oversold, one PaymentIntent per reservation, each payment
applied once however its deliveries overlap."""

from __future__ import annotations

import asyncio

import asyncpg
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.observability import RequestContext
from api.settings import Settings
from tests.api.payments.conftest import WEBHOOK, onboard, price
from tests.api.reservations.conftest import Park, book, held
from tests.concurrency import concurrent_client
from tests.stripe_standin import StripeStandIn


async def test_concurrent_accepts_and_payments_on_one_listing_sell_its_capacity_once(
    park: Park,
    paying: AsyncTestClient[RequestContext],
    standin: StripeStandIn,
    db: asyncpg.Connection,
    paying_settings: Settings,
) -> None:
    await onboard(paying, standin, park)
    await price(db, park)
    ids = [(await book(paying, park, 1))["id"] for _ in range(6)]  # 6 x 1 m² of a capacity of 3
    async with concurrent_client(create_asgi(paying_settings)) as client:
        accepts = await asyncio.gather(
            *(client.post(f"/v1/reservations/{rid}/accept", headers=park.as_provider()) for rid in ids)
        )
        codes = sorted(a.status_code for a in accepts)
        assert codes == [200, 200, 200, 409, 409, 409], [a.text for a in accepts]
        assert {a.json()["type"].split("/")[-1] for a in accepts if a.status_code == 409} == {
            "insufficient-capacity"
        }
        # Refused accepts never reached Stripe; each accepted one has its one PaymentIntent.
        assert len(standin.intents) == 3
        for intent_id in standin.intents:
            standin.pay(intent_id)
        # Each payment delivered twice under one event id and once more under another, all at once.
        deliveries = []
        for n, intent in enumerate(list(standin.intents.values())):
            payload, headers = standin.delivery("payment_intent.succeeded", dict(intent), event_id=f"evt_{n}")
            deliveries += [(payload, headers), (payload, headers)]
            deliveries.append(standin.delivery("payment_intent.succeeded", dict(intent)))
        answers = await asyncio.gather(
            *(client.post(WEBHOOK, content=payload, headers=headers) for payload, headers in deliveries)
        )
    assert {a.status_code for a in answers} == {200}
    assert [a.json()["duplicate"] for a in answers].count(True) == 3
    assert await held(db, park.storage) == 3
    assert await db.fetchval("SELECT count(*) FROM reservations WHERE status = 'confirmed'") == 3
    assert await db.fetchval("SELECT count(*) FROM payment_intents") == 3
    pays = await db.fetch(
        "SELECT reservation_id, count(*) AS n FROM reservation_events WHERE action = 'pay' GROUP BY 1"
    )
    assert sorted(p["n"] for p in pays) == [1, 1, 1]


async def test_concurrent_accepts_of_one_reservation_create_one_payment_intent(
    park: Park,
    paying: AsyncTestClient[RequestContext],
    standin: StripeStandIn,
    db: asyncpg.Connection,
    paying_settings: Settings,
) -> None:
    await onboard(paying, standin, park)
    await price(db, park)
    rid = (await book(paying, park, 1))["id"]
    async with concurrent_client(create_asgi(paying_settings)) as client:
        answers = await asyncio.gather(
            *(client.post(f"/v1/reservations/{rid}/accept", headers=park.as_provider()) for _ in range(5))
        )
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409]
    assert {a.json()["current_status"] for a in answers if a.status_code == 409} == {"awaiting_payment"}
    assert len(standin.intents) == 1
    assert await db.fetchval("SELECT count(*) FROM payment_intents") == 1
