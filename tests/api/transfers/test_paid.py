"""A transfer of a priced material, paid by the taker through the app, the real `stripe` library and
the stand-in: accept, pay, schedule, refunds, failures, replays, retries and Stripe's side lost."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.observability import RequestContext
from api.payments import stripe_client
from api.payments.webhooks import cancel_requested, reconcile
from api.settings import Settings
from tests.api.payments.conftest import WEBHOOK, deliver
from tests.api.transfers.conftest import Park, act, available
from tests.stripe_standin import StripeStandIn

Client = AsyncTestClient[RequestContext]
PLAN = {"scheduled_for": "2026-03-02T08:00:00Z", "transport_mode": "road"}


async def onboard_giver(client: Client, standin: StripeStandIn, park: Park) -> str:
    """The giver opens its account and finishes Stripe's onboarding; `account.updated` tells us."""
    response = await client.post(f"/v1/organisations/{park.giver}/payment-account", headers=park.as_giver())
    assert response.status_code == 201, response.text
    account_id: str = response.json()["stripe_account_id"]
    standin.finish_onboarding(account_id)
    await deliver(client, standin, "account.updated", standin.accounts[account_id])
    return account_id


async def priced(db: asyncpg.Connection, park: Park, kind: str = "per_unit", cents: int = 250) -> None:
    """Pallets at 2.50 EUR each; the network takes 10 % plus 0.50 EUR."""
    await db.execute(
        "UPDATE listings SET price_kind = $2, price_cents = $3, currency = 'EUR' WHERE id = $1",
        park.offer,
        kind,
        cents,
    )
    await db.execute(
        "UPDATE networks SET fee_basis_points = 1000, fee_fixed_cents = 50 WHERE id = $1", park.network
    )


async def ask(client: Client, park: Park, quantity: str = "10", expected: int = 201) -> dict[str, Any]:
    response = await client.post(
        f"/v1/listings/{park.offer}/transfers", json={"quantity": quantity}, headers=park.as_taker()
    )
    assert response.status_code == expected, response.text
    body: dict[str, Any] = response.json()
    return body


async def accepted(client: Client, standin: StripeStandIn, db: asyncpg.Connection, park: Park) -> str:
    await onboard_giver(client, standin, park)
    await priced(db, park)
    tid: str = (await ask(client, park))["id"]
    assert (await act(client, tid, "accept", park.as_giver()))["status"] == "awaiting_payment"
    return tid


def intent_of(standin: StripeStandIn, tid: str) -> str:
    [intent_id] = [i for i, v in standin.intents.items() if v["metadata"].get("transfer_id") == tid]
    return intent_id


async def paid(client: Client, standin: StripeStandIn, db: asyncpg.Connection, park: Park) -> tuple[str, str]:
    tid = await accepted(client, standin, db, park)
    intent_id = intent_of(standin, tid)
    standin.pay(intent_id)
    await deliver(client, standin, "payment_intent.succeeded", dict(standin.intents[intent_id]))
    assert await status_of(db, tid) == "paid"
    return tid, intent_id


async def status_of(db: asyncpg.Connection, tid: str) -> str:
    status: str = await db.fetchval("SELECT status FROM transfers WHERE id = $1::uuid", tid)
    return status


async def test_a_paid_transfer_from_request_to_completion(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    account = await onboard_giver(paying, standin, park)
    await priced(db, park)
    asked = await ask(paying, park, "10")
    # 10 x 2.50 EUR; the fee is 10 % (2.50) plus 0.50.
    assert asked["price"] == {
        "amount_cents": 2500,
        "fee_cents": 300,
        "provider_share_cents": 2200,
        "currency": "EUR",
    }
    assert asked["unit_price_cents"] == 250
    tid = asked["id"]
    answer = await act(paying, tid, "accept", park.as_giver(), quantity="4")
    assert answer["status"] == "awaiting_payment"
    assert answer["price"] == {  # the agreed 4, on the terms copied at request
        "amount_cents": 1000,
        "fee_cents": 150,
        "provider_share_cents": 850,
        "currency": "EUR",
    }
    assert await available(db, park.offer) == 36
    [create] = standin.creates_on("/v1/payment_intents")
    assert create.idempotency_key == f"transfer:{tid}:payment-intent"
    assert create.params["transfer_data"] == {"destination": account}
    assert create.params["on_behalf_of"] == account
    assert (create.params["amount"], create.params["currency"]) == ("1000", "eur")
    assert create.params["application_fee_amount"] == "150"
    # Not scheduled before it is paid.
    problem = await act(paying, tid, "schedule", park.as_giver(), 409, **PLAN)
    assert (problem["current_status"], problem["allowed_actions"]) == ("awaiting_payment", ["cancel"])
    payment = (await paying.get(f"/v1/transfers/{tid}/payment", headers=park.as_taker())).json()
    intent = standin.intents[payment["payment_intent_id"]]
    assert payment["client_secret"] == intent["client_secret"]
    assert (payment["status"], payment["price"]["amount_cents"]) == ("requires_payment_method", 1000)
    for headers in (park.as_giver(), park.as_operator()):
        seen = (await paying.get(f"/v1/transfers/{tid}/payment", headers=headers)).json()
        assert (seen["payment_intent_id"], seen["client_secret"]) == (intent["id"], None)

    standin.pay(intent["id"])
    await deliver(paying, standin, "payment_intent.succeeded", dict(intent))
    assert await status_of(db, tid) == "paid"
    pay = await db.fetchrow(
        "SELECT actor_role, from_status FROM transfer_events WHERE transfer_id = $1::uuid AND action = 'pay'",
        tid,
    )
    assert dict(pay) == {"actor_role": "system", "from_status": "awaiting_payment"}
    published = await db.fetchval(
        "SELECT count(*) FROM events WHERE resource_id = $1::uuid AND type = 'transfer.paid'", tid
    )
    assert published == 1

    await act(paying, tid, "schedule", park.as_taker(), **PLAN)
    await act(paying, tid, "dispatch", park.as_giver())
    await act(paying, tid, "receive", park.as_taker(), received_quantity="4")
    done = await act(paying, tid, "complete", park.as_taker())
    assert done["status"] == "completed"
    assert Decimal(done["impact"]["quantity"]) == 4  # paid, the impact is counted all the same

    report = (await paying.get(f"/v1/networks/{park.network}/payments", headers=park.as_operator())).json()
    [row] = report["rows"]
    assert (row["organisation_id"], row["payments"], row["gross_cents"], row["fee_cents"]) == (
        str(park.giver),
        1,
        1000,
        150,
    )
    assert (row["refund_cents"], row["net_to_providers_cents"]) == (0, 850)


async def test_the_amount_is_rounded_once_half_up_and_the_fee_too(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    await onboard_giver(paying, standin, park)
    await priced(db, park, "per_unit", 333)
    # 2.5 x 3.33 = 8.325 EUR: 832.5 cents, 833; the fee 10 % of 833 = 83.3, 83, plus 50.
    assert (await ask(paying, park, "2.5"))["price"] == {
        "amount_cents": 833,
        "fee_cents": 133,
        "provider_share_cents": 700,
        "currency": "EUR",
    }
    await priced(db, park, "fixed", 4000)  # the lot, whatever quantity is asked
    assert (await ask(paying, park, "7"))["price"]["amount_cents"] == 4000


async def test_a_priced_offer_is_refused_at_request_without_payments_or_a_giver_who_takes_them(
    park: Park, client: Client, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    await priced(db, park)
    problem = await ask(client, park, expected=409)  # this server takes no payments
    assert problem["type"].endswith("/payments-not-configured")
    problem = await ask(paying, park, expected=409)  # the giver has no account
    assert problem["type"].endswith("/provider-cannot-take-payments")
    opened = await paying.post(f"/v1/organisations/{park.giver}/payment-account", headers=park.as_giver())
    assert opened.status_code == 201
    problem = await ask(paying, park, expected=409)  # onboarding not finished
    assert problem["requirements"] == ["external_account", "tos_acceptance.date"]
    await db.execute("UPDATE listings SET price_kind = 'negotiable' WHERE id = $1", park.offer)
    negotiable = await ask(client, park)  # agreed between the members, not paid online
    assert negotiable["price"] is None
    assert await db.fetchval("SELECT count(*) FROM transfers") == 1


async def test_a_failed_payment_keeps_it_awaiting_with_the_reason_and_late_events_change_nothing(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    tid = await accepted(paying, standin, db, park)
    intent_id = intent_of(standin, tid)
    standin.decline(intent_id, "Votre carte a été refusée.")
    failed_snapshot = dict(standin.intents[intent_id])
    await deliver(paying, standin, "payment_intent.payment_failed", failed_snapshot)
    seen = (await paying.get(f"/v1/transfers/{tid}", headers=park.as_taker())).json()
    assert (seen["status"], seen["payment_failure"]) == ("awaiting_payment", "Votre carte a été refusée.")
    payment = (await paying.get(f"/v1/transfers/{tid}/payment", headers=park.as_taker())).json()
    assert payment["last_error"] == "Votre carte a été refusée."
    standin.pay(intent_id)
    succeeded = dict(standin.intents[intent_id])
    payload, headers = standin.delivery("payment_intent.succeeded", succeeded, event_id="evt_transfer_paid")
    assert (await paying.post(WEBHOOK, content=payload, headers=headers)).json()["duplicate"] is False
    events = await db.fetchval("SELECT count(*) FROM transfer_events WHERE transfer_id = $1::uuid", tid)
    # The same delivery again, then the failure's event late under a new id: Stripe has it
    # succeeded now, so nothing moves.
    replay = await paying.post(WEBHOOK, content=payload, headers=standin.sign(payload))
    assert replay.json() == {"received": True, "duplicate": True}
    await deliver(paying, standin, "payment_intent.payment_failed", failed_snapshot)
    seen = (await paying.get(f"/v1/transfers/{tid}", headers=park.as_taker())).json()
    assert (seen["status"], seen["payment_failure"]) == ("paid", None)
    assert (
        await db.fetchval("SELECT count(*) FROM transfer_events WHERE transfer_id = $1::uuid", tid) == events
    )


async def test_a_success_event_before_stripe_has_the_payment_pays_nothing(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    tid = await accepted(paying, standin, db, park)
    forged = {**standin.intents[intent_of(standin, tid)], "status": "succeeded"}
    await deliver(paying, standin, "payment_intent.succeeded", forged)
    assert await status_of(db, tid) == "awaiting_payment"


async def test_an_accept_retried_after_stripe_timed_out_charges_once(
    park: Park,
    paying: Client,
    standin: StripeStandIn,
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
    paying_settings: Settings,
) -> None:
    await onboard_giver(paying, standin, park)
    await priced(db, park)
    tid = (await ask(paying, park))["id"]
    monkeypatch.setattr(stripe_client, "TIMEOUT_S", 0.3)
    async with AsyncTestClient(app=create_asgi(paying_settings)) as impatient:
        # Stripe does the work each time but answers too late, for the first try and the library's
        # retries: the accept is 503 and changes nothing here.
        standin.stall(1.0, times=1 + stripe_client.NETWORK_RETRIES)
        response = await impatient.post(f"/v1/transfers/{tid}/accept", json={}, headers=park.as_giver())
        assert response.status_code == 503, response.text
        assert response.json()["type"].endswith("/payment-provider-unavailable")
        assert await status_of(db, tid) == "requested"
        assert await available(db, park.offer) == 40
        assert (await act(impatient, tid, "accept", park.as_giver()))["status"] == "awaiting_payment"
    sent = [key for method, path, key in standin.requests if path == "/v1/payment_intents"]
    assert len(sent) == 2 + stripe_client.NETWORK_RETRIES
    assert set(sent) == {f"transfer:{tid}:payment-intent"}
    assert len(standin.intents) == 1
    assert await db.fetchval("SELECT count(*) FROM payment_intents WHERE transfer_id = $1::uuid", tid) == 1
    assert await available(db, park.offer) == 30


@pytest.mark.parametrize("who", ["giver", "taker"])
async def test_a_paid_transfer_cancelled_by_either_party_is_refunded_in_full(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection, who: str
) -> None:
    tid, intent_id = await paid(paying, standin, db, park)
    await act(paying, tid, "schedule", park.as_giver(), **PLAN)
    headers = park.as_giver() if who == "giver" else park.as_taker()
    cancelled = await act(paying, tid, "cancel", headers, reason="Camion en panne")
    assert cancelled["status"] == "cancelled"
    assert await available(db, park.offer) == 40
    [refund] = standin.refunds.values()
    assert (refund["amount"], refund["payment_intent"]) == (2500, intent_id)
    assert (refund["reverse_transfer"], refund["refund_application_fee"]) == ("true", "true")
    assert refund["metadata"] == {"transfer_id": tid, "cancelled_by": who}
    [create] = standin.creates_on("/v1/refunds")
    assert create.idempotency_key == f"transfer:{tid}:refund"
    payment = (await paying.get(f"/v1/transfers/{tid}/payment", headers=park.as_taker())).json()
    assert [(r["amount_cents"], r["status"]) for r in payment["refunds"]] == [(2500, "pending")]
    await deliver(paying, standin, "charge.refunded", standin.settle_refund(refund["id"]))
    payment = (await paying.get(f"/v1/transfers/{tid}/payment", headers=park.as_taker())).json()
    assert [r["status"] for r in payment["refunds"]] == ["succeeded"]
    report = (await paying.get(f"/v1/networks/{park.network}/payments", headers=park.as_operator())).json()
    [row] = report["rows"]
    assert (row["gross_cents"], row["refund_cents"], row["net_to_providers_cents"]) == (2500, 2500, 0)


async def test_an_operator_resolving_a_dispute_by_cancelling_refunds_in_full(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    tid, _ = await paid(paying, standin, db, park)
    await act(paying, tid, "schedule", park.as_giver(), **PLAN)
    await act(paying, tid, "dispatch", park.as_giver())
    await act(paying, tid, "dispute", park.as_taker(), reason="Palettes cassées")
    await act(paying, tid, "resolve_cancel", park.as_operator(), reason="Lot refusé")
    [refund] = standin.refunds.values()
    assert (refund["amount"], refund["metadata"]["cancelled_by"]) == (2500, "operator")
    assert await available(db, park.offer) == 30  # the material moved: nothing returns


async def test_cancelled_while_awaiting_payment_its_intent_is_cancelled_and_a_late_payment_refunded(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection, paying_settings: Settings
) -> None:
    tid = await accepted(paying, standin, db, park)
    intent_id = intent_of(standin, tid)
    await act(paying, tid, "cancel", park.as_taker(), reason="Trouvé ailleurs")
    assert await available(db, park.offer) == 40
    assert await db.fetchval("SELECT cancel_requested FROM payment_intents WHERE stripe_id = $1", intent_id)
    # Stripe.js confirmed just before the cancellation; Stripe tells us after it.
    standin.pay(intent_id)
    await deliver(paying, standin, "payment_intent.succeeded", dict(standin.intents[intent_id]))
    assert await status_of(db, tid) == "cancelled"
    [refund] = standin.refunds.values()
    assert (refund["amount"], refund["metadata"]["cancelled_by"]) == (2500, "system")
    # Another transfer cancelled unpaid: the sweep cancels its intent at Stripe, once.
    second = (await ask(paying, park, "5"))["id"]
    await act(paying, second, "accept", park.as_giver())
    await act(paying, second, "cancel", park.as_giver())
    made = stripe_client.create_stripe(paying_settings)
    assert made is not None
    pool = await asyncpg.create_pool(paying_settings.database_url, min_size=1, max_size=2)
    try:
        assert await cancel_requested(pool, made[0]) == 1
        assert await cancel_requested(pool, made[0]) == 0
    finally:
        await pool.close()
        await made[1].close_async()  # type: ignore[no-untyped-call]
    assert standin.intents[intent_of(standin, second)]["status"] == "canceled"
    problem = (await paying.get(f"/v1/transfers/{second}/payment", headers=park.as_taker())).json()
    assert problem["type"].endswith("/no-payment")


async def test_a_dispute_marks_the_transfers_payment_for_its_parties_and_operators(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    tid, intent_id = await paid(paying, standin, db, park)
    await deliver(
        paying, standin, "charge.dispute.created", standin.dispute(intent_id, "product_not_received")
    )
    for headers in (park.as_operator(), park.as_giver(), park.as_taker()):
        payment = (await paying.get(f"/v1/transfers/{tid}/payment", headers=headers)).json()
        assert payment["dispute"] == {"status": "needs_response", "reason": "product_not_received"}
    seen = (await paying.get(f"/v1/transfers/{tid}", headers=park.as_operator())).json()
    assert seen["payment_dispute"] == "needs_response"
    listed = (await paying.get("/v1/transfers", headers=park.as_operator())).json()["items"]
    assert [(t["id"], t["payment_dispute"]) for t in listed] == [(tid, "needs_response")]
    stranger = await paying.get(f"/v1/transfers/{tid}/payment", headers=park.eve.headers(park.other))
    assert stranger.status_code == 404


async def test_reconciliation_pays_a_transfer_whose_webhook_was_lost(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection, paying_settings: Settings
) -> None:
    tid = await accepted(paying, standin, db, park)
    standin.pay(intent_of(standin, tid))  # and the delivery never comes
    made = stripe_client.create_stripe(paying_settings)
    assert made is not None
    pool = await asyncpg.create_pool(paying_settings.database_url, min_size=1, max_size=2)
    try:
        assert await reconcile(pool, made[0]) == 1
        assert await reconcile(pool, made[0]) == 0  # nothing awaits payment any more
    finally:
        await pool.close()
        await made[1].close_async()  # type: ignore[no-untyped-call]
    assert await status_of(db, tid) == "paid"


async def test_one_live_intent_per_transfer_and_refunds_within_captured_are_constraints(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    tid, intent_id = await paid(paying, standin, db, park)
    with pytest.raises(asyncpg.UniqueViolationError, match="payment_intents_one_live_per_transfer"):
        await db.execute(
            """INSERT INTO payment_intents (stripe_id, transfer_id, amount_cents, fee_cents, currency,
                   destination, client_secret, status)
               SELECT 'pi_second', transfer_id, amount_cents, fee_cents, currency, destination, 's',
                      'requires_payment_method'
               FROM payment_intents WHERE transfer_id = $1::uuid""",
            tid,
        )
    with pytest.raises(asyncpg.CheckViolationError, match="payment_intents_refunds_within_captured"):
        await db.execute(
            "UPDATE payment_intents SET refunded_cents = captured_cents + 1 WHERE stripe_id = $1", intent_id
        )
    with pytest.raises(asyncpg.CheckViolationError, match="transfers_paid_is_priced_check"):
        await db.execute(
            """UPDATE transfers SET price_kind = NULL, unit_price_cents = NULL, currency = NULL,
                   fee_basis_points = NULL, fee_fixed_cents = NULL, amount_cents = NULL, fee_cents = NULL
               WHERE id = $1::uuid""",
            tid,
        )
