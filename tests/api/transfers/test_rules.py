"""The transition table enforced: illegal actions, the wrong party, stock under concurrency,
hazardous waste, idempotent creation."""

from __future__ import annotations

import asyncio
import uuid
from decimal import Decimal
from typing import get_args

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.auth.tokens import LocalIssuer
from api.lifecycle import SYSTEM
from api.observability import RequestContext
from api.transfers.lifecycle import TRANSFER, actors_for, allowed_for
from schemas.transfers import TransferAction, TransferStatus
from tests import factories
from tests.api.transfers.conftest import PLAN_HAZARD, Park, act, ask, available
from tests.concurrency import concurrent_client

STATUSES: tuple[TransferStatus, ...] = get_args(TransferStatus)
ACTIONS: tuple[str, ...] = get_args(TransferAction)
# A body each action's request Struct accepts, so that what is checked is the transition.
VALID: dict[str, dict[str, str]] = {
    "schedule": PLAN_HAZARD,
    "receive": {"received_quantity": "1"},
    "dispute": {"reason": "Palettes cassées"},
}


async def _in_status(db: asyncpg.Connection, park: Park, status: str) -> uuid.UUID:
    priced = status in ("awaiting_payment", "paid")  # only a priced transfer is ever in these
    transfer_id = await factories.transfer(
        db, park.offer, taker=park.taker, status="requested" if priced else status
    )
    if priced:
        await db.execute(
            """UPDATE transfers SET price_kind = 'per_unit', unit_price_cents = 200, currency = 'EUR',
                   fee_basis_points = 0, fee_fixed_cents = 0, amount_cents = 1000, fee_cents = 0,
                   status = $2,
                   payment_due_at = CASE WHEN $2 = 'awaiting_payment' THEN now() + interval '3 days' END
               WHERE id = $1""",
            transfer_id,
            status,
        )
    if status not in ("requested", "declined"):
        await db.execute("UPDATE transfers SET agreed_quantity = 5 WHERE id = $1", transfer_id)
    return transfer_id


@pytest.mark.parametrize("status", STATUSES)
async def test_every_illegal_action_is_409_with_the_allowed_ones_and_changes_nothing(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection, status: TransferStatus
) -> None:
    transfer_id = await _in_status(db, park, status)
    for action in ACTIONS:
        if actors_for(status, action, "taker"):
            continue
        before = await factories.snapshot(db)
        response = await client.post(
            f"/v1/transfers/{transfer_id}/{action}", json=VALID.get(action, {}), headers=park.as_giver()
        )
        assert response.status_code == 409, f"{status} {action}: {response.text}"
        body = response.json()
        assert body["type"].endswith("/illegal-transition")
        assert body["allowed_actions"] == allowed_for(status, ["giver"], "taker")
        assert await factories.snapshot(db) == before


def _wrong_callers(park: Park, permitted: set[str]) -> list[tuple[str, dict[str, str]]]:
    roles = {"giver": park.as_giver(), "taker": park.as_taker(), "operator": park.as_operator()}
    return [(name, headers) for name, headers in roles.items() if name not in permitted]


@pytest.mark.parametrize(
    "transition",
    sorted({(t.from_status, t.action) for t in TRANSFER.transitions if t.from_status and t.actor != SYSTEM}),
)
async def test_the_wrong_party_is_403_and_a_stranger_404(
    park: Park,
    client: AsyncTestClient[RequestContext],
    db: asyncpg.Connection,
    transition: tuple[TransferStatus, str],
) -> None:
    status, action = transition
    transfer_id = await _in_status(db, park, status)
    before = await factories.snapshot(db)
    body = VALID.get(action, {})
    for name, headers in _wrong_callers(park, actors_for(status, action, "taker")):
        response = await client.post(f"/v1/transfers/{transfer_id}/{action}", json=body, headers=headers)
        assert response.status_code == 403, f"{name} {status} {action}: {response.text}"
    response = await client.post(
        f"/v1/transfers/{transfer_id}/{action}", json=body, headers=park.eve.headers(park.other)
    )
    assert response.status_code == 404
    assert await factories.snapshot(db) == before


async def test_fifty_concurrent_accepts_on_a_stock_of_seven_take_exactly_seven(
    park: Park, asgi: RequestContext, db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    await db.execute("UPDATE listings SET quantity = 7, available_quantity = 7 WHERE id = $1", park.offer)
    transfer_ids = []
    for i in range(50):
        taker = await factories.organisation(db, f"Taker {i}")
        await factories.membership(db, park.network, taker, "active")
        transfer_ids.append(await factories.transfer(db, park.offer, taker=taker, quantity=1))

    async with concurrent_client(asgi) as client:

        async def accept(transfer_id: uuid.UUID) -> int:
            response = await client.post(
                f"/v1/transfers/{transfer_id}/accept", json={}, headers=park.as_giver()
            )
            assert response.status_code in (200, 409), response.text
            return response.status_code

        statuses = await asyncio.gather(*(accept(t) for t in transfer_ids))
    assert statuses.count(200) == 7
    assert statuses.count(409) == 43
    assert await available(db, park.offer) == 0
    agreed = await db.fetchval(
        "SELECT sum(agreed_quantity) FROM transfers WHERE listing_id = $1 AND status = 'accepted'", park.offer
    )
    assert agreed == 7
    assert await db.fetchval("SELECT count(*) FROM transfers WHERE status = 'requested'") == 43


async def test_stock_never_goes_negative_even_past_the_service(park: Park, db: asyncpg.Connection) -> None:
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("UPDATE listings SET available_quantity = -1 WHERE id = $1", park.offer)


async def test_hazardous_waste_carries_its_code_and_needs_a_tracking_form_and_carrier_to_leave(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    await db.execute(
        "UPDATE listings SET waste_code = '15 01 10', hazardous = true WHERE id = $1", park.offer
    )
    transfer = await ask(client, park, "3")
    assert (transfer["waste_code"], transfer["hazardous"]) == ("15 01 10", True)
    tid = transfer["id"]
    await act(client, tid, "accept", park.as_giver())
    await act(client, tid, "schedule", park.as_giver(), **PLAN_HAZARD)
    refused = await act(client, tid, "dispatch", park.as_giver(), expected=409)
    assert refused["type"].endswith("/tracking-form-required")
    assert refused["missing"] == ["tracking_form_ref", "carrier"]
    refused = await act(client, tid, "dispatch", park.as_giver(), expected=409, carrier="Transports Rhône")
    assert refused["missing"] == ["tracking_form_ref"]
    moving = await act(
        client,
        tid,
        "dispatch",
        park.as_giver(),
        carrier="Transports Rhône",
        tracking_form_ref="BSD-2026-0042",
    )
    assert (moving["status"], moving["tracking_form_ref"]) == ("in_transit", "BSD-2026-0042")
    with pytest.raises(asyncpg.CheckViolationError):
        await db.execute("UPDATE transfers SET tracking_form_ref = NULL WHERE id = $1::uuid", tid)


async def test_a_retry_with_the_same_idempotency_key_returns_the_first_transfer(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    headers = {**park.as_taker(), "idempotency-key": "order-2026-001"}
    first = await client.post(f"/v1/listings/{park.offer}/transfers", json={"quantity": 4}, headers=headers)
    again = await client.post(f"/v1/listings/{park.offer}/transfers", json={"quantity": 4}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    assert await db.fetchval("SELECT count(*) FROM transfers") == 1
    other = await client.post(f"/v1/listings/{park.offer}/transfers", json={"quantity": 5}, headers=headers)
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert await db.fetchval("SELECT count(*) FROM transfers") == 1


async def test_concurrent_retries_create_one_transfer(
    park: Park, asgi: RequestContext, db: asyncpg.Connection
) -> None:
    headers = {**park.as_taker(), "idempotency-key": "retry-storm"}
    async with concurrent_client(asgi) as client:
        responses = await asyncio.gather(
            *(
                client.post(f"/v1/listings/{park.offer}/transfers", json={"quantity": 2}, headers=headers)
                for _ in range(8)
            )
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await db.fetchval("SELECT count(*) FROM transfers") == 1
    assert await db.fetchval("SELECT count(*) FROM transfer_events") == 1


async def test_a_failed_creation_releases_its_key(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    headers = {**park.as_taker(), "idempotency-key": "too-much"}
    too_much = await client.post(
        f"/v1/listings/{park.offer}/transfers", json={"quantity": 41}, headers=headers
    )
    assert too_much.status_code == 409
    assert await db.fetchval("SELECT count(*) FROM idempotency_keys") == 0


@pytest.mark.parametrize(
    ("who", "quantity", "expected"),
    [("taker", "0", 422), ("taker", "1.0001", 422), ("giver", "1", 409), ("suspended", "1", 403)],
)
async def test_asking_is_for_active_members_other_than_the_giver(
    park: Park,
    client: AsyncTestClient[RequestContext],
    db: asyncpg.Connection,
    who: str,
    quantity: str,
    expected: int,
) -> None:
    headers = {"taker": park.as_taker(), "giver": park.as_giver(), "suspended": park.as_taker()}[who]
    if who == "suspended":
        await db.execute("UPDATE memberships SET status = 'suspended' WHERE organisation_id = $1", park.taker)
        await db.execute("UPDATE listings SET visibility = 'public' WHERE id = $1", park.offer)
    response = await client.post(
        f"/v1/listings/{park.offer}/transfers", json={"quantity": quantity}, headers=headers
    )
    assert response.status_code == expected, response.text
    assert await db.fetchval("SELECT count(*) FROM transfers") == 0
    assert await available(db, park.offer) == Decimal(40)
