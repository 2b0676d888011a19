"""Priced services: refused at request while the server takes no payments; with payments
configured, an accepted booking awaits its payment (and expires unpaid)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import msgspec
import pytest
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.observability import RequestContext
from api.reservations.service import sweep_due
from api.settings import Settings
from tests import factories
from tests.api.reservations.conftest import Park, act, book, held, status_of

PRICES = [("fixed", 2400), ("per_day", 1500), ("per_unit", 300), ("negotiable", None)]


async def _price(db: asyncpg.Connection, park: Park, kind: str, cents: int | None) -> None:
    await db.execute(
        "UPDATE listings SET price_kind = $2, price_cents = $3, currency = $4 WHERE id = $1",
        park.storage,
        kind,
        cents,
        None if cents is None else "EUR",
    )


@pytest.fixture
async def paying_client(settings: Settings) -> AsyncIterator[AsyncTestClient[RequestContext]]:
    """The app of a server whose Stripe settings are set."""
    paying = msgspec.structs.replace(settings, stripe_api_key="sk_test_1", stripe_webhook_secret="whsec_1")
    async with AsyncTestClient(app=create_asgi(paying)) as client:
        yield client


@pytest.mark.parametrize(("kind", "cents"), PRICES)
async def test_a_priced_booking_without_payments_is_409_at_request_and_stores_nothing(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection, kind: str, cents: int | None
) -> None:
    await _price(db, park, kind, cents)
    before = await factories.snapshot(db)
    problem = await book(client, park, 1, expected=409)
    assert problem["type"].endswith("/payments-not-configured")
    assert problem["status"] == 409
    assert kind in problem["detail"]
    assert "STRIPE_API_KEY" in problem["detail"]
    assert await factories.snapshot(db) == before


async def test_a_free_booking_needs_no_payments(park: Park, client: AsyncTestClient[RequestContext]) -> None:
    assert (await book(client, park, 1))["status"] == "requested"


async def test_one_stripe_setting_alone_does_not_configure_payments() -> None:
    assert not Settings(stripe_api_key="sk_test_1").payments_configured
    assert not Settings(stripe_webhook_secret="whsec_1").payments_configured
    assert Settings(stripe_api_key="sk_test_1", stripe_webhook_secret="whsec_1").payments_configured


async def test_with_payments_an_accepted_priced_booking_awaits_payment_which_expires_unpaid(
    park: Park, paying_client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    await _price(db, park, "per_day", 1500)
    rid = (await book(paying_client, park, 1))["id"]
    awaiting = await act(paying_client, rid, "accept", park.as_provider())
    assert (awaiting["status"], awaiting["price_kind"]) == ("awaiting_payment", "per_day")
    assert awaiting["expires_at"] is not None
    refused = await act(paying_client, rid, "confirm", park.as_requester(), expected=409)
    assert refused["allowed_actions"] == ["cancel"]  # payment confirms it, not the requester
    assert await held(db, park.storage) == 1
    await db.execute(
        "UPDATE reservations SET expires_at = now() - interval '1 minute' WHERE id = $1::uuid", rid
    )
    async with db.transaction():
        assert await sweep_due(db) == 1
    assert await status_of(db, rid) == "expired"
    assert await held(db, park.storage) == 0
