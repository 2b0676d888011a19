"""POST /v1/listings/{id}/matches/{other_id}/request: a match becomes a transfer or reservation request
carried by a synergy, which is realised when the exchange completes."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from api.reservations.service import sweep_due
from tests import factories
from tests.api.matches.conftest import Park, matches, put
from tests.concurrency import concurrent_client


async def request(
    client: AsyncTestClient[RequestContext],
    listing: uuid.UUID,
    other: uuid.UUID,
    headers: dict[str, str],
    expected: int = 201,
    **body: Any,
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/listings/{listing}/matches/{other}/request", json=body, headers=headers
    )
    assert response.status_code == expected, response.text
    result: dict[str, Any] = response.json()
    if expected == 201:
        kind = result["kind"]
        assert response.headers["location"] == f"/v1/{kind}s/{result[kind]['id']}"
    return result


async def step(
    client: AsyncTestClient[RequestContext],
    things: str,
    thing_id: str,
    action: str,
    headers: dict[str, str],
    **body: Any,
) -> dict[str, Any]:
    response = await client.post(f"/v1/{things}/{thing_id}/{action}", json=body or None, headers=headers)
    assert response.status_code == 200, f"{action}: {response.text}"
    result: dict[str, Any] = response.json()
    return result


async def synergy(client: AsyncTestClient[RequestContext], park: Park, synergy_id: str) -> dict[str, Any]:
    response = await client.get(f"/v1/synergies/{synergy_id}", headers=park.olga.headers())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_need_requests_a_matched_offer_and_completing_the_transfer_realises_the_synergy(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need", quantity=30)
    offer = await put(db, park.network, park.carpenter, latitude=45.72)
    tom, alice = park.tom.headers(park.packer), park.alice.headers(park.carpenter)
    result = await request(client, need, offer, tom, message="Nous passons jeudi")
    transfer = result["transfer"]
    assert result["kind"] == "transfer"
    assert result["reservation"] is None
    assert transfer["listing_id"] == str(offer)
    assert transfer["taker_id"] == str(park.packer)
    assert transfer["requested_quantity"] == "30.000"  # what the need asks, within the 40 left
    assert transfer["status"] == "requested"
    carried = result["synergy"]
    assert carried["status"] == "in_progress"
    assert carried["kind"] == "substitution"
    assert carried["listing_ids"] == [str(offer), str(need)]
    assert carried["organisation_ids"] == [str(park.carpenter), str(park.packer)]
    assert [(e["action"], e["to_status"]) for e in carried["events"]] == [
        ("match", "potential"),
        ("request", "in_progress"),
    ]
    assert carried["exchanges"][0]["transfer_id"] == transfer["id"]
    listed = await matches(client, need, tom)
    assert listed["items"][0]["synergy_id"] == carried["id"]
    t = transfer["id"]
    await step(client, "transfers", t, "accept", alice)
    await step(
        client, "transfers", t, "schedule", alice, scheduled_for="2030-03-02T08:00:00Z", transport_mode="road"
    )
    await step(client, "transfers", t, "dispatch", alice)
    await step(client, "transfers", t, "receive", tom, received_quantity=30)
    assert (await synergy(client, park, carried["id"]))["status"] == "in_progress"
    await step(client, "transfers", t, "complete", tom)
    realised = await synergy(client, park, carried["id"])
    assert realised["status"] == "realised"
    assert realised["events"][-1]["action"] == "realise"


async def test_an_offer_proposes_itself_to_a_matched_need_reusing_the_detected_synergy(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need")
    offer = await put(db, park.network, park.carpenter, latitude=45.72)
    detected = await client.post(f"/v1/networks/{park.network}/synergies/detect", headers=park.olga.headers())
    [proposed] = detected.json()["synergy_ids"]
    result = await request(client, offer, need, park.alice.headers(park.carpenter), quantity=12)
    assert result["synergy"]["id"] == proposed
    assert [e["action"] for e in result["synergy"]["events"]] == ["propose", "request"]
    transfer = result["transfer"]
    assert transfer["initiated_by"] == "giver"
    assert transfer["need_listing_id"] == str(need)
    assert transfer["requested_quantity"] == "12.000"
    again = await client.post(f"/v1/networks/{park.network}/synergies/detect", headers=park.olga.headers())
    assert again.json()["proposed"] == 0  # the pair is in progress: nothing new


async def test_a_service_need_books_a_matched_service_and_the_reservation_completing_realises_it(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need", category_id="teststorage")
    storage = await put(db, park.network, park.sawmill, category_id="teststorage", latitude=45.71)
    tom, sam = park.tom.headers(park.packer), park.sam.headers(park.sawmill)
    start, end = factories.hours_from_now(24), factories.hours_from_now(28)
    missing = await request(client, need, storage, tom, 422)
    assert [e["path"] for e in missing["errors"]] == ["body.start"]
    result = await request(
        client, need, storage, tom, start=start.isoformat(), end=end.isoformat(), quantity=50
    )
    reservation = result["reservation"]
    assert result["kind"] == "reservation"
    assert reservation["listing_id"] == str(storage)
    assert result["synergy"]["status"] == "in_progress"
    await step(client, "reservations", reservation["id"], "accept", sam)
    await step(client, "reservations", reservation["id"], "confirm", tom)
    await db.execute(
        """UPDATE reservations SET period = tstzrange(now() - interval '2 hours', now() - interval '1 hour')
           WHERE id = $1""",
        uuid.UUID(reservation["id"]),
    )
    async with db.transaction():
        await sweep_due(db)
    assert await db.fetchval(
        "SELECT status FROM reservations WHERE id = $1", uuid.UUID(reservation["id"])
    ) == ("completed")
    assert (await synergy(client, park, result["synergy"]["id"]))["status"] == "realised"


async def test_a_retry_with_the_same_idempotency_key_answers_the_first_exchange(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need")
    offer = await put(db, park.network, park.carpenter, latitude=45.72)
    headers = {**park.tom.headers(park.packer), "idempotency-key": "match-1"}
    path = f"/v1/listings/{need}/matches/{offer}/request"
    first = await client.post(path, json={"quantity": 5}, headers=headers)
    second = await client.post(path, json={"quantity": 5}, headers=headers)
    assert first.status_code == second.status_code == 201
    assert second.headers["idempotent-replayed"] == "true"
    assert second.json()["transfer"]["id"] == first.json()["transfer"]["id"]
    assert second.json()["synergy"]["id"] == first.json()["synergy"]["id"]
    assert await db.fetchval("SELECT count(*) FROM transfers") == 1
    assert await db.fetchval("SELECT count(*) FROM synergy_exchanges") == 1
    other = await client.post(path, json={"quantity": 6}, headers=headers)
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key-reused")


async def test_a_second_exchange_of_the_pair_joins_its_synergy_in_progress(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need")
    offer = await put(db, park.network, park.carpenter, latitude=45.72)
    tom = park.tom.headers(park.packer)
    first = await request(client, need, offer, tom, quantity=5)
    second = await request(client, need, offer, tom, quantity=5)
    assert second["synergy"]["id"] == first["synergy"]["id"]
    assert len(second["synergy"]["exchanges"]) == 2


async def test_refusals_are_typed_and_change_nothing(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need")
    offer = await put(db, park.network, park.carpenter, latitude=45.72)
    own_offer = await put(db, park.network, park.packer)
    other_need = await put(db, park.network, park.sawmill, direction="need")
    storage = await put(db, park.network, park.sawmill, category_id="teststorage")
    storage_need = await put(db, park.network, park.packer, direction="need", category_id="teststorage")
    hidden = await put(db, park.other_network, park.stranger)
    far = await put(db, park.network, park.sawmill, latitude=47.2)
    tom, alice, sam = (
        park.tom.headers(park.packer),
        park.alice.headers(park.carpenter),
        park.sam.headers(park.sawmill),
    )
    before = await factories.snapshot(db)
    cases = [
        (need, other_need, tom, 409, "not-a-match"),  # two needs
        (need, storage, tom, 409, "not-a-match"),  # pallets and storage
        (need, far, tom, 409, "not-a-match"),  # beyond the distance bound
        (need, own_offer, tom, 409, "own-listing"),
        (need, need, tom, 409, "own-listing"),
        (need, hidden, tom, 404, "not-found"),  # another network's network-only offer
        (need, offer, alice, 403, "forbidden"),  # not the need's organisation
        (storage, storage_need, sam, 409, "booked-by-need"),
    ]
    for listing, other, headers, status, slug in cases:
        body = await request(client, listing, other, headers, status)
        assert body["type"].endswith(f"/{slug}"), (listing, other, body)
    wrong_body = await request(client, need, offer, tom, 422, start="2030-03-02T08:00:00Z")
    assert [e["path"] for e in wrong_body["errors"]] == ["body.start"]
    assert await factories.snapshot(db) == before


async def test_a_public_offer_of_another_network_is_shown_but_exchanged_by_its_members_only(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need")
    public = await put(db, park.other_network, park.stranger, latitude=45.72, visibility="public")
    tom = park.tom.headers(park.packer)
    assert [m["listing"]["id"] for m in (await matches(client, need, tom))["items"]] == [str(public)]
    refused = await request(client, need, public, tom, 403)
    assert "active members" in refused["detail"]


async def test_a_dismissed_synergy_stays_dismissed_and_the_request_opens_a_new_one(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need")
    offer = await put(db, park.network, park.carpenter, latitude=45.72)
    detected = await client.post(f"/v1/networks/{park.network}/synergies/detect", headers=park.olga.headers())
    [dismissed] = detected.json()["synergy_ids"]
    await step(client, "synergies", dismissed, "dismiss", park.olga.headers())
    result = await request(client, need, offer, park.tom.headers(park.packer), quantity=5)
    assert result["synergy"]["id"] != dismissed
    assert result["synergy"]["status"] == "in_progress"
    assert (await synergy(client, park, dismissed))["status"] == "dismissed"


async def test_concurrent_requests_on_one_pair_share_one_synergy(
    asgi: RequestContext, db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need")
    offer = await put(db, park.network, park.carpenter, latitude=45.72)
    path = f"/v1/listings/{need}/matches/{offer}/request"
    async with concurrent_client(asgi) as concurrent:
        answers = await asyncio.gather(
            *(
                concurrent.post(path, json={"quantity": 2}, headers=park.tom.headers(park.packer))
                for _ in range(4)
            )
        )
    assert [a.status_code for a in answers] == [201] * 4, [a.text for a in answers]
    assert len({a.json()["synergy"]["id"] for a in answers}) == 1
    assert await db.fetchval("SELECT count(*) FROM synergies") == 1
    assert await db.fetchval("SELECT count(*) FROM synergy_exchanges") == 4
