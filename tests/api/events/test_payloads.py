"""The feed sends exactly what the OpenAPI document says, for every event type; payments' and
synergies' events, and who sees them."""

from __future__ import annotations

import copy
import json
import uuid
from typing import Any, get_args, get_type_hints

import asyncpg
import pytest
from jsonschema import Draft202012Validator
from litestar.testing import AsyncTestClient

from api.auth.tokens import LocalIssuer
from api.cli import openapi_document
from api.events import repository as events
from api.events.types import EVENT_TYPES, LIFECYCLES, OUTSIDE_TABLES
from api.observability import RequestContext
from api.payments import repository as payments
from schemas.events import EVENT_CLASSES
from schemas.payments import Refund
from tests import factories
from tests.api.events.conftest import Park, ask

Client = AsyncTestClient[RequestContext]


def strict(schema: Any) -> Any:
    """The schema with every object closed: a key the document does not name is an error."""
    if isinstance(schema, dict):
        closed = {k: strict(v) for k, v in schema.items()}
        if "properties" in closed and "additionalProperties" not in closed:
            closed["additionalProperties"] = False
        return closed
    if isinstance(schema, list):
        return [strict(v) for v in schema]
    return schema


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(openapi_document())
    return loaded


@pytest.fixture(scope="module")
def page_validator(document: dict[str, Any]) -> Draft202012Validator:
    responses = document["paths"]["/v1/events"]["get"]["responses"]["200"]
    page = responses["content"]["application/json"]["schema"]
    root = {**page, "components": strict(copy.deepcopy(document["components"]))}
    return Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)


def test_the_document_lists_every_type_under_its_resource(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    listed: dict[str, set[str]] = {}
    for cls in EVENT_CLASSES:
        schema = schemas[cls.__name__]
        tag = schema["properties"]["resource_type"]["const"]
        named = schema["properties"]["type"]
        listed[tag] = set(named["enum"]) if "enum" in named else {named["const"]}
        assert schema["properties"]["resource"]["$ref"].endswith("State"), cls.__name__
        # The Struct's Literal and the document agree (the document is generated from it).
        assert set(get_args(get_type_hints(cls)["type"])) == listed[tag]
    everything = set().union(*listed.values())
    assert everything == set(EVENT_TYPES), "schemas/events.py and api/events/types.py disagree"
    for tag, types in listed.items():
        prefix = "endpoint" if tag == "webhook_endpoint" else tag
        assert all(t.startswith(prefix + ".") for t in types), tag
    description = document["paths"]["/v1/events"]["get"]["description"]
    assert all(f"`{t}`" in description for t in EVENT_TYPES)


async def every_step(db: asyncpg.Connection, park: Park) -> None:
    """One lifecycle row per transition of every resource (and the steps outside the tables), each
    on a real resource, so that the trigger writes an event of every type."""
    transfer = await factories.transfer(db, park.offer, taker=park.taker)
    storage = await factories.service_listing(db, park.network, park.giver)
    reservation = await factories.reservation(db, storage, requester=park.taker)
    membership = await db.fetchval("SELECT id FROM memberships WHERE organisation_id = $1", park.other)
    synergy = await factories.synergy(db, park.network, [park.giver, park.taker])
    targets = {
        "listing": ("listing_events", "listing_id", park.offer, ""),
        "transfer": ("transfer_events", "transfer_id", transfer, ", actor_role"),
        "reservation": ("reservation_events", "reservation_id", reservation, ", actor_role"),
        "membership": ("membership_events", "membership_id", membership, ""),
        "synergy": ("synergy_events", "synergy_id", synergy, ""),
    }
    steps = [
        (r, t.from_status, t.action, t.to_status) for r, lc in LIFECYCLES.items() for t in lc.transitions
    ]
    for resource_type, from_status, action, to_status in [
        *steps,
        *((r, f, "create", t) for r, f, t in OUTSIDE_TABLES),
    ]:
        table, column, target, role = targets[resource_type]
        values = "$1, $2, $3, $4" + (", 'system'" if role else "")
        await db.execute(
            f"INSERT INTO {table} ({column}, action, from_status, to_status{role}) VALUES ({values})",
            target,
            action,
            from_status,
            to_status,
        )
    await pay_through_every_step(db, reservation)
    await events.insert(
        db,
        type_="endpoint.disabled",
        resource_type="webhook_endpoint",
        resource_id=uuid.uuid4(),
        resource={"id": str(uuid.uuid4()), "url": "https://example.org/hook", "disabled_reason": "410"},
        network_id=None,
        parties=[park.giver],
    )


def intent(reservation: uuid.UUID, stripe_id: str) -> payments.Intent:
    return payments.Intent(
        stripe_id=stripe_id,
        reservation_id=reservation,
        amount_cents=5000,
        fee_cents=250,
        currency="EUR",
        destination="acct_provider",
        client_secret=f"{stripe_id}_secret_hidden",
        status="requires_payment_method",
        last_error=None,
    )


async def pay_through_every_step(db: asyncpg.Connection, reservation: uuid.UUID) -> None:
    """A payment that fails, succeeds, is refunded in part, disputed and lost; another cancelled,
    whose dispute is won: our payments' own functions, as Stripe's webhooks drive them."""
    await payments.insert_intent(db, intent(reservation, "pi_first"))
    await payments.update_intent(db, "pi_first", "requires_payment_method", "card_declined")
    await payments.update_intent(db, "pi_first", "processing", None)
    await payments.update_intent(db, "pi_first", "processing", None)  # the same again: nothing new
    await payments.update_intent(db, "pi_first", "succeeded", None, 5000)
    refund = Refund(stripe_id="re_1", amount_cents=1000, status="succeeded", reason="requested_by_customer")
    await payments.insert_refund(db, refund, reservation, "pi_first")
    await payments.set_dispute(db, "pi_first", "needs_response", "fraudulent")
    await payments.set_dispute(db, "pi_first", "lost", "fraudulent")
    await payments.update_intent(db, "pi_first", "canceled", None)
    await db.execute("UPDATE payment_intents SET status = 'canceled' WHERE stripe_id = 'pi_first'")
    await payments.insert_intent(db, intent(reservation, "pi_second"))
    await payments.update_intent(db, "pi_second", "canceled", None)
    await payments.set_dispute(db, "pi_second", "won", "duplicate")


async def test_a_feed_of_every_type_matches_the_document(
    client: Client,
    park: Park,
    db: asyncpg.Connection,
    issuer: LocalIssuer,
    page_validator: Draft202012Validator,
) -> None:
    root = await factories.person(db, issuer, "root@platform.fr", platform_admin=True)
    await ask(client, park, "10")  # and one through HTTP, with its request id
    await every_step(db, park)
    seen: set[str] = set()
    after = 0
    while True:
        response = await client.get(f"/v1/events?after={after}&limit=7", headers=root.headers())
        assert response.status_code == 200
        page = response.json()
        errors = [f"{list(e.absolute_path)}: {e.message}" for e in page_validator.iter_errors(page)]
        assert errors == []
        if not page["items"]:
            break
        for event in page["items"]:
            seen.add(event["type"])
            assert set(event["previous_values"]) <= set(event["resource"]), event["type"]
        after = page["next_after"]
    assert seen == set(EVENT_TYPES)


async def test_a_payment_says_what_changed_and_hides_its_secret(
    client: Client, park: Park, db: asyncpg.Connection
) -> None:
    storage = await factories.service_listing(db, park.network, park.giver)
    reservation = await factories.reservation(db, storage, requester=park.taker)
    await pay_through_every_step(db, reservation)
    items = (await client.get("/v1/events?types=payment.*", headers=park.as_taker())).json()["items"]
    assert [e["type"] for e in items] == [
        "payment.created",
        "payment.failed",
        "payment.succeeded",
        "payment.refunded",
        "payment.disputed",
        "payment.dispute_lost",
        "payment.canceled",
        "payment.created",
        "payment.canceled",
        "payment.disputed",
        "payment.dispute_won",
    ]
    first = [e for e in items if e["resource"]["payment_intent_id"] == "pi_first"]
    assert len({e["resource_id"] for e in first}) == 1
    assert all(e["resource"]["reservation_id"] == str(reservation) for e in items)
    succeeded = first[2]
    assert succeeded["resource"]["status"] == "succeeded"
    assert succeeded["resource"]["captured_cents"] == 5000
    assert succeeded["previous_values"]["status"] == "processing"
    assert succeeded["actor"]["role"] == "system"
    refunded = first[3]
    assert (refunded["resource"]["refunded_cents"], refunded["previous_values"]["refunded_cents"]) == (
        1000,
        0,
    )
    stored = await db.fetch("SELECT resource::text AS r FROM events WHERE resource_type = 'payment'")
    assert stored
    assert not any("secret" in row["r"] or "acct_provider" in row["r"] for row in stored)


async def test_payments_are_seen_by_the_parties_and_the_operators(
    client: Client, park: Park, db: asyncpg.Connection
) -> None:
    storage = await factories.service_listing(db, park.network, park.giver)
    reservation = await factories.reservation(db, storage, requester=park.taker)
    await payments.insert_intent(db, intent(reservation, "pi_seen"))
    for headers in (park.as_giver(), park.as_taker(), park.as_operator()):
        got = (await client.get("/v1/events?types=payment.*", headers=headers)).json()["items"]
        assert [e["type"] for e in got] == ["payment.created"]
    bystander = park.eve.headers(park.other)
    assert (await client.get("/v1/events?types=payment.*", headers=bystander)).json()["items"] == []


async def test_synergies_are_seen_by_the_operators_and_the_organisations_involved_only(
    client: Client, park: Park, db: asyncpg.Connection
) -> None:
    synergy = await factories.synergy(db, park.network, [park.giver, park.taker])
    await db.execute(
        """INSERT INTO synergy_events (synergy_id, action, from_status, to_status)
           VALUES ($1, 'propose', NULL, 'potential')""",
        synergy,
    )
    studied = await client.post(
        f"/v1/synergies/{synergy}/study",
        json={"note": "workshop held"},
        headers={**park.as_operator(), "if-match": '"1"'},
    )
    assert studied.status_code == 200, studied.text
    for headers in (park.as_operator(), park.as_giver(), park.as_taker()):
        got = (await client.get("/v1/events?types=synergy.*", headers=headers)).json()["items"]
        assert [e["type"] for e in got] == ["synergy.proposed", "synergy.studied"]
    got = (await client.get("/v1/events?types=synergy.*", headers=park.as_operator())).json()["items"]
    assert got[1]["actor"] == {"user_id": str(park.olga.user_id), "organisation_id": None, "role": "operator"}
    assert got[1]["previous_values"]["status"] == "potential"
    assert "fingerprint" not in got[1]["resource"]
    bystander = park.eve.headers(park.other)
    assert (await client.get("/v1/events?types=synergy.*", headers=bystander)).json()["items"] == []


async def test_a_synergy_realised_by_its_transfer_completing_is_an_event(
    client: Client, park: Park, db: asyncpg.Connection
) -> None:
    transfer = await ask(client, park, "10")
    synergy = await factories.synergy(db, park.network, [park.giver, park.taker], status="in_progress")
    await db.execute(
        "INSERT INTO synergy_exchanges (synergy_id, transfer_id) VALUES ($1, $2)", synergy, transfer["id"]
    )
    await db.execute("UPDATE transfers SET status = 'completed' WHERE id = $1", uuid.UUID(transfer["id"]))
    got = (await client.get("/v1/events?types=synergy.*", headers=park.as_taker())).json()["items"]
    assert [(e["type"], e["resource"]["status"], e["actor"]["role"]) for e in got] == [
        ("synergy.realised", "realised", "system")
    ]
