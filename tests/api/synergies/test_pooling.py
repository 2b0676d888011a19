"""Pooling: neighbours outside zones sharing a need, and firms with opposite seasons sharing staff."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from tests import factories
from tests.api.synergies.conftest import Park, add_flow
from tests.api.synergies.test_detection import detect, synergies

STORAGE = {
    "direction": "input",
    "category_id": "teststorage",
    "unit": "m2",
    "period": "month",
    "quantity": "50",
}
STAFF = {"direction": "input", "category_id": "services.staff", "unit": "person_day", "period": "month"}


async def test_neighbours_outside_any_zone_form_one_pooling_with_all_of_them(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    fourth = await factories.organisation(db, "Fourth")
    far = await factories.organisation(db, "Far")
    for organisation in (fourth, far):
        await factories.membership(db, park.network, organisation, "active")
    # Within 5 km of each other (0.01 degree of latitude is 1.1 km), and one 22 km away.
    for organisation, latitude in ((park.carpenter, 45.70), (park.packer, 45.72), (park.other, 45.73)):
        await add_flow(client, park, organisation, **STORAGE, latitude=latitude)
    await add_flow(client, park, fourth, **STORAGE, latitude=45.74)
    await add_flow(client, park, far, **STORAGE, latitude=45.9)
    result = await detect(client, park)
    assert (result["proposed"], result["poolings"]) == (1, 1)
    [synergy] = await synergies(client, park)
    assert synergy["kind"] == "pooling"
    assert sorted(synergy["organisation_ids"]) == sorted(
        map(str, [park.carpenter, park.packer, park.other, fourth])
    )
    assert len(synergy["flow_ids"]) == 4
    parts = {c["name"]: c for c in synergy["explanation"]["components"]}
    assert parts["members"]["value"] == 0.75  # (4 - 1) / 4
    assert synergy["explanation"]["distance_km"] == pytest.approx(4.45, abs=0.05)
    assert 0 <= synergy["score"] <= 1
    assert (await detect(client, park))["proposed"] == 0


async def test_a_dismissed_pooling_returns_only_when_a_need_changes(
    client: AsyncTestClient[RequestContext], park: Park
) -> None:
    first = await add_flow(client, park, park.carpenter, **STORAGE)
    await add_flow(client, park, park.packer, **STORAGE, latitude=45.71)
    [synergy_id] = (await detect(client, park))["synergy_ids"]
    dismissed = await client.post(f"/v1/synergies/{synergy_id}/dismiss", json={}, headers=park.as_operator())
    assert dismissed.status_code == 200, dismissed.text
    assert (await detect(client, park))["proposed"] == 0
    await client.patch(
        f"/v1/flows/{first['id']}", json={"quantity": "80"}, headers={**park.as_operator(), "if-match": '"1"'}
    )
    assert (await detect(client, park))["proposed"] == 1


async def test_opposite_seasons_pair_for_staff_sharing_and_overlapping_ones_do_not(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    # All in one zone: staff needs pair by season, never pool by zone.
    await db.execute("UPDATE memberships SET zone_id = $1 WHERE network_id = $2", park.zone, park.network)
    await add_flow(client, park, park.carpenter, **STAFF, quantity="40", months=[6, 7, 8])
    await add_flow(client, park, park.packer, **STAFF, quantity="30", months=[11, 12, 1, 2], latitude=45.75)
    await add_flow(
        client, park, park.other, **STAFF, quantity="20", months=[6, 7]
    )  # summer, like the carpenter
    all_year = await factories.organisation(db, "All year")
    await factories.membership(db, park.network, all_year, "active")
    await add_flow(client, park, all_year, **STAFF, quantity="20")
    result = await detect(client, park)
    assert (result["proposed"], result["poolings"]) == (2, 2)
    pairs = {frozenset(s["organisation_ids"]): s for s in await synergies(client, park)}
    assert set(pairs) == {
        frozenset(map(str, (park.carpenter, park.packer))),
        frozenset(map(str, (park.other, park.packer))),
    }
    synergy = pairs[frozenset(map(str, (park.carpenter, park.packer)))]
    assert synergy["category_id"] == "services.staff"
    parts = {c["name"]: c for c in synergy["explanation"]["components"]}
    assert list(parts) == ["complementarity", "coverage", "distance"]
    assert parts["complementarity"]["value"] == 1.0
    assert parts["coverage"]["value"] == pytest.approx(7 / 12, abs=1e-4)
    assert parts["complementarity"]["weight"] == 2.0
    weighted = sum(c["value"] * c["weight"] for c in parts.values()) / sum(
        c["weight"] for c in parts.values()
    )
    assert synergy["score"] == pytest.approx(weighted, abs=1e-4)
    assert (await detect(client, park))["proposed"] == 0


async def test_pooling_by_radius_can_be_turned_off(park: Park, db: asyncpg.Connection) -> None:
    import json

    from api.synergies.detect import candidates
    from api.synergies.scoring import Scoring

    await db.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    for organisation in (park.carpenter, park.packer):
        await factories.flow(db, park.network, organisation, direction="input")
        await db.execute(
            "UPDATE flows SET category_id = 'teststorage', unit = 'm2' WHERE organisation_id = $1",
            organisation,
        )
    kinds: list[Any] = [c.kind for c in await candidates(db, park.network, Scoring())]
    assert kinds == ["pooling"]
    assert await candidates(db, park.network, Scoring(pooling_radius_km=0)) == []
