from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.auth.tokens import LocalIssuer
from api.observability import RequestContext
from tests import factories

NETWORK = {"slug": "parc-sud", "name": "Parc Sud", "latitude": 45.7, "longitude": 4.85}


async def test_platform_admin_creates_and_updates_a_network(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    root = await factories.person(db, issuer, "root@symbiose.eco", platform_admin=True)
    created = await client.post("/v1/networks", json=NETWORK, headers=root.headers())
    assert created.status_code == 201, created.text
    network_id = created.json()["id"]
    updated = await client.patch(
        f"/v1/networks/{network_id}",
        json={"description": "EIT"},
        headers={**root.headers(), "if-match": '"1"'},
    )
    assert updated.status_code == 200
    assert updated.json()["description"] == "EIT"
    assert (await client.get(f"/v1/networks/{network_id}")).headers["etag"] == '"2"'
    duplicate = await client.post("/v1/networks", json=NETWORK, headers=root.headers())
    assert duplicate.status_code == 409


async def test_bad_slug_and_coordinates_are_422(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    root = await factories.person(db, issuer, "root@symbiose.eco", platform_admin=True)
    for bad in ({"slug": "Parc Sud"}, {"latitude": 91}, {"longitude": -181}):
        response = await client.post("/v1/networks", json={**NETWORK, **bad}, headers=root.headers())
        assert response.status_code == 422, bad
        assert response.json()["errors"][0]["path"] == f"body.{next(iter(bad))}"


async def test_networks_are_listed_by_slug_with_a_cursor(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    for slug in ("c-net", "a-net", "b-net"):
        await factories.network(db, slug)
    first = (await client.get("/v1/networks", params={"limit": 2})).json()
    assert [n["slug"] for n in first["items"]] == ["a-net", "b-net"]
    second = (await client.get("/v1/networks", params={"limit": 2, "cursor": first["next_cursor"]})).json()
    assert [n["slug"] for n in second["items"]] == ["c-net"]
    assert second["next_cursor"] is None
    bad = await client.get("/v1/networks", params={"cursor": "garbage!"})
    assert bad.status_code == 400
    assert bad.json()["type"].endswith("/invalid-cursor")


async def test_an_operator_adds_zones_to_their_network(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    operator = await factories.person(db, issuer, "op@cci.fr")
    network = await factories.network(db, "n", operators=(operator,))
    zone = {
        "name": "ZI Corbas",
        "kind": "business_park",
        "latitude": 45.67,
        "longitude": 4.9,
        "radius_km": 2.5,
    }
    created = await client.post(f"/v1/networks/{network}/zones", json=zone, headers=operator.headers())
    assert created.status_code == 201, created.text
    assert (
        await client.post(f"/v1/networks/{network}/zones", json=zone, headers=operator.headers())
    ).status_code == 409
    location = created.headers["location"]
    assert location == f"/v1/networks/{network}/zones/{created.json()['id']}"
    assert (await client.get(location)).json() == created.json()
    zones = (await client.get(f"/v1/networks/{network}/zones")).json()
    assert [z["name"] for z in zones["items"]] == ["ZI Corbas"]
    assert zones.get("next_cursor") is None


async def test_zones_are_listed_by_name_one_page_at_a_time(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    network = await factories.network(db, "n")
    for name in ("Parc Sud", "Corbas", "Vénissieux", "Mions"):
        await factories.zone(db, network, name)
    first = (await client.get(f"/v1/networks/{network}/zones", params={"limit": 3})).json()
    assert [z["name"] for z in first["items"]] == ["Corbas", "Mions", "Parc Sud"]
    rest = (
        await client.get(f"/v1/networks/{network}/zones", params={"limit": 3, "cursor": first["next_cursor"]})
    ).json()
    assert [z["name"] for z in rest["items"]] == ["Vénissieux"]
    assert rest.get("next_cursor") is None


async def test_a_zone_of_another_network_is_not_found(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    network, other = await factories.network(db, "n"), await factories.network(db, "m")
    zone = await factories.zone(db, other, "Corbas")
    response = await client.get(f"/v1/networks/{network}/zones/{zone}")
    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"


async def test_a_created_network_says_where_it_is(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    root = await factories.person(db, issuer, "root@symbiose.eco", platform_admin=True)
    body = {"slug": "parc-sud", "name": "Parc Sud", "latitude": 45.7, "longitude": 4.85}
    created = await client.post("/v1/networks", json=body, headers=root.headers())
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/v1/networks/{created.json()['id']}"
    assert (await client.get(created.headers["location"])).json() == created.json()


async def test_platform_admin_appoints_an_operator(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    root = await factories.person(db, issuer, "root@symbiose.eco", platform_admin=True)
    claire = await factories.person(db, issuer, "claire@cci.fr")
    network = await factories.network(db, "n")
    response = await client.post(
        f"/v1/networks/{network}/operators", json={"user_id": str(claire.user_id)}, headers=root.headers()
    )
    assert response.status_code == 204
    me = (await client.get("/v1/me", headers=claire.headers())).json()
    assert me["operator_of_networks"] == [str(network)]


@pytest.mark.parametrize("path", ["/v1/networks", "/v1/listings"])
@pytest.mark.parametrize("limit", ["0", "201", "-1", "many"])
async def test_limit_out_of_bounds_is_422_naming_it(
    client: AsyncTestClient[RequestContext], path: str, limit: str
) -> None:
    response = await client.get(path, params={"limit": limit})
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "query.limit"
