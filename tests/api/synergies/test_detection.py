"""Detection: the expected pairs and groups, explained scores, idempotent re-runs, dismissals."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from api.synergies.scoring import Scoring, distance_fit, parse_weights
from tests.api.synergies.conftest import Park, add_flow

COMPONENTS = ["category", "waste_code", "quantity", "months", "distance", "hierarchy", "transport"]


async def detect(client: AsyncTestClient[RequestContext], park: Park) -> dict[str, Any]:
    response = await client.post(f"/v1/networks/{park.network}/synergies/detect", headers=park.as_operator())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def synergies(client: AsyncTestClient[RequestContext], park: Park) -> list[dict[str, Any]]:
    response = await client.get(f"/v1/networks/{park.network}/synergies", headers=park.as_operator())
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def pallets(
    client: AsyncTestClient[RequestContext], park: Park
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The carpenter's pallets go to landfill; the packer, 20 km north, needs most of them half the year;
    the other member needs pallets 111 km away, beyond the bound."""
    output = await add_flow(
        client,
        park,
        park.carpenter,
        waste_code="15 01 03",
        destination="landfill",
        destination_cost_cents=300_000,
        quantity="1200",
    )
    need = await add_flow(
        client,
        park,
        park.packer,
        direction="input",
        latitude=45.88,
        quantity="1000",
        months=[1, 2, 3, 4, 5, 6],
    )
    await add_flow(client, park, park.other, direction="input", latitude=46.7)
    return output, need


async def test_a_substitution_is_proposed_with_every_component_explained(
    client: AsyncTestClient[RequestContext], park: Park
) -> None:
    output, need = await pallets(client, park)
    result = await detect(client, park)
    assert (result["proposed"], result["substitutions"], result["poolings"]) == (1, 1, 0)
    [synergy] = await synergies(client, park)
    assert synergy["kind"] == "substitution"
    assert synergy["status"] == "potential"
    assert synergy["flow_ids"] == [output["id"], need["id"]]
    assert sorted(synergy["organisation_ids"]) == sorted([str(park.carpenter), str(park.packer)])
    explanation = synergy["explanation"]
    parts = {c["name"]: c for c in explanation["components"]}
    assert list(parts) == COMPONENTS
    assert parts["category"]["value"] == 1.0
    assert parts["waste_code"]["value"] == 0.5  # the packer gave no code
    assert parts["quantity"]["value"] == pytest.approx(1000 / 1200, abs=1e-4)
    assert parts["months"]["value"] == 1.0  # all year covers the six months needed
    assert explanation["distance_km"] == pytest.approx(20.0, abs=0.2)
    assert parts["distance"]["value"] == pytest.approx(0.5 ** (explanation["distance_km"] / 33), abs=1e-4)
    assert parts["hierarchy"]["value"] == 1.0  # from landfill
    assert explanation["mass_kg_per_year"] == 25_000  # 1000 pallets of 25 kg
    assert explanation["transport_co2e_kg_per_year"] == pytest.approx(
        25 * explanation["distance_km"] * 0.1, rel=1e-3
    )
    weighted = sum(c["value"] * c["weight"] for c in parts.values()) / sum(
        c["weight"] for c in parts.values()
    )
    assert synergy["score"] == pytest.approx(weighted, abs=1e-4)
    assert 0 <= synergy["score"] <= 1


async def test_offers_and_needs_pair_with_flows_across_the_category_tree(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    from tests import factories

    offer = await factories.listing(db, park.network, park.other, category_id="testwood.pallets")
    await add_flow(
        client, park, park.packer, direction="input", category_id="testwood", unit="t", quantity="5"
    )
    result = await detect(client, park)
    assert result["substitutions"] == 1
    [synergy] = await synergies(client, park)
    assert synergy["listing_ids"] == [str(offer)]
    category = next(c for c in synergy["explanation"]["components"] if c["name"] == "category")
    assert category["value"] == 0.5  # one step apart


async def test_running_again_proposes_nothing_new_until_an_input_changes(
    client: AsyncTestClient[RequestContext], park: Park
) -> None:
    output, _ = await pallets(client, park)
    assert (await detect(client, park))["proposed"] == 1
    again = await detect(client, park)
    assert (again["proposed"], again["already_known"]) == (0, 1)
    [before] = await synergies(client, park)
    # The output changes: the potential synergy is refreshed in place, not duplicated.
    changed = await client.patch(
        f"/v1/flows/{output['id']}",
        json={"destination": "reuse"},
        headers={**park.as_operator(), "if-match": '"1"'},
    )
    assert changed.status_code == 200, changed.text
    assert (await detect(client, park))["proposed"] == 0
    [after] = await synergies(client, park)
    assert after["id"] == before["id"]
    hierarchy = next(c for c in after["explanation"]["components"] if c["name"] == "hierarchy")
    assert hierarchy["value"] == 0.0
    assert after["score"] < before["score"]


async def test_a_dismissed_proposal_returns_only_when_its_inputs_change(
    client: AsyncTestClient[RequestContext], park: Park
) -> None:
    output, _ = await pallets(client, park)
    await detect(client, park)
    [synergy] = await synergies(client, park)
    dismissed = await client.post(
        f"/v1/synergies/{synergy['id']}/dismiss", json={}, headers=park.as_operator()
    )
    assert dismissed.status_code == 200, dismissed.text
    assert (await detect(client, park))["proposed"] == 0
    await client.patch(
        f"/v1/flows/{output['id']}",
        json={"quantity": "1300"},
        headers={**park.as_operator(), "if-match": '"1"'},
    )
    result = await detect(client, park)
    assert result["proposed"] == 1
    statuses = sorted(s["status"] for s in await synergies(client, park))
    assert statuses == ["dismissed", "potential"]


async def test_members_of_one_zone_needing_one_service_form_a_pooling(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    await db.execute("UPDATE memberships SET zone_id = $1 WHERE network_id = $2", park.zone, park.network)
    storage = {
        "direction": "input",
        "category_id": "teststorage",
        "unit": "m2",
        "period": "month",
        "quantity": "50",
    }
    await add_flow(client, park, park.packer, **storage)
    await add_flow(client, park, park.other, **storage)
    await add_flow(client, park, park.carpenter, **{**storage, "direction": "output"})  # not a need
    result = await detect(client, park)
    assert (result["proposed"], result["poolings"]) == (1, 1)
    [synergy] = await synergies(client, park)
    assert synergy["kind"] == "pooling"
    assert sorted(synergy["organisation_ids"]) == sorted([str(park.packer), str(park.other)])
    assert [c["name"] for c in synergy["explanation"]["components"]] == ["members", "distance"]
    assert (await detect(client, park))["proposed"] == 0


async def test_a_suspended_member_takes_no_part(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    await pallets(client, park)
    await db.execute("UPDATE memberships SET status = 'suspended' WHERE organisation_id = $1", park.packer)
    assert (await detect(client, park))["proposed"] == 0


async def test_only_the_networks_operators_detect(
    client: AsyncTestClient[RequestContext], park: Park
) -> None:
    member = await client.post(
        f"/v1/networks/{park.network}/synergies/detect", headers=park.alice.headers(park.carpenter)
    )
    assert member.status_code == 403
    missing = await client.post(f"/v1/networks/{uuid.uuid4()}/synergies/detect", headers=park.as_operator())
    assert missing.status_code == 404


def test_the_distance_component_halves_every_half_distance() -> None:
    assert distance_fit(Scoring(), 33)[0] == pytest.approx(0.5)
    assert distance_fit(Scoring(), 66)[0] == pytest.approx(0.25)
    assert parse_weights("distance=3")["distance"] == 3
    with pytest.raises(ValueError, match="speed"):
        parse_weights("speed=1")


async def test_each_demand_keeps_only_its_best_few_supplies(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    import json

    from api.synergies.detect import candidates

    await add_flow(client, park, park.carpenter, latitude=45.75)  # nearer the packer
    await add_flow(client, park, park.other, latitude=45.7)
    await add_flow(client, park, park.packer, direction="input", latitude=45.88)
    await db.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    both = await candidates(db, park.network, Scoring())
    assert len(both) == 2
    [best] = await candidates(db, park.network, Scoring(candidates_per_demand=1))
    assert best.organisations == [park.carpenter, park.packer]
