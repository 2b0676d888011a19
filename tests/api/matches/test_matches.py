"""GET /v1/listings/{id}/matches: what fits, best first, explained, within what the caller may see."""

from __future__ import annotations

import uuid

import asyncpg
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from tests.api.matches.conftest import Park, matches, put

MATERIAL = ["category", "waste_code", "quantity", "months", "distance", "hierarchy", "transport"]
SERVICE = ["category", "quantity", "months", "distance"]


def ids(body: dict[str, object]) -> list[str]:
    return [m["listing"]["id"] for m in body["items"]]  # type: ignore[attr-defined, index]


async def test_offers_are_ranked_by_score_and_every_component_is_explained(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need", waste_code="15 01 03")
    near = await put(db, park.network, park.carpenter, latitude=45.72, waste_code="15 01 03")
    far = await put(db, park.network, park.sawmill, latitude=46.4, waste_code="15 01 03")
    small = await put(db, park.network, park.sawmill, latitude=45.72, quantity=4, waste_code="15 01 03")
    body = await matches(client, need, park.tom.headers(park.packer))
    assert ids(body) == [str(near), str(small), str(far)]
    scores = [m["score"] for m in body["items"]]
    assert scores == sorted(scores, reverse=True)
    assert len(set(scores)) == 3
    first = body["items"][0]
    components = first["explanation"]["components"]
    assert [c["name"] for c in components] == MATERIAL
    weighted = sum(c["value"] * c["weight"] for c in components) / sum(c["weight"] for c in components)
    assert abs(first["score"] - weighted) < 1e-3
    by_name = {c["name"]: c for c in components}
    assert by_name["category"]["value"] == 1.0
    assert by_name["waste_code"]["detail"] == "same waste code 15 01 03"
    assert by_name["quantity"]["value"] == 1.0  # 40 pallets for 40
    assert 2.0 < first["explanation"]["distance_km"] < 2.5
    assert first["explanation"]["mass_kg_per_year"] == 1000.0  # 40 pallets of 25 kg
    smaller = {c["name"]: c for c in body["items"][1]["explanation"]["components"]}
    assert smaller["quantity"]["value"] == 0.1  # 4 pallets for 40
    assert body["items"][0]["synergy_id"] is None


async def test_a_need_is_matched_by_offers_and_an_offer_by_needs_of_other_organisations_only(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need")
    offer = await put(db, park.network, park.carpenter)
    own_offer = await put(db, park.network, park.packer)
    other_need = await put(db, park.network, park.sawmill, direction="need")  # not a match of a need
    await put(db, park.network, park.sawmill, status="draft")  # nor does an unpublished offer
    await put(db, park.network, park.sawmill, category_id="teststorage")  # nor a service
    await put(db, park.network, park.sawmill, category_id="teststorage", direction="need")
    # Wood in general (the parent category): nearer, but one step away in the tree.
    wood = await put(db, park.network, park.sawmill, category_id="testwood", unit="kg", latitude=45.7)
    body = await matches(client, need, park.tom.headers(park.packer))
    assert str(own_offer) not in ids(body)
    assert ids(body) == [str(offer), str(wood)]
    family = {c["name"]: c for c in body["items"][1]["explanation"]["components"]}
    assert family["category"]["value"] == 0.5
    reverse = await matches(client, offer, park.alice.headers(park.carpenter))
    assert set(ids(reverse)) == {str(need), str(other_need)}


async def test_another_networks_listing_never_appears_unless_public(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need")
    hidden = await put(db, park.other_network, park.stranger, latitude=45.71)
    public = await put(db, park.other_network, park.stranger, latitude=45.72, visibility="public")
    network_only = await put(db, park.network, park.carpenter, latitude=45.73)
    mine = await matches(client, need, park.tom.headers(park.packer))
    assert str(hidden) not in ids(mine)
    assert set(ids(mine)) == {str(public), str(network_only)}
    # An operator of our network sees its network-only offers as matches of another network's need.
    their_need = await put(
        db, park.other_network, park.stranger, direction="need", latitude=45.71, visibility="public"
    )
    operator_view = await matches(client, their_need, park.olga.headers())
    assert str(network_only) in ids(operator_view)  # olga operates our network
    assert str(hidden) not in ids(operator_view)  # the stranger's own, and another network's


async def test_a_network_member_sees_no_other_networks_listing_through_matches(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park, issuer: object
) -> None:
    from api.auth.tokens import LocalIssuer
    from tests import factories

    assert isinstance(issuer, LocalIssuer)
    sue = await factories.person(db, issuer, "sue2@stranger.fr")
    await db.execute(
        "INSERT INTO organisation_roles (organisation_id, user_id, role) VALUES ($1, $2, 'admin')",
        park.stranger,
        sue.user_id,
    )
    their_need = await put(db, park.other_network, park.stranger, direction="need")
    ours = await put(db, park.network, park.carpenter, latitude=45.71)
    ours_public = await put(db, park.network, park.sawmill, latitude=45.72, visibility="public")
    body = await matches(client, their_need, sue.headers(park.stranger))
    assert ids(body) == [str(ours_public)]
    assert str(ours) not in ids(body)


async def test_radius_and_category_filter_and_services_match_services(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need")
    near = await put(db, park.network, park.carpenter, latitude=45.72)
    far = await put(db, park.network, park.sawmill, latitude=46.2)
    assert ids(await matches(client, need, park.tom.headers(park.packer), radius_km=10)) == [str(near)]
    assert set(ids(await matches(client, need, park.tom.headers(park.packer)))) == {str(near), str(far)}
    assert ids(await matches(client, need, park.tom.headers(park.packer), category="testwood.other")) == []
    beyond = await put(db, park.network, park.sawmill, latitude=47.0)  # 144 km: beyond the 100 km bound
    assert str(beyond) not in ids(await matches(client, need, park.tom.headers(park.packer)))
    storage_need = await put(db, park.network, park.packer, direction="need", category_id="teststorage")
    storage = await put(db, park.network, park.sawmill, category_id="teststorage", latitude=45.71)
    body = await matches(client, storage_need, park.tom.headers(park.packer))
    assert ids(body) == [str(storage)]
    assert [c["name"] for c in body["items"][0]["explanation"]["components"]] == SERVICE
    bad = await matches(client, need, park.tom.headers(park.packer), 422, radius_km=0)
    assert [e["path"] for e in bad["errors"]] == ["query.radius_km"]


async def test_pages_follow_the_ranking_with_a_signed_cursor(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need")
    for step in range(5):
        await put(db, park.network, park.carpenter, latitude=45.71 + step * 0.05, quantity=10 + step)
    whole = ids(await matches(client, need, park.tom.headers(park.packer)))
    assert len(whole) == 5
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 2, **({"cursor": cursor} if cursor else {})}
        page = await matches(client, need, park.tom.headers(park.packer), **params)
        seen += ids(page)
        cursor = page.get("next_cursor")
        if cursor is None:
            break
    assert seen == whole
    forged = await matches(client, need, park.tom.headers(park.packer), 400, cursor="eyJ4IjoxfQ.AAAA")
    assert forged["type"].endswith("/invalid-cursor")


async def test_matches_of_a_listing_the_caller_cannot_see_are_404_and_need_a_token(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, park: Park
) -> None:
    need = await put(db, park.network, park.packer, direction="need")
    assert (await client.get(f"/v1/listings/{need}/matches")).status_code == 401
    assert (
        await client.get(f"/v1/listings/{uuid.uuid4()}/matches", headers=park.olga.headers())
    ).status_code == 404
