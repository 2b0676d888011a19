from __future__ import annotations

import asyncio
import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.auth.tokens import LocalIssuer
from api.listings.service import expire_due
from api.observability import RequestContext
from tests import factories
from tests.factories import Person


@dataclass
class Park:
    network: uuid.UUID
    giver: uuid.UUID
    taker: uuid.UUID
    alice: Person
    tom: Person


@pytest.fixture
async def park(db: asyncpg.Connection, issuer: LocalIssuer) -> Park:
    await factories.catalogue(db)
    alice = await factories.person(db, issuer, "alice@giver.fr")
    tom = await factories.person(db, issuer, "tom@taker.fr")
    network = await factories.network(db, "parc")
    giver = await factories.organisation(db, "Giver", admins=(alice,))
    await db.execute("UPDATE organisations SET latitude = 45.71, longitude = 4.86 WHERE id = $1", giver)
    taker = await factories.organisation(db, "Taker", staff=(tom,))
    await factories.membership(db, network, giver, "active")
    await factories.membership(db, network, taker, "active")
    return Park(network, giver, taker, alice, tom)


def pallets(park: Park, **overrides: Any) -> dict[str, Any]:
    body = {
        "network_id": str(park.network),
        "direction": "offer",
        "category_id": "testwood.pallets",
        "title": "Palettes Europe 80x120",
        "unit": "pallet",
        "quantity": "40",
        "condition": "good",
    }
    body.update(overrides)
    return body


async def test_a_new_offer_is_a_draft_at_the_organisations_site(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    response = await client.post("/v1/listings", json=pallets(park), headers=park.alice.headers(park.giver))
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "draft"
    assert (body["latitude"], body["longitude"]) == (45.71, 4.86)
    assert body["quantity"] == body["available_quantity"] == "40.000"
    assert body["nature"] == "material"
    assert response.headers["etag"] == '"1"'


@pytest.mark.parametrize(
    ("overrides", "path"),
    [
        ({"unit": "m2"}, "body.unit"),
        ({"category_id": "no.such"}, "body.category_id"),
        ({"quantity": "0"}, "body.quantity"),
        ({"quantity": "-3"}, "body.quantity"),
        ({"quantity": "1.0001"}, "body.quantity"),
        ({"quantity": None}, "body.quantity"),
        ({"waste_code": "99 99 99"}, "body.waste_code"),
        ({"price_kind": "fixed"}, "body.price_cents"),
        (
            {"available_from": "2027-01-02T00:00:00Z", "available_until": "2027-01-01T00:00:00Z"},
            "body.available_until",
        ),
        ({"latitude": 95, "longitude": 4}, "body.latitude"),
        ({"latitude": 45.0}, "body.latitude"),
        ({"currency": "euros", "price_cents": 100, "price_kind": "fixed"}, "body.currency"),
    ],
)
async def test_bad_fields_are_422_naming_the_field_and_store_nothing(
    park: Park,
    client: AsyncTestClient[RequestContext],
    db: asyncpg.Connection,
    overrides: dict[str, Any],
    path: str,
) -> None:
    response = await client.post(
        "/v1/listings", json=pallets(park, **overrides), headers=park.alice.headers(park.giver)
    )
    assert response.status_code == 422, response.text
    assert path in [e["path"] for e in response.json()["errors"]]
    assert await db.fetchval("SELECT count(*) FROM listings") == 0


async def test_a_hazardous_waste_code_sets_the_flag(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    response = await client.post(
        "/v1/listings",
        json=pallets(park, waste_code="150110*", unit="kg"),
        headers=park.alice.headers(park.giver),
    )
    assert response.status_code == 201, response.text
    assert (response.json()["waste_code"], response.json()["hazardous"]) == ("15 01 10", True)


async def test_a_service_has_a_capacity_per_period(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    storage = {
        "network_id": str(park.network),
        "direction": "offer",
        "category_id": "teststorage",
        "title": "200 m² de stockage couvert",
        "unit": "m2",
        "capacity": 200,
        "capacity_period": "month",
        "price_kind": "per_day",
        "price_cents": 1500,
        "currency": "EUR",
    }
    ok = await client.post("/v1/listings", json=storage, headers=park.alice.headers(park.giver))
    assert ok.status_code == 201, ok.text
    assert ok.json()["nature"] == "service"
    wrong = await client.post(
        "/v1/listings",
        json={**storage, "capacity": None, "quantity": 3},
        headers=park.alice.headers(park.giver),
    )
    assert wrong.status_code == 422


async def test_a_service_says_how_fast_it_answers_and_how_long_a_booking_may_last(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    storage = {
        "network_id": str(park.network),
        "direction": "offer",
        "category_id": "teststorage",
        "title": "Quai de chargement partagé",
        "unit": "m2",
        "capacity": 1,
    }
    headers = park.alice.headers(park.giver)
    default = (await client.post("/v1/listings", json=storage, headers=headers)).json()
    assert (
        default["response_time_hours"],
        default["min_reservation_hours"],
        default["max_reservation_hours"],
    ) == (
        48,
        1,
        8784,
    )
    created = await client.post(
        "/v1/listings",
        json={**storage, "response_time_hours": 4, "min_reservation_hours": 2, "max_reservation_hours": 10},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    assert created.json()["response_time_hours"] == 4
    crossed = await client.patch(
        f"/v1/listings/{created.json()['id']}",
        json={"min_reservation_hours": 12},
        headers={**headers, "if-match": created.headers["etag"]},
    )
    assert crossed.status_code == 422
    assert crossed.json()["errors"][0]["path"] == "body.max_reservation_hours"
    changed = await client.patch(
        f"/v1/listings/{created.json()['id']}",
        json={"response_time_hours": 24, "max_reservation_hours": 72},
        headers={**headers, "if-match": created.headers["etag"]},
    )
    assert (changed.json()["response_time_hours"], changed.json()["max_reservation_hours"]) == (24, 72)
    too_slow = await client.post("/v1/listings", json={**storage, "response_time_hours": 0}, headers=headers)
    assert too_slow.status_code == 422
    assert too_slow.json()["errors"][0]["path"] == "body.response_time_hours"


async def test_published_listings_reach_members_and_public_ones_everyone(
    park: Park, client: AsyncTestClient[RequestContext], issuer: LocalIssuer, db: asyncpg.Connection
) -> None:
    created = (
        await client.post("/v1/listings", json=pallets(park), headers=park.alice.headers(park.giver))
    ).json()
    path = f"/v1/listings/{created['id']}"
    assert (await client.get(path, headers=park.tom.headers(park.taker))).status_code == 404
    published = await client.post(f"{path}/publish", headers=park.alice.headers(park.giver))
    assert published.status_code == 200, published.text
    assert published.json()["published_at"] is not None
    assert (await client.get(path, headers=park.tom.headers(park.taker))).status_code == 200
    assert (await client.get(path)).status_code == 404
    await client.patch(
        path, json={"visibility": "public"}, headers={**park.alice.headers(park.giver), "if-match": '"2"'}
    )
    assert (await client.get(path)).status_code == 200
    await db.execute("UPDATE memberships SET status = 'suspended' WHERE organisation_id = $1", park.giver)
    assert (await client.get(path)).status_code == 404
    assert (await client.get(path, headers=park.tom.headers(park.taker))).status_code == 404


async def test_a_pending_member_may_draft_but_not_publish(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    await db.execute("UPDATE memberships SET status = 'pending' WHERE organisation_id = $1", park.giver)
    created = await client.post("/v1/listings", json=pallets(park), headers=park.alice.headers(park.giver))
    assert created.status_code == 201
    refused = await client.post(
        f"/v1/listings/{created.json()['id']}/publish", headers=park.alice.headers(park.giver)
    )
    assert refused.status_code == 403
    assert await db.fetchval("SELECT status FROM listings") == "draft"


async def test_an_archived_listing_cannot_be_published_and_the_409_lists_the_allowed(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    listing = await factories.listing(db, park.network, park.giver, status="archived")
    response = await client.post(f"/v1/listings/{listing}/publish", headers=park.alice.headers(park.giver))
    assert response.status_code == 409
    assert response.json()["allowed_actions"] == []
    paused = await factories.listing(db, park.network, park.giver, status="paused")
    response = await client.post(f"/v1/listings/{paused}/pause", headers=park.alice.headers(park.giver))
    assert response.json()["allowed_actions"] == ["publish", "archive"]


async def test_stale_if_match_is_412_and_changes_nothing(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    listing = await factories.listing(db, park.network, park.giver)
    await db.execute("UPDATE listings SET version = 4")
    before = await factories.snapshot(db)
    stale = await client.patch(
        f"/v1/listings/{listing}",
        json={"title": "Nouveau titre"},
        headers={**park.alice.headers(park.giver), "if-match": '"3"'},
    )
    assert stale.status_code == 412
    missing = await client.patch(
        f"/v1/listings/{listing}", json={"title": "Nouveau titre"}, headers=park.alice.headers(park.giver)
    )
    assert missing.status_code == 428
    assert await factories.snapshot(db) == before


async def test_an_update_is_checked_like_a_creation(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    listing = await factories.listing(db, park.network, park.giver)
    headers = {**park.alice.headers(park.giver), "if-match": '"1"'}
    bad = await client.patch(f"/v1/listings/{listing}", json={"unit": "m2"}, headers=headers)
    assert bad.status_code == 422
    ok = await client.patch(
        f"/v1/listings/{listing}", json={"quantity": 60, "description": "Lot complet"}, headers=headers
    )
    assert ok.status_code == 200, ok.text
    assert (ok.json()["quantity"], ok.json()["available_quantity"], ok.json()["version"]) == (
        "60.000",
        "60.000",
        2,
    )


async def test_listing_filters_and_cursor_pagination(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    for index in range(5):
        await factories.listing(db, park.network, park.giver, title=f"Palettes lot {index}")
    await factories.listing(db, park.network, park.giver, title="Stockage", category_id="teststorage")
    await factories.listing(db, park.network, park.taker, title="Besoin de palettes", direction="need")
    headers = park.tom.headers(park.taker)
    wood = (
        await client.get(
            "/v1/listings", params={"category_id": "testwood", "direction": "offer"}, headers=headers
        )
    ).json()
    assert len(wood["items"]) == 5
    services = (await client.get("/v1/listings", params={"nature": "service"}, headers=headers)).json()
    assert [i["title"] for i in services["items"]] == ["Stockage"]
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"limit": 3, "network_id": str(park.network)}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/listings", params=params, headers=headers)).json()
        seen += [i["id"] for i in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 7
    mine = (await client.get(f"/v1/organisations/{park.taker}/listings", headers=headers)).json()
    assert [i["title"] for i in mine["items"]] == ["Besoin de palettes"]


async def test_listings_past_their_availability_expire_once_even_with_two_sweeps(
    park: Park, database_url: str, db: asyncpg.Connection
) -> None:
    for _ in range(3):
        listing = await factories.listing(db, park.network, park.giver)
        await db.execute(
            "UPDATE listings SET available_until = now() - interval '1 hour' WHERE id = $1", listing
        )
    await factories.listing(db, park.network, park.giver)

    async def sweep() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            async with conn.transaction():
                return await expire_due(conn)
        finally:
            await conn.close()

    counts = await asyncio.gather(sweep(), sweep())
    assert sum(counts) == 3
    assert await db.fetchval("SELECT count(*) FROM listings WHERE status = 'expired'") == 3
    assert await db.fetchval("SELECT count(*) FROM listing_events WHERE action = 'expire'") == 3


async def test_a_body_sent_to_an_action_that_takes_none_is_422_and_changes_nothing(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    listing = await factories.listing(db, park.network, park.giver, status="draft")
    before = await factories.snapshot(db)
    refused = await client.post(
        f"/v1/listings/{listing}/publish",
        json={"status": "published"},
        headers=park.alice.headers(park.giver),
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert [e["path"] for e in refused.json()["errors"]] == ["body.status"]
    garbage = await client.post(
        f"/v1/listings/{listing}/publish", content=b"yes", headers=park.alice.headers(park.giver)
    )
    assert (garbage.status_code, garbage.json()["errors"][0]["path"]) == (422, "body")
    assert await factories.snapshot(db) == before
    published = await client.post(f"/v1/listings/{listing}/publish", headers=park.alice.headers(park.giver))
    assert (published.status_code, published.headers["etag"]) == (200, '"2"')


async def test_creating_answers_the_location_of_the_listing(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    created = await client.post("/v1/listings", json=pallets(park), headers=park.alice.headers(park.giver))
    assert created.status_code == 201
    assert created.headers["location"] == f"/v1/listings/{created.json()['id']}"
    read = await client.get(created.headers["location"], headers=park.alice.headers(park.giver))
    assert read.json()["id"] == created.json()["id"]
