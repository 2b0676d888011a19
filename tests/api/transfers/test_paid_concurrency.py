"""Accepts and payments of one priced offer's transfers that really run at the same time
(`tests.concurrency`): the stock never goes below zero, one PaymentIntent per accepted transfer and
none for a refused one, each payment applied once however its deliveries overlap."""

from __future__ import annotations

import asyncio

import asyncpg
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.observability import RequestContext
from api.settings import Settings
from tests import factories
from tests.api.payments.conftest import WEBHOOK
from tests.api.transfers.conftest import Park, available
from tests.api.transfers.test_paid import onboard_giver, priced
from tests.concurrency import concurrent_client
from tests.stripe_standin import StripeStandIn

Client = AsyncTestClient[RequestContext]


async def test_concurrent_accepts_and_payments_on_one_offer_sell_its_stock_once(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection, paying_settings: Settings
) -> None:
    await onboard_giver(paying, standin, park)
    await priced(db, park)
    await db.execute("UPDATE listings SET quantity = 7, available_quantity = 7 WHERE id = $1", park.offer)
    ids = []
    for i in range(10):  # ten takers asking 1 pallet each of a stock of 7
        taker = await factories.organisation(db, f"Taker {i}", staff=(park.tom,))
        await factories.membership(db, park.network, taker, "active")
        asked = await paying.post(
            f"/v1/listings/{park.offer}/transfers", json={"quantity": "1"}, headers=park.tom.headers(taker)
        )
        assert asked.status_code == 201, asked.text
        ids.append((asked.json()["id"], taker))
    async with concurrent_client(create_asgi(paying_settings)) as client:
        accepts = await asyncio.gather(
            *(client.post(f"/v1/transfers/{tid}/accept", json={}, headers=park.as_giver()) for tid, _ in ids)
        )
        codes = [a.status_code for a in accepts]
        assert sorted(codes) == [200] * 7 + [409] * 3, [a.text for a in accepts]
        assert {a.json()["type"].split("/")[-1] for a in accepts if a.status_code == 409} == {
            "insufficient-quantity"
        }
        assert len(standin.intents) == 7  # the refused ones never reached Stripe
        for intent_id in standin.intents:
            standin.pay(intent_id)
        deliveries = []
        for n, intent in enumerate(list(standin.intents.values())):
            payload, headers = standin.delivery(
                "payment_intent.succeeded", dict(intent), event_id=f"evt_t{n}"
            )
            deliveries += [(payload, headers), (payload, headers)]
            deliveries.append(standin.delivery("payment_intent.succeeded", dict(intent)))
        answers = await asyncio.gather(
            *(client.post(WEBHOOK, content=payload, headers=headers) for payload, headers in deliveries)
        )
    assert {a.status_code for a in answers} == {200}
    assert [a.json()["duplicate"] for a in answers].count(True) == 7
    assert await available(db, park.offer) == 0
    assert await db.fetchval("SELECT count(*) FROM transfers WHERE status = 'paid'") == 7
    assert await db.fetchval("SELECT count(*) FROM payment_intents WHERE transfer_id IS NOT NULL") == 7
    pays = await db.fetch(
        "SELECT transfer_id, count(*) AS n FROM transfer_events WHERE action = 'pay' GROUP BY 1"
    )
    assert sorted(p["n"] for p in pays) == [1] * 7


async def test_concurrent_accepts_of_one_transfer_create_one_payment_intent(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection, paying_settings: Settings
) -> None:
    await onboard_giver(paying, standin, park)
    await priced(db, park)
    asked = await paying.post(
        f"/v1/listings/{park.offer}/transfers", json={"quantity": "3"}, headers=park.as_taker()
    )
    tid = asked.json()["id"]
    async with concurrent_client(create_asgi(paying_settings)) as client:
        answers = await asyncio.gather(
            *(client.post(f"/v1/transfers/{tid}/accept", json={}, headers=park.as_giver()) for _ in range(5))
        )
    assert sorted(a.status_code for a in answers) == [200, 409, 409, 409, 409]
    assert {a.json()["current_status"] for a in answers if a.status_code == 409} == {"awaiting_payment"}
    assert len(standin.intents) == 1
    assert await available(db, park.offer) == 37
