"""Flows from a CSV file: all rows or none, every bad line reported as the listings' import does."""

from __future__ import annotations

from typing import Any

import asyncpg
import httpx
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from tests.api.synergies.conftest import Park

HEADER = "siret;direction;category;quantity;unit;period;waste_code;months;destination;destination_cost_cents"


async def _sirets(db: asyncpg.Connection, park: Park) -> dict[str, str]:
    await db.execute(
        "UPDATE organisations SET latitude = 45.7, longitude = 4.85 WHERE id = ANY($1::uuid[])",
        [park.carpenter, park.packer, park.other],
    )
    rows = await db.fetch(
        "SELECT id, siret FROM organisations WHERE id = ANY($1::uuid[])", [park.carpenter, park.packer]
    )
    by_id = {r["id"]: r["siret"] for r in rows}
    return {"carpenter": by_id[park.carpenter], "packer": by_id[park.packer]}


def _csv(*lines: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *lines]) + "\n").encode()


async def _import(
    client: AsyncTestClient[RequestContext], path: str, body: bytes, headers: dict[str, str]
) -> httpx.Response:
    return await client.post(path, content=body, headers={**headers, "content-type": "text/csv"})


async def _flows(db: asyncpg.Connection, park: Park) -> list[Any]:
    return await db.fetch(
        "SELECT organisation_id, direction, category_id, waste_code, months::int[] AS months, destination, "
        "latitude FROM flows WHERE network_id = $1 ORDER BY quantity",
        park.network,
    )


async def test_an_operator_imports_every_members_flows_in_one_go(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    s = await _sirets(db, park)
    body = _csv(
        f"{s['carpenter']};output;testwood.pallets;1200;pallet;year;150103;;landfill;300000",
        f"{s['packer']};input;testwood.pallets;1300;pallet;year;;6-8 12;;",
    )
    response = await _import(client, f"/v1/networks/{park.network}/flows/import", body, park.as_operator())
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v1/networks/{park.network}/flows"
    assert response.json() | {"network_id": None} == {
        "network_id": None,
        "rows": 2,
        "created": 2,
        "organisations": 2,
    }
    output, need = await _flows(db, park)
    assert (output["organisation_id"], output["waste_code"], output["destination"]) == (
        park.carpenter,
        "15 01 03",
        "landfill",
    )
    assert (need["organisation_id"], need["months"], need["latitude"]) == (park.packer, [6, 7, 8, 12], 45.7)
    listed = await client.get(f"/v1/networks/{park.network}/flows", headers=park.as_operator())
    assert len(listed.json()["items"]) == 2


async def test_one_bad_line_imports_nothing_and_every_bad_line_is_reported(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    s = await _sirets(db, park)
    body = _csv(
        f"{s['carpenter']};output;testwood.pallets;1200;pallet;year;;;;",
        f"{s['packer']};input;testwood.pallets;10;pallet;year;;;landfill;",
        f"{s['packer']};output;testwood.pallets;10;kg;fortnight;;13;;",
        "12345678901234;output;nowhere;0;pallet;year;99 99 99;;;",
    )
    response = await _import(client, f"/v1/networks/{park.network}/flows/import", body, park.as_operator())
    assert response.status_code == 422, response.text
    problem = response.json()
    assert problem["type"].endswith("/import-rejected")
    assert problem["rows_with_errors"] == 3
    by_line = {r["row"]: [e["path"] for e in r["errors"]] for r in problem["rows"]}
    assert by_line == {3: ["row.destination"], 4: ["row.period"], 5: ["row.quantity"]}
    assert await _flows(db, park) == []

    unknown = _csv(f"{s['carpenter']};output;nowhere;10;pallet;year;99 99 99;13;;")
    response = await _import(client, f"/v1/networks/{park.network}/flows/import", unknown, park.as_operator())
    [row] = response.json()["rows"]
    assert [e["path"] for e in row["errors"]] == ["row.category", "row.waste_code", "row.months"]
    stranger = _csv("12345678901234;output;testwood.pallets;10;pallet;year;;;;")
    response = await _import(
        client, f"/v1/networks/{park.network}/flows/import", stranger, park.as_operator()
    )
    assert response.json()["rows"] == [
        {
            "row": 2,
            "errors": [
                {"path": "row.siret", "message": "no member of this network has this SIRET", "source": "body"}
            ],
        }
    ]
    header = _csv("x", header="siret;direction;colour")
    response = await _import(client, f"/v1/networks/{park.network}/flows/import", header, park.as_operator())
    assert response.status_code == 422
    assert "unknown columns colour" in response.json()["detail"]


async def test_an_organisation_imports_its_own_flows_as_a_form_upload(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    s = await _sirets(db, park)
    body = b"direction,category,quantity,unit,period,latitude,longitude\ninput,testwood,5,t,year,45.8,4.9\n"
    alice = park.alice.headers(park.carpenter)
    path = f"/v1/organisations/{park.carpenter}/flows/import"
    response = await client.post(
        path, params={"network_id": str(park.network)}, files={"file": ("flows.csv", body)}, headers=alice
    )
    assert response.status_code == 201, response.text
    [flow] = await _flows(db, park)
    assert (flow["organisation_id"], flow["latitude"]) == (park.carpenter, 45.8)

    someone_else = _csv(f"{s['packer']};output;testwood.pallets;1;pallet;year;;;;")
    refused = await client.post(
        path,
        params={"network_id": str(park.network)},
        content=someone_else,
        headers={**alice, "content-type": "text/csv"},
    )
    assert refused.status_code == 422
    assert refused.json()["rows"][0]["errors"][0]["path"] == "row.siret"
    # Another organisation's people may not import for it, whatever the file holds.
    tom = await client.post(
        path,
        params={"network_id": str(park.network)},
        content=someone_else,
        headers={**park.tom.headers(park.packer), "content-type": "text/csv"},
    )
    assert tom.status_code == 403
    assert len(await _flows(db, park)) == 1
