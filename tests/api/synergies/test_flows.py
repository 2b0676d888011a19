"""Flows: recorded by operators or the organisation, seen by them only, changed with If-Match."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from tests.api.synergies.conftest import Park, add_flow, flow_body


async def test_an_operator_records_a_flow_with_defaults(
    client: AsyncTestClient[RequestContext], park: Park
) -> None:
    flow = await add_flow(
        client,
        park,
        park.carpenter,
        waste_code="150103",
        months=[3, 1, 3],
        destination="landfill",
        destination_cost_cents=450_000,
    )
    assert flow["visibility"] == "operators"
    assert flow["waste_code"] == "15 01 03"
    assert flow["months"] == [1, 3]
    assert flow["destination"] == "landfill"
    got = await client.get(f"/v1/flows/{flow['id']}", headers=park.alice.headers(park.carpenter))
    assert got.status_code == 200
    assert got.headers["etag"] == '"1"'


async def test_the_organisation_records_its_own_flow_and_sees_only_its_own(
    client: AsyncTestClient[RequestContext], park: Park
) -> None:
    response = await client.post(
        f"/v1/organisations/{park.packer}/flows",
        json={"network_id": str(park.network), **flow_body(direction="input")},
        headers=park.tom.headers(park.packer),
    )
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v1/flows/{response.json()['id']}"
    await add_flow(client, park, park.carpenter)
    mine = await client.get(f"/v1/organisations/{park.packer}/flows", headers=park.tom.headers(park.packer))
    assert [f["organisation_id"] for f in mine.json()["items"]] == [str(park.packer)]
    theirs = await client.get(
        f"/v1/organisations/{park.carpenter}/flows", headers=park.tom.headers(park.packer)
    )
    assert theirs.status_code == 403
    network = await client.get(f"/v1/networks/{park.network}/flows", headers=park.tom.headers(park.packer))
    assert network.status_code == 403
    everything = await client.get(f"/v1/networks/{park.network}/flows", headers=park.as_operator())
    assert len(everything.json()["items"]) == 2


async def test_another_member_does_not_learn_a_flow_exists(
    client: AsyncTestClient[RequestContext], park: Park
) -> None:
    flow = await add_flow(client, park, park.carpenter)
    for method in ("GET", "PATCH", "DELETE"):
        response = await client.request(
            method,
            f"/v1/flows/{flow['id']}",
            json={"quantity": 1} if method == "PATCH" else None,
            headers={**park.eve.headers(park.other), "if-match": '"1"'},
        )
        assert response.status_code == 404, method


async def test_bad_fields_are_named(client: AsyncTestClient[RequestContext], park: Park) -> None:
    response = await client.post(
        f"/v1/networks/{park.network}/flows",
        json={
            "organisation_id": str(park.carpenter),
            **flow_body(direction="input", unit="m2", waste_code="99 99 99", destination="reuse"),
        },
        headers=park.as_operator(),
    )
    assert response.status_code == 422
    paths = sorted(e["path"] for e in response.json()["errors"])
    assert paths == ["body.destination", "body.unit", "body.waste_code"]
    outsider = await client.post(
        f"/v1/networks/{park.network}/flows",
        json={"organisation_id": str(park.olga.user_id), **flow_body()},
        headers=park.as_operator(),
    )
    assert outsider.status_code == 422
    assert outsider.json()["errors"][0]["path"] == "body.organisation_id"


async def test_updates_need_the_current_etag_and_delete_removes(
    client: AsyncTestClient[RequestContext], park: Park
) -> None:
    flow = await add_flow(client, park, park.carpenter)
    url = f"/v1/flows/{flow['id']}"
    headers = park.alice.headers(park.carpenter)
    missing = await client.patch(url, json={"quantity": "900"}, headers=headers)
    assert missing.status_code == 428
    changed = await client.patch(url, json={"quantity": "900"}, headers={**headers, "if-match": '"1"'})
    assert changed.status_code == 200, changed.text
    assert changed.json()["quantity"] == "900.000" or changed.json()["quantity"] == "900"
    assert changed.headers["etag"] == '"2"'
    stale = await client.delete(url, headers={**headers, "if-match": '"1"'})
    assert stale.status_code == 412
    gone = await client.delete(url, headers={**headers, "if-match": '"2"'})
    assert gone.status_code == 204
    assert (await client.get(url, headers=headers)).status_code == 404


async def test_a_suspended_member_reads_its_flows_but_changes_none(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    flow = await add_flow(client, park, park.carpenter)
    await db.execute("UPDATE memberships SET status = 'suspended' WHERE organisation_id = $1", park.carpenter)
    headers = park.alice.headers(park.carpenter)
    assert (await client.get(f"/v1/flows/{flow['id']}", headers=headers)).status_code == 200
    changed = await client.patch(
        f"/v1/flows/{flow['id']}", json={"quantity": "1"}, headers={**headers, "if-match": '"1"'}
    )
    assert changed.status_code == 403
    created = await client.post(
        f"/v1/organisations/{park.carpenter}/flows",
        json={"network_id": str(park.network), **flow_body()},
        headers=headers,
    )
    assert created.status_code == 403
    # The operator still records it.
    assert (
        await client.post(
            f"/v1/networks/{park.network}/flows",
            json={"organisation_id": str(park.carpenter), **flow_body()},
            headers=park.as_operator(),
        )
    ).status_code == 201
