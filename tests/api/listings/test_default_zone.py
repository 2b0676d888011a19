"""A listing given no zone takes its organisation's zone in the network, however it is created."""

from __future__ import annotations

import uuid

import asyncpg
from litestar.testing import AsyncTestClient

from api.auth.tokens import LOCAL_ISSUER, LocalIssuer
from api.demo.loader import load_demo
from api.imports.service import import_csv
from api.observability import RequestContext
from tests import factories


async def _member(db: asyncpg.Connection, network: uuid.UUID, name: str, zone: uuid.UUID | None) -> uuid.UUID:
    organisation = await factories.organisation(db, name)
    await db.execute("UPDATE organisations SET latitude = 45.7, longitude = 4.8 WHERE id = $1", organisation)
    await factories.membership(db, network, organisation)
    await db.execute(
        "UPDATE memberships SET zone_id = $1 WHERE organisation_id = $2 AND network_id = $3",
        zone,
        organisation,
        network,
    )
    return organisation


async def test_a_listing_created_without_a_zone_takes_the_members_zone_and_an_explicit_one_wins(
    db: asyncpg.Connection, issuer: LocalIssuer, client: AsyncTestClient[RequestContext]
) -> None:
    await factories.catalogue(db)
    network = await factories.network(db, "parc")
    north, south = await factories.zone(db, network, "ZI Nord"), await factories.zone(db, network, "ZI Sud")
    alice = await factories.person(db, issuer, "alice@giver.fr")
    zoned = await _member(db, network, "Zoned", north)
    await db.execute("INSERT INTO organisation_roles VALUES ($1, $2, 'admin')", zoned, alice.user_id)
    unzoned = await _member(db, network, "Unzoned", None)
    await db.execute("INSERT INTO organisation_roles VALUES ($1, $2, 'admin')", unzoned, alice.user_id)
    body = {
        "network_id": str(network),
        "direction": "need",
        "category_id": "testwood",
        "title": "Chutes de bois",
        "unit": "kg",
        "quantity": "500",
    }

    async def create(organisation: uuid.UUID, **extra: str) -> object:
        response = await client.post(
            "/v1/listings", json={**body, **extra}, headers=alice.headers(organisation)
        )
        assert response.status_code == 201, response.text
        return response.json()["zone_id"]

    assert await create(zoned) == str(north)
    assert await create(zoned, zone_id=str(south)) == str(south)
    assert await create(unzoned) is None


async def test_imported_listings_take_their_members_zone(db: asyncpg.Connection) -> None:
    await factories.catalogue(db)
    network = await factories.network(db, "parc")
    north = await factories.zone(db, network, "ZI Nord")
    organisation = await _member(db, network, "Zoned", north)
    siret = await db.fetchval("SELECT siret FROM organisations WHERE id = $1", organisation)
    text = f"siret,direction,category,title,unit,quantity\n{siret},need,testwood,Chutes de bois,kg,500\n"
    async with db.transaction():
        await import_csv(db, network, text, created_by=None)
    assert await db.fetchval("SELECT zone_id FROM listings") == north


async def test_the_demo_listings_sit_in_zones_so_the_zone_facet_counts_them(
    db: asyncpg.Connection, client: AsyncTestClient[RequestContext]
) -> None:
    await load_demo(db, LOCAL_ISSUER)
    assert not await db.fetchval("SELECT count(*) FROM listings WHERE zone_id IS NULL")
    response = await client.get("/v1/search/listings", params={"facets": "zone"})
    assert response.status_code == 200, response.text
    zones = response.json()["facet_distribution"]["zone"]
    assert len(zones) >= 2
    assert sum(zones.values()) == response.json()["total_hits"]
