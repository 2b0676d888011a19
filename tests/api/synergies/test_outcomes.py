"""Declared outcomes of pooling synergies: who declared what and when, realising, and the report."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from tests import factories
from tests.api.synergies.conftest import Park, add_flow
from tests.api.synergies.test_detection import detect
from tests.api.synergies.test_funnel import act
from tests.api.synergies.test_pooling import STAFF, STORAGE


async def _pooling(client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection) -> str:
    """Storage needed by all three members of the park's zone, carried out."""
    await db.execute("UPDATE memberships SET zone_id = $1 WHERE network_id = $2", park.zone, park.network)
    for organisation in (park.carpenter, park.packer, park.other):
        await add_flow(client, park, organisation, **STORAGE)
    [synergy_id] = (await detect(client, park))["synergy_ids"]
    for action in ("study", "start"):
        await act(client, synergy_id, action, park.as_operator())
    return str(synergy_id)


async def _declare(
    client: AsyncTestClient[RequestContext], synergy_id: str, headers: dict[str, str], **body: Any
) -> Any:
    return await client.post(f"/v1/synergies/{synergy_id}/outcomes", json=body, headers=headers)


async def test_a_declared_outcome_realises_a_pooling_and_records_who_and_when(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    synergy_id = await _pooling(client, park, db)
    first = await _declare(
        client, synergy_id, park.as_operator(), euros_saved_cents=1_200_000, km_saved="3600", note="Year 1"
    )
    assert first.status_code == 201, first.text
    synergy = first.json()
    assert synergy["status"] == "realised"
    assert synergy["events"][-1]["action"] == "realise"
    assert synergy["events"][-1]["actor_user_id"] == str(park.olga.user_id)
    [outcome] = synergy["outcomes"]
    assert (outcome["euros_saved_cents"], outcome["km_saved"], outcome["shared_jobs"]) == (
        1_200_000,
        "3600.00",
        None,
    )
    assert (outcome["declared_by"], outcome["declared_for"]) == (str(park.olga.user_id), None)
    assert outcome["declared_at"]
    # An involved member adds one for its organisation; the synergy stays realised.
    second = await _declare(client, synergy_id, park.tom.headers(park.packer), shared_jobs=0.5)
    assert second.status_code == 201, second.text
    outcomes = second.json()["outcomes"]
    assert [(o["declared_by"], o["declared_for"]) for o in outcomes] == [
        (str(park.olga.user_id), None),
        (str(park.tom.user_id), str(park.packer)),
    ]
    assert second.json()["status"] == "realised"


async def test_outcomes_are_refused_before_the_start_for_substitutions_and_without_figures(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    potential = await factories.synergy(db, park.network, [park.carpenter, park.packer])
    await db.execute("UPDATE synergies SET kind = 'pooling' WHERE id = $1", potential)
    early = await _declare(client, str(potential), park.as_operator(), euros_saved_cents=10)
    assert (early.status_code, early.json()["type"].rsplit("/", 1)[1]) == (409, "synergy-not-underway")
    substitution = await factories.synergy(
        db, park.network, [park.carpenter, park.packer], status="in_progress"
    )
    wrong = await _declare(client, str(substitution), park.as_operator(), euros_saved_cents=10)
    assert (wrong.status_code, wrong.json()["type"].rsplit("/", 1)[1]) == (409, "synergy-not-pooling")
    empty = await _declare(client, str(potential), park.as_operator(), note="nothing")
    assert empty.status_code == 422
    # Not involved, not an operator: the synergy does not exist for them.
    outsider = await factories.organisation(db, "Outsider", admins=(park.eve,))
    hidden = await _declare(client, str(potential), park.eve.headers(outsider), euros_saved_cents=10)
    assert hidden.status_code == 404
    assert await db.fetchval("SELECT count(*) FROM synergy_outcomes") == 0


async def test_the_report_sums_declared_outcomes_and_groups_poolings_by_zone_kind_category_month(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    synergy_id = await _pooling(client, park, db)
    await _declare(
        client, synergy_id, park.as_operator(), euros_saved_cents=500_000, km_saved="120", shared_jobs=1
    )
    await add_flow(client, park, park.carpenter, **STAFF, quantity="10", months=[6, 7, 8])
    await add_flow(client, park, park.packer, **STAFF, quantity="10", months=[12, 1])
    assert (await detect(client, park))["poolings"] == 1
    op = park.as_operator()

    async def report(group_by: str) -> dict[str, Any]:
        response = await client.get(
            f"/v1/networks/{park.network}/synergies/report", params={"group_by": group_by}, headers=op
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    by_zone = await report("zone")
    [zone_row] = by_zone["rows"]
    assert zone_row["key"] == str(park.zone)
    assert (zone_row["synergies"], zone_row["realised"], zone_row["potential"]) == (2, 1, 1)
    assert (zone_row["euros_saved_cents"], zone_row["declared_km_saved"], zone_row["shared_jobs"]) == (
        500_000,
        120,
        1,
    )
    assert zone_row["organisations_engaged"] == 3
    assert [r["key"] for r in (await report("kind"))["rows"]] == ["pooling"]
    assert sorted(r["key"] for r in (await report("category"))["rows"]) == ["services.staff", "teststorage"]
    [month] = (await report("month"))["rows"]
    assert month["synergies"] == 2
    assert by_zone["total"]["euros_saved_cents"] == 500_000
    as_csv = await client.get(
        f"/v1/networks/{park.network}/synergies/report", params={"format": "csv"}, headers=op
    )
    header, *_, total = as_csv.text.strip().splitlines()
    columns = header.split(",")
    assert dict(zip(columns, total.split(","), strict=True))["euros_saved_cents"] == "500000"
