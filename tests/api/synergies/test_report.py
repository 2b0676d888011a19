"""The funders' report: stages, conversion, abandonment reasons, engaged organisations, realised impact."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from tests import factories
from tests.api.synergies.conftest import Park
from tests.api.synergies.test_funnel import act


async def test_the_funnel_counts_stages_reasons_and_realised_impact(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    pair = [park.carpenter, park.packer]
    ids = [str(await factories.synergy(db, park.network, pair)) for _ in range(4)]
    await db.executemany(
        "INSERT INTO synergy_events (synergy_id, action, to_status) VALUES ($1, 'propose', 'potential')",
        [(i,) for i in ids],
    )
    op = park.as_operator()
    await act(client, ids[0], "dismiss", op)
    await act(client, ids[1], "study", op)
    await act(client, ids[1], "abandon", op, reason="cost")
    for action in ("study", "start"):
        await act(client, ids[2], action, op)
    offer = await factories.listing(db, park.network, park.carpenter)
    transfer = await factories.transfer(db, offer, taker=park.packer, status="completed")
    await db.execute(
        """INSERT INTO transfer_impacts (transfer_id, network_id, giver_id, taker_id, category_id, quantity,
               unit, mass_kg, co2e_avoided_kg, km_saved, trips_saved)
           VALUES ($1, $2, $3, $4, 'testwood.pallets', 40, 'pallet', 1000, 500, 360, 3)""",
        transfer,
        park.network,
        park.carpenter,
        park.packer,
    )
    linked = await client.post(
        f"/v1/synergies/{ids[2]}/exchanges", json={"transfer_id": str(transfer)}, headers=op
    )
    assert linked.json()["status"] == "realised"

    response = await client.get(f"/v1/networks/{park.network}/synergies/report", headers=op)
    assert response.status_code == 200, response.text
    report = response.json()
    [row] = report["rows"]
    assert row["key"] == "substitution"
    total = report["total"]
    counts = {k: total[k] for k in ("synergies", "potential", "realised", "abandoned", "dismissed")}
    assert counts == {"synergies": 4, "potential": 1, "realised": 1, "abandoned": 1, "dismissed": 1}
    assert (total["reached_studied"], total["reached_in_progress"]) == (2, 1)
    assert (total["conversion_studied"], total["conversion_in_progress"], total["conversion_realised"]) == (
        0.5,
        0.5,
        1.0,
    )
    assert total["abandonment_reasons"]["cost"] == 1
    assert total["organisations_engaged"] == 2
    assert (total["mass_kg"], total["co2e_avoided_kg"], total["km_saved"], total["trips_saved"]) == (
        1000,
        500,
        360,
        3,
    )

    as_csv = await client.get(f"/v1/networks/{park.network}/synergies/report?format=csv", headers=op)
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.text.strip().splitlines()
    assert lines[0].startswith("group,key,synergies,potential")
    assert lines[-1].startswith("network_total,,4,1,")
    member = await client.get(
        f"/v1/networks/{park.network}/synergies/report", headers=park.alice.headers(park.carpenter)
    )
    assert member.status_code == 403
    backwards = await client.get(
        f"/v1/networks/{park.network}/synergies/report",
        params={"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        headers=op,
    )
    assert backwards.status_code == 422


async def test_a_synergy_started_without_being_studied_counts_as_having_passed_studied(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    op = park.as_operator()
    studied = str(await factories.synergy(db, park.network, [park.carpenter, park.packer]))
    matched = await factories.synergy(db, park.network, [park.carpenter, park.other])
    await db.executemany(
        "INSERT INTO synergy_events (synergy_id, action, to_status) VALUES ($1, 'propose', 'potential')",
        [(studied,), (matched,)],
    )
    for action in ("study", "start"):
        await act(client, studied, action, op)
    # What a match does when a member turns it into an exchange (api/matches/service.py `_carry`).
    await db.execute("UPDATE synergies SET status = 'in_progress' WHERE id = $1", matched)
    await db.execute(
        """INSERT INTO synergy_events (synergy_id, action, from_status, to_status)
           VALUES ($1, 'request', 'potential', 'in_progress')""",
        matched,
    )

    response = await client.get(f"/v1/networks/{park.network}/synergies/report", headers=op)
    assert response.status_code == 200, response.text
    total = response.json()["total"]
    assert (total["reached_studied"], total["reached_in_progress"]) == (2, 2)
    assert (total["conversion_studied"], total["conversion_in_progress"]) == (1.0, 1.0)
    assert total["organisations_engaged"] == 3
