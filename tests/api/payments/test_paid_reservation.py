"""A paid reservation end to end through the app, the real `stripe` library and the stand-in."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from api.payments import stripe_client
from api.payments.webhooks import cancel_requested
from api.reservations.service import sweep_due
from api.settings import Settings
from tests.api.payments.conftest import WEBHOOK, deliver, onboard, price
from tests.api.reservations.conftest import Park, act, book, held, status_of
from tests.stripe_standin import StripeStandIn

Client = AsyncTestClient[RequestContext]


async def _fees(db: asyncpg.Connection, park: Park) -> None:
    """10 % plus 0.50 EUR."""
    await db.execute(
        "UPDATE networks SET fee_basis_points = 1000, fee_fixed_cents = 50 WHERE id = $1", park.network
    )


async def _accepted(paying: Client, standin: StripeStandIn, db: asyncpg.Connection, park: Park) -> str:
    await onboard(paying, standin, park)
    await price(db, park)
    await _fees(db, park)
    rid: str = (await book(paying, park, 1))["id"]
    assert (await act(paying, rid, "accept", park.as_provider()))["status"] == "awaiting_payment"
    return rid


async def test_a_paid_reservation_from_request_to_confirmation(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    account = await onboard(paying, standin, park)
    shown = (
        await paying.get(f"/v1/organisations/{park.provider}/payment-account", headers=park.as_provider())
    ).json()
    assert (shown["charges_enabled"], shown["payouts_enabled"], shown["requirements"]) == (True, True, [])
    await price(db, park)
    await _fees(db, park)
    booked = await book(paying, park, 1)  # 4 hours of 1 m² at 15 EUR a day: one started day
    assert booked["price"] == {
        "amount_cents": 1500,
        "fee_cents": 200,
        "provider_share_cents": 1300,
        "currency": "EUR",
    }
    rid = booked["id"]
    assert (await act(paying, rid, "accept", park.as_provider()))["status"] == "awaiting_payment"
    [create] = standin.creates_on("/v1/payment_intents")
    assert create.idempotency_key == f"reservation:{rid}:payment-intent"
    assert create.params["transfer_data"] == {"destination": account}
    assert create.params["on_behalf_of"] == account
    assert (create.params["amount"], create.params["currency"]) == ("1500", "eur")
    assert create.params["application_fee_amount"] == "200"
    payment = (await paying.get(f"/v1/reservations/{rid}/payment", headers=park.as_requester())).json()
    intent = standin.intents[payment["payment_intent_id"]]
    assert payment["client_secret"] == intent["client_secret"]
    assert payment["status"] == "requires_payment_method"
    seen_by_provider = (
        await paying.get(f"/v1/reservations/{rid}/payment", headers=park.as_provider())
    ).json()
    assert seen_by_provider["client_secret"] is None

    standin.pay(intent["id"])
    payload, headers = standin.delivery("payment_intent.succeeded", dict(intent), event_id="evt_paid")
    first = await paying.post(WEBHOOK, content=payload, headers=headers)
    assert first.json() == {"received": True, "duplicate": False}
    assert await status_of(db, rid) == "confirmed"
    events = await db.fetchval("SELECT count(*) FROM reservation_events WHERE reservation_id = $1::uuid", rid)
    replay = await paying.post(WEBHOOK, content=payload, headers=standin.sign(payload))
    assert replay.json() == {"received": True, "duplicate": True}
    assert (
        await db.fetchval("SELECT count(*) FROM reservation_events WHERE reservation_id = $1::uuid", rid)
        == events
    )
    pay_event = await db.fetchrow(
        """SELECT actor_role, from_status FROM reservation_events
           WHERE reservation_id = $1::uuid AND action = 'pay'""",
        rid,
    )
    assert dict(pay_event) == {"actor_role": "system", "from_status": "awaiting_payment"}


async def test_a_priced_service_of_a_provider_without_charges_is_409_at_request(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    await price(db, park)
    problem = await book(paying, park, 1, expected=409)
    assert problem["type"].endswith("/provider-cannot-take-payments")
    created = await paying.post(
        f"/v1/organisations/{park.provider}/payment-account", headers=park.as_provider()
    )
    assert created.status_code == 201
    again = await paying.post(
        f"/v1/organisations/{park.provider}/payment-account", headers=park.as_provider()
    )
    assert (again.status_code, again.json()["stripe_account_id"]) == (
        200,
        created.json()["stripe_account_id"],
    )
    assert len(standin.accounts) == 1
    problem = await book(paying, park, 1, expected=409)  # onboarding not finished
    assert problem["requirements"] == ["external_account", "tos_acceptance.date"]
    link = await paying.post(
        f"/v1/organisations/{park.provider}/payment-account/onboarding-link",
        json={"return_url": "https://carte.example.org/ok", "refresh_url": "https://carte.example.org/again"},
        headers=park.as_provider(),
    )
    assert link.status_code == 200, link.text
    assert link.json()["url"].startswith("https://connect.stripe.com/")
    assert await db.fetchval("SELECT count(*) FROM reservations") == 0


async def test_a_failed_payment_keeps_it_awaiting_with_the_reason_and_a_late_failure_event_changes_nothing(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    rid = await _accepted(paying, standin, db, park)
    [intent_id] = standin.intents
    standin.decline(intent_id, "Votre carte a été refusée.")
    failed_snapshot = dict(standin.intents[intent_id])
    await deliver(paying, standin, "payment_intent.payment_failed", failed_snapshot)
    seen = (await paying.get(f"/v1/reservations/{rid}", headers=park.as_requester())).json()
    assert (seen["status"], seen["payment_failure"]) == ("awaiting_payment", "Votre carte a été refusée.")
    payment = (await paying.get(f"/v1/reservations/{rid}/payment", headers=park.as_requester())).json()
    assert payment["last_error"] == "Votre carte a été refusée."
    standin.pay(intent_id)
    await deliver(paying, standin, "payment_intent.succeeded", dict(standin.intents[intent_id]))
    assert await status_of(db, rid) == "confirmed"
    # Out of order: the failure's event arriving again, late, under a new id. The intent as Stripe
    # has it now has succeeded, so nothing moves.
    await deliver(paying, standin, "payment_intent.payment_failed", failed_snapshot)
    seen = (await paying.get(f"/v1/reservations/{rid}", headers=park.as_requester())).json()
    assert (seen["status"], seen["payment_failure"]) == ("confirmed", None)


async def test_a_success_event_before_the_payment_succeeded_at_stripe_confirms_nothing(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    rid = await _accepted(paying, standin, db, park)
    [intent_id] = standin.intents
    forged_snapshot = {**standin.intents[intent_id], "status": "succeeded"}
    await deliver(paying, standin, "payment_intent.succeeded", forged_snapshot)
    assert await status_of(db, rid) == "awaiting_payment"


@pytest.mark.parametrize("how", ["wrong secret", "tampered body", "too old", "missing"])
async def test_a_bad_signature_is_400_and_records_nothing(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection, how: str
) -> None:
    rid = await _accepted(paying, standin, db, park)
    [intent_id] = standin.intents
    standin.pay(intent_id)
    before = await db.fetchval("SELECT count(*) FROM stripe_events")
    payload, headers = standin.delivery("payment_intent.succeeded", dict(standin.intents[intent_id]))
    if how == "wrong secret":
        headers = standin.sign(payload, secret="whsec_other")
    elif how == "tampered body":
        payload = payload.replace(b'"livemode": false', b'"livemode": true')
    elif how == "too old":
        headers = standin.sign(payload, at=int(__import__("time").time()) - 301)
    else:
        headers = {"Content-Type": "application/json"}
    response = await paying.post(WEBHOOK, content=payload, headers=headers)
    assert response.status_code == 400, response.text
    assert response.json()["type"].endswith("/invalid-signature")
    assert await db.fetchval("SELECT count(*) FROM stripe_events") == before
    assert await status_of(db, rid) == "awaiting_payment"


async def test_an_unknown_event_type_is_acknowledged_and_ignored(
    paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    body = await deliver(paying, standin, "customer.created", {"id": "cus_1", "object": "customer"})
    assert body == {"received": True, "duplicate": False}


async def test_an_accept_retried_after_stripe_timed_out_charges_once(
    park: Park,
    paying: Client,
    standin: StripeStandIn,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    paying_settings: Settings,
) -> None:
    await onboard(paying, standin, park)
    await price(db, park)
    rid = (await book(paying, park, 1))["id"]
    monkeypatch.setattr(stripe_client, "TIMEOUT_S", 0.3)
    from litestar.testing import AsyncTestClient as TestClient

    from api.app import create_asgi

    async with TestClient(app=create_asgi(paying_settings)) as impatient:
        # Stripe does the work each time but answers too late, for the first try and the library's
        # two retries: the accept is 503 and changes nothing here.
        standin.stall(1.0, times=1 + stripe_client.NETWORK_RETRIES)
        response = await impatient.post(f"/v1/reservations/{rid}/accept", headers=park.as_provider())
        assert response.status_code == 503, response.text
        assert response.json()["type"].endswith("/payment-provider-unavailable")
        assert await status_of(db, rid) == "requested"
        assert await held(db, park.storage) == 0
        # The person retries: the same idempotency key gets the PaymentIntent made the first time.
        assert (await act(impatient, rid, "accept", park.as_provider()))["status"] == "awaiting_payment"
    sent = [key for method, path, key in standin.requests if path == "/v1/payment_intents"]
    assert len(sent) == 2 + stripe_client.NETWORK_RETRIES
    assert set(sent) == {f"reservation:{rid}:payment-intent"}
    assert len(standin.intents) == 1
    [stored] = await db.fetch("SELECT stripe_id FROM payment_intents")
    assert stored["stripe_id"] in standin.intents


async def test_one_live_payment_intent_per_reservation_is_a_constraint(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    rid = await _accepted(paying, standin, db, park)
    with pytest.raises(asyncpg.UniqueViolationError, match="payment_intents_one_live"):
        await db.execute(
            """INSERT INTO payment_intents (stripe_id, reservation_id, amount_cents, fee_cents, currency,
                   destination, client_secret, status)
               SELECT 'pi_second', reservation_id, amount_cents, fee_cents, currency, destination, 's',
                      'requires_payment_method'
               FROM payment_intents WHERE reservation_id = $1::uuid""",
            rid,
        )


async def test_expiry_cancels_the_payment_intent_at_stripe(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection, paying_settings: Settings
) -> None:
    rid = await _accepted(paying, standin, db, park)
    [intent_id] = standin.intents
    await db.execute(
        "UPDATE reservations SET expires_at = now() - interval '1 minute' WHERE id = $1::uuid", rid
    )
    async with db.transaction():
        assert await sweep_due(db) == 1
    assert await status_of(db, rid) == "expired"
    made = stripe_client.create_stripe(paying_settings)
    assert made is not None
    pool = await asyncpg.create_pool(paying_settings.database_url, min_size=1, max_size=2)
    try:
        assert await cancel_requested(pool, made[0]) == 1
        assert await cancel_requested(pool, made[0]) == 0  # done once
    finally:
        await pool.close()
        await made[1].close_async()  # type: ignore[no-untyped-call]
    assert standin.intents[intent_id]["status"] == "canceled"
    assert (
        await db.fetchval("SELECT status FROM payment_intents WHERE stripe_id = $1", intent_id) == "canceled"
    )
    problem = (await paying.get(f"/v1/reservations/{rid}/payment", headers=park.as_requester())).json()
    assert problem["type"].endswith("/no-payment")
