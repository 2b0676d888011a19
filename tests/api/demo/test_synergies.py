"""The demo network's flows and synergy funnel: dozens of potential synergies, some studied and in
progress, a few realised with their impact, and the report funders would get."""

from __future__ import annotations

from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from api.auth.tokens import LOCAL_ISSUER, LocalIssuer
from api.demo import data
from api.demo.loader import load_demo
from api.observability import RequestContext

OPERATOR = data.OPERATOR[0]


async def _operator(
    client: AsyncTestClient[RequestContext], issuer: LocalIssuer
) -> tuple[dict[str, str], str]:
    headers = {"authorization": f"Bearer {issuer.mint(email=OPERATOR)}"}
    networks = (await client.get("/v1/networks", headers=headers)).json()["items"]
    [network] = [n for n in networks if n["slug"] == data.NETWORK["slug"]]
    return headers, network["id"]


async def _all(client: AsyncTestClient[RequestContext], path: str, headers: dict[str, str]) -> list[Any]:
    items: list[Any] = []
    cursor = None
    while True:
        params = {"limit": 100, **({"cursor": cursor} if cursor else {})}
        page = (await client.get(path, params=params, headers=headers)).json()
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


async def test_the_demo_has_flows_and_a_funnel_like_the_fields(
    db: asyncpg.Connection, client: AsyncTestClient[RequestContext], issuer: LocalIssuer
) -> None:
    summary = await load_demo(db, LOCAL_ISSUER)
    assert "synergies proposed" in summary
    headers, network = await _operator(client, issuer)
    flows = await _all(client, f"/v1/networks/{network}/flows", headers)
    assert len(flows) >= 60
    synergies = await _all(client, f"/v1/networks/{network}/synergies", headers)
    statuses = [s["status"] for s in synergies]
    assert statuses.count("potential") >= 24
    assert statuses.count("studied") >= 5
    assert statuses.count("in_progress") >= 3
    assert statuses.count("abandoned") >= 3
    assert statuses.count("dismissed") >= 1
    realised = [s for s in synergies if s["status"] == "realised"]
    assert len(realised) == 6
    categories = {s["category_id"] for s in realised}
    assert categories == {
        "construction.rubble",
        "wood.pallets",
        "paper.cardboard",
        "services.security",
        "services.storage.warehouse",
        "services.staff",
    }
    guarding = next(s for s in realised if s["category_id"] == "services.security")
    assert len(guarding["organisation_ids"]) >= 5  # the whole park shares one guard

    report = (await client.get(f"/v1/networks/{network}/synergies/report", headers=headers)).json()
    total = report["total"]
    assert total["realised"] == 6
    assert total["mass_kg"] == 60_000 + 1200 * 25 + 12_000  # rubble, pallets of 25 kg, cardboard
    assert total["trips_saved"] == 19
    assert total["km_saved"] > 0
    assert total["euros_saved_cents"] == 2_160_000 + 960_000 + 300_000
    assert total["shared_jobs"] == 2.5
    assert total["organisations_engaged"] > 12
    by_kind = {r["key"]: r for r in report["rows"]}
    assert by_kind["pooling"]["realised"] == 3
    assert by_kind["substitution"]["realised"] == 3

    # The staff sharing shows its declared outcome.
    staff = next(s for s in realised if s["category_id"] == "services.staff")
    detail = (await client.get(f"/v1/synergies/{staff['id']}", headers=headers)).json()
    assert detail["outcomes"][0]["shared_jobs"] == 1.0


async def test_loading_the_demo_twice_adds_no_flow_or_synergy(
    db: asyncpg.Connection,
) -> None:
    await load_demo(db, LOCAL_ISSUER)
    counts = await db.fetchrow(
        "SELECT (SELECT count(*) FROM flows) AS f, (SELECT count(*) FROM synergies) AS s"
    )
    await load_demo(db, LOCAL_ISSUER)
    assert (
        await db.fetchrow("SELECT (SELECT count(*) FROM flows) AS f, (SELECT count(*) FROM synergies) AS s")
        == counts
    )
