"""A server taking payments through the Stripe stand-in, and a park whose storage costs 15 EUR a day."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.observability import RequestContext
from api.settings import Settings
from tests.api.reservations.conftest import (
    Park,
    park,  # noqa: F401  (the fixture, by its name)
)
from tests.stripe_standin import StripeStandIn

WEBHOOK = "/v1/payments/stripe/webhook"


@pytest.fixture
def standin() -> Iterator[StripeStandIn]:
    server = StripeStandIn()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def paying_settings(settings: Settings, standin: StripeStandIn) -> Settings:
    assert standin._server is not None
    base = f"http://127.0.0.1:{standin._server.server_address[1]}"
    return msgspec.structs.replace(
        settings,
        stripe_api_key="sk_test_standin",
        stripe_webhook_secret=standin.webhook_secret,
        stripe_api_base=base,
    )


@pytest.fixture
async def paying(paying_settings: Settings) -> AsyncIterator[AsyncTestClient[RequestContext]]:
    async with AsyncTestClient(app=create_asgi(paying_settings)) as client:
        yield client


async def price(db: asyncpg.Connection, where: Park, kind: str = "per_day", cents: int = 1500) -> None:
    await db.execute(
        "UPDATE listings SET price_kind = $2, price_cents = $3, currency = 'EUR' WHERE id = $1",
        where.storage,
        kind,
        cents,
    )


async def deliver(
    client: AsyncTestClient[RequestContext],
    standin: StripeStandIn,
    event_type: str,
    obj: dict[str, Any],
    expected: int = 200,
    **kwargs: Any,
) -> dict[str, Any]:
    payload, headers = standin.delivery(event_type, obj, **kwargs)
    response = await client.post(WEBHOOK, content=payload, headers=headers)
    assert response.status_code == expected, response.text
    result: dict[str, Any] = response.json()
    return result


async def onboard(client: AsyncTestClient[RequestContext], standin: StripeStandIn, where: Park) -> str:
    """The provider opens its account, finishes Stripe's onboarding; `account.updated` tells us."""
    response = await client.post(
        f"/v1/organisations/{where.provider}/payment-account", headers=where.as_provider()
    )
    assert response.status_code == 201, response.text
    account_id: str = response.json()["stripe_account_id"]
    standin.finish_onboarding(account_id)
    await deliver(client, standin, "account.updated", standin.accounts[account_id])
    return account_id
