"""`symbiose payments reconcile`: what a lost webhook would have done, applied from Stripe's state."""

from __future__ import annotations

import asyncio

import asyncpg
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from api.cli import main
from api.observability import RequestContext
from api.settings import Settings
from tests.api.payments.conftest import onboard, price
from tests.api.reservations.conftest import Park, act, book, status_of
from tests.stripe_standin import StripeStandIn


async def test_reconcile_confirms_a_payment_whose_webhook_was_lost_and_records_a_failure(
    park: Park,
    paying: AsyncTestClient[RequestContext],
    standin: StripeStandIn,
    db: asyncpg.Connection,
    paying_settings: Settings,
) -> None:
    await onboard(paying, standin, park)
    await price(db, park)
    paid = (await book(paying, park, 1))["id"]
    declined = (await book(paying, park, 1))["id"]
    for rid in (paid, declined):
        await act(paying, rid, "accept", park.as_provider())
    intents = {i["metadata"]["reservation_id"]: i["id"] for i in standin.intents.values()}
    standin.pay(intents[paid])
    standin.decline(intents[declined])
    env = {
        "DATABASE_URL": str(paying_settings.database_url),
        "STRIPE_API_KEY": "sk_test_standin",
        "STRIPE_WEBHOOK_SECRET": standin.webhook_secret,
        "STRIPE_API_BASE": str(paying_settings.stripe_api_base),
        "SYMBIOSE_DATA_DIR": paying_settings.symbiose_data_dir,
    }
    result = await asyncio.to_thread(CliRunner().invoke, main, ["payments", "reconcile"], env=env)
    assert result.exit_code == 0, result.output
    assert "looked up 2 payments awaiting" in result.output
    assert await status_of(db, paid) == "confirmed"
    assert await status_of(db, declined) == "awaiting_payment"
    failure = await db.fetchval("SELECT payment_failure FROM reservations WHERE id = $1::uuid", declined)
    assert failure == "Your card was declined."


async def test_reconcile_without_payments_configured_says_so(settings: Settings) -> None:
    env = {"DATABASE_URL": str(settings.database_url), "SYMBIOSE_DATA_DIR": settings.symbiose_data_dir}
    result = await asyncio.to_thread(CliRunner().invoke, main, ["payments", "reconcile"], env=env)
    assert result.exit_code != 0
    assert "STRIPE_API_KEY" in result.output


async def test_the_sweep_reconciles_payments_too(
    park: Park,
    paying: AsyncTestClient[RequestContext],
    standin: StripeStandIn,
    db: asyncpg.Connection,
    paying_settings: Settings,
) -> None:
    await onboard(paying, standin, park)
    await price(db, park)
    rid = (await book(paying, park, 1))["id"]
    await act(paying, rid, "accept", park.as_provider())
    [intent_id] = standin.intents
    standin.pay(intent_id)
    env = {
        "DATABASE_URL": str(paying_settings.database_url),
        "STRIPE_API_KEY": "sk_test_standin",
        "STRIPE_WEBHOOK_SECRET": standin.webhook_secret,
        "STRIPE_API_BASE": str(paying_settings.stripe_api_base),
        "SYMBIOSE_DATA_DIR": paying_settings.symbiose_data_dir,
    }
    result = await asyncio.to_thread(CliRunner().invoke, main, ["sweep"], env=env)
    assert result.exit_code == 0, result.output
    assert "looked up 1 payments awaiting" in result.output
    assert await status_of(db, rid) == "confirmed"
