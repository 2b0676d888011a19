"""Priced services: refused at request while the server takes no payments (the paid path is in
tests/api/payments)."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from api.settings import Settings
from tests import factories
from tests.api.reservations.conftest import Park, book

PRICES = [("fixed", 2400), ("per_day", 1500), ("per_unit", 300), ("negotiable", None)]


async def _price(db: asyncpg.Connection, park: Park, kind: str, cents: int | None) -> None:
    await db.execute(
        "UPDATE listings SET price_kind = $2, price_cents = $3, currency = $4 WHERE id = $1",
        park.storage,
        kind,
        cents,
        None if cents is None else "EUR",
    )


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
