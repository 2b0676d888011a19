"""Stripe's deliveries are not counted by the anonymous rate limit, which still holds elsewhere, and
an unsigned delivery is refused before the database is touched."""

from __future__ import annotations

import asyncio

import msgspec
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.settings import Settings
from tests.api.payments.conftest import WEBHOOK
from tests.concurrency import concurrent_client
from tests.stripe_standin import StripeStandIn


async def test_a_burst_of_deliveries_past_the_anonymous_limit_is_all_applied(
    paying_settings: Settings, standin: StripeStandIn
) -> None:
    strict = msgspec.structs.replace(paying_settings, rate_limit_anonymous_per_minute=3)
    async with AsyncTestClient(app=create_asgi(strict)) as client:
        for n in range(10):
            payload, headers = standin.delivery("customer.created", {"id": f"cus_{n}", "object": "customer"})
            response = await client.post(WEBHOOK, content=payload, headers=headers)
            assert response.status_code == 200, (n, response.text)
            assert "ratelimit-limit" not in response.headers
        answers = [(await client.get("/v1/networks")).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]


async def test_an_unsigned_delivery_is_refused_without_a_database_connection(
    paying_settings: Settings, standin: StripeStandIn
) -> None:
    one = msgspec.structs.replace(paying_settings, database_pool_max_size=1, database_pool_min_size=1)
    asgi = create_asgi(one)
    async with concurrent_client(asgi) as client:
        pool = asgi.app.state.pool  # type: ignore[attr-defined]
        held = await pool.acquire()  # the only connection: a handler that needed one would wait
        try:
            payload, _ = standin.delivery("payment_intent.succeeded", {"id": "pi_x"})
            bad = standin.sign(payload, secret="whsec_wrong")
            response = await asyncio.wait_for(client.post(WEBHOOK, content=payload, headers=bad), 10)
        finally:
            await pool.release(held)
    assert response.status_code == 400
    assert response.json()["type"].endswith("/invalid-signature")
