"""The search routes over HTTP: GET and POST agree, bad input is a 422 naming the parameter, and
the viewer comes from the caller's token and organisation."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.auth.tokens import LocalIssuer
from api.observability import RequestContext
from tests import factories
from tests.search import dataset
from tests.search.dataset import N1_ONLY, PUBLIC, World

URL = "/v1/search/listings"


@pytest.fixture
async def world(db: asyncpg.Connection) -> World:
    return await dataset.load(db)


def labels(world: World, body: dict[str, object]) -> set[str]:
    hits = body["hits"]
    assert isinstance(hits, list)
    return set(world.labels([h["id"] for h in hits]))


async def test_get_and_post_answer_the_same(world: World, client: AsyncTestClient[RequestContext]) -> None:
    params = {
        "q": "palettes",
        "direction": ["offer", "need"],
        "facets": ["category", "network"],
        "near": "45.75,4.85",
        "sort": "distance",
        "hits_per_page": 3,
        "page": 1,
    }
    got = await client.get(URL, params=params)
    posted = await client.post(URL, json=params)
    assert got.status_code == posted.status_code == 200, got.text
    a, b = got.json(), posted.json()
    del a["processing_time_ms"], b["processing_time_ms"]
    assert a == b
    assert a["total_hits"] == 4
    assert [h["title"] for h in a["hits"]] == [
        "Palettes Europe 80x120",
        "Cartons d'emballage",
        "Palette perdue 100x120",
    ]
    assert a["hits"][0]["highlights"]["title"] == "<mark>Palettes</mark> Europe 80x120"
    assert a["backend"] == "postgres"


@pytest.mark.parametrize(
    ("query", "parameter"),
    [
        ("facets=colour", "query.facets"),
        ("sort=cheapest", "query.sort"),
        ("near=91,4.8", "query.near"),
        ("near=45,181", "query.near"),
        ("near=somewhere", "query.near"),
        ("near=45,4&radius_km=1001", "query.radius_km"),
        ("near=45,4&radius_km=0", "query.radius_km"),
        ("radius_km=5", "query.radius_km"),
        ("sort=distance", "query.sort"),
        ("hits_per_page=101", "query.hits_per_page"),
        ("hits_per_page=0", "query.hits_per_page"),
        ("page=0", "query.page"),
        ("q=" + "a" * 513, "query.q"),
        ("colour=red", "query.colour"),
        ("direction=sideways", "query.direction"),
        ("network=not-a-uuid", "query.network"),
        ("quantity_at_least=0", "query.quantity_at_least"),
        ("available_on=tomorrow", "query.available_on"),
    ],
)
async def test_bad_get_parameters_are_422_naming_the_parameter(
    client: AsyncTestClient[RequestContext], query: str, parameter: str
) -> None:
    response = await client.get(f"{URL}?{query}")
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert [e["path"] for e in response.json()["errors"]] == [parameter]


@pytest.mark.parametrize(
    ("body", "parameter"),
    [
        ({"facets": ["colour"]}, "body.facets[0]"),
        ({"sort": "cheapest"}, "body.sort"),
        ({"near": "45,200"}, "body.near"),
        ({"near": "45,4", "radius_km": 5000}, "body.radius_km"),
        ({"hits_per_page": 101}, "body.hits_per_page"),
        ({"q": "a" * 513}, "body.q"),
        ({"radius_km": 3}, "body.radius_km"),
    ],
)
async def test_bad_post_bodies_are_422_naming_the_field(
    client: AsyncTestClient[RequestContext], body: dict[str, object], parameter: str
) -> None:
    response = await client.post(URL, json=body)
    assert response.status_code == 422, response.text
    assert [e["path"] for e in response.json()["errors"]] == [parameter]


@pytest.mark.parametrize(
    ("query", "body"),
    [
        ("facets=colour", {"facets": ["colour"]}),
        ("radius_km=3", {"radius_km": 3}),
        ("near=somewhere", {"near": "somewhere"}),
        ("sort=distance", {"sort": "distance"}),
        ("hits_per_page=101", {"hits_per_page": 101}),
    ],
)
async def test_get_and_post_report_a_bad_parameter_with_one_problem_type(
    client: AsyncTestClient[RequestContext], query: str, body: dict[str, object]
) -> None:
    by_get, by_post = await client.get(f"{URL}?{query}"), await client.post(URL, json=body)
    assert (by_get.status_code, by_post.status_code) == (422, 422)
    assert by_get.json()["type"] == by_post.json()["type"] == "https://symbiose.eco/problems/validation-error"


async def test_an_unknown_body_field_is_422_naming_it(client: AsyncTestClient[RequestContext]) -> None:
    response = await client.post(URL, json={"colour": "red"})
    assert response.status_code == 422
    assert "colour" in response.json()["detail"]


async def test_lists_repeat_the_parameter(world: World, client: AsyncTestClient[RequestContext]) -> None:
    response = await client.get(f"{URL}?category=qwood&category=qpack&network={world.networks['N2']}")
    assert response.status_code == 200
    assert labels(world, response.json()) == {"pal3", "english", "carton2"}


async def test_the_viewer_comes_from_the_token_and_the_acting_organisation(
    world: World, client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    alice = await factories.person(db, issuer, "alice@alpha.fr")
    dan = await factories.person(db, issuer, "dan@delta.fr")
    olga = await factories.person(db, issuer, "olga@n1.fr")
    for person, key in ((alice, "A"), (dan, "D")):
        await db.execute(
            "INSERT INTO organisation_roles (organisation_id, user_id, role) VALUES ($1, $2, 'admin')",
            world.organisations[key],
            person.user_id,
        )
    await db.execute(
        "INSERT INTO network_operators (network_id, user_id) VALUES ($1, $2)",
        world.networks["N1"],
        olga.user_id,
    )
    params = {"hits_per_page": 100}

    async def seen(headers: dict[str, str]) -> set[str]:
        response = await client.get(URL, params=params, headers=headers)
        assert response.status_code == 200, response.text
        return labels(world, response.json())

    assert await seen({}) == set(PUBLIC)
    assert await seen(alice.headers(world.organisations["A"])) == {*PUBLIC, *N1_ONLY}
    assert await seen(alice.headers()) == set(PUBLIC)  # acting for no organisation
    assert await seen(dan.headers(world.organisations["D"])) == set(PUBLIC)  # suspended member
    assert await seen(olga.headers()) == {*PUBLIC, *N1_ONLY}  # the network's operator
    posted = await client.post(URL, json=params, headers=alice.headers(world.organisations["A"]))
    assert labels(world, posted.json()) == {*PUBLIC, *N1_ONLY}
