"""The event feed: what it holds, its order, its filters and who sees what."""

from __future__ import annotations

import asyncio
from decimal import Decimal
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from api.events.types import EVENT_TYPES, LIFECYCLES, OUTSIDE_TABLES, event_type
from api.observability import RequestContext
from tests.api.events.conftest import Park, act, ask

Client = AsyncTestClient[RequestContext]


async def feed(client: Client, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = await client.get("/v1/events", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_transfer_accepted_is_in_the_feed_with_its_state_actor_and_previous_values(
    client: Client, park: Park
) -> None:
    transfer = await ask(client, park, "10")
    await act(client, transfer["id"], "accept", park.as_giver(), quantity="8")
    items = (await feed(client, park.as_giver()))["items"]
    assert [e["type"] for e in items] == ["transfer.requested", "transfer.accepted"]
    accepted = items[1]
    assert accepted["resource_type"] == "transfer"
    assert accepted["resource_id"] == transfer["id"]
    assert accepted["resource"]["status"] == "accepted"
    assert Decimal(accepted["resource"]["agreed_quantity"]) == 8
    assert accepted["previous_values"]["status"] == "requested"
    assert accepted["previous_values"]["agreed_quantity"] is None
    assert accepted["actor"] == {
        "user_id": str(park.alice.user_id),
        "organisation_id": str(park.giver),
        "role": "giver",
    }
    assert accepted["request_id"]
    assert items[0]["sequence_id"] < accepted["sequence_id"]


async def test_after_reads_on_from_the_last_sequence_id(client: Client, park: Park) -> None:
    transfer = await ask(client, park, "10")
    first = await feed(client, park.as_taker())
    assert [e["type"] for e in first["items"]] == ["transfer.requested"]
    assert (await feed(client, park.as_taker(), after=first["next_after"]))["items"] == []
    await act(client, transfer["id"], "accept", park.as_giver())
    later = await feed(client, park.as_taker(), after=first["next_after"])
    assert [e["type"] for e in later["items"]] == ["transfer.accepted"]
    paged = await feed(client, park.as_taker(), limit=1)
    assert [e["type"] for e in paged["items"]] == ["transfer.requested"]


async def test_an_event_committing_late_with_a_lower_number_is_not_skipped(
    client: Client, park: Park, db: asyncpg.Connection, database_url: str
) -> None:
    """Two real transactions: the first to write its event commits last. A reader that read in
    between must still get it, and after the other's."""
    early = await asyncpg.connect(database_url)
    try:
        async with early.transaction():
            await early.execute(
                "INSERT INTO membership_events (membership_id, action, from_status, to_status) "
                "SELECT id, 'suspend', 'active', 'suspended' FROM memberships WHERE organisation_id = $1",
                park.taker,
            )
            # Meanwhile another transaction writes an event and commits.
            await ask(client, park, "10")
            during = await feed(client, park.as_operator())
            assert during["items"] == [], "an event of a younger transaction is not numbered yet"
        after_commit = await feed(client, park.as_operator(), after=during["next_after"])
    finally:
        await early.close()
    types = [e["type"] for e in after_commit["items"]]
    assert types == ["membership.suspended", "transfer.requested"]
    numbers = [e["sequence_id"] for e in after_commit["items"]]
    assert numbers == sorted(numbers)
    assert numbers[0] > during["next_after"]


async def test_concurrent_sequencers_hand_out_each_number_once_in_order(
    park: Park, db: asyncpg.Connection, database_url: str
) -> None:
    from api.events import service

    await db.execute(
        """INSERT INTO membership_events (membership_id, action, from_status, to_status)
           SELECT id, 'suspend', 'active', 'suspended' FROM memberships, generate_series(1, 300)"""
    )
    conns = [await asyncpg.connect(database_url) for _ in range(3)]
    try:
        await asyncio.gather(*(service.sequence(c) for c in conns))
        await service.sequence(conns[0])
    finally:
        for c in conns:
            await c.close()
    rows = await db.fetch("SELECT sequence_id FROM events ORDER BY position")
    numbers = [r["sequence_id"] for r in rows]
    assert numbers == list(range(1, len(rows) + 1))
    assert await db.fetchval("SELECT last_sequence FROM event_sequencer") == len(rows)


async def test_types_filter_takes_exact_types_and_prefixes(client: Client, park: Park) -> None:
    transfer = await ask(client, park, "10")
    await act(client, transfer["id"], "accept", park.as_giver())
    await client.post(f"/v1/listings/{park.offer}/pause", headers=park.as_giver())
    everything = [e["type"] for e in (await feed(client, park.as_giver()))["items"]]
    assert everything == ["transfer.requested", "transfer.accepted", "listing.paused"]
    prefixed = await feed(client, park.as_giver(), types="transfer.*")
    assert [e["type"] for e in prefixed["items"]] == ["transfer.requested", "transfer.accepted"]
    mixed = await feed(client, park.as_giver(), types="transfer.accepted, listing.*")
    assert [e["type"] for e in mixed["items"]] == ["transfer.accepted", "listing.paused"]


async def test_an_unknown_type_is_a_422_naming_the_parameter(client: Client, park: Park) -> None:
    for bad in ("transfer.teleported", "nope.*", "DROP TABLE", "transfer."):
        response = await client.get("/v1/events", params={"types": bad}, headers=park.as_giver())
        assert response.status_code in (400, 422), (bad, response.text)
        assert response.headers["content-type"].startswith("application/problem+json")
        assert "query.types" in response.text


async def test_each_caller_sees_what_it_is_party_to(
    client: Client, park: Park, db: asyncpg.Connection, issuer: Any
) -> None:
    from tests import factories

    await ask(client, park, "10")
    olga2 = await factories.person(db, issuer, "olga2@elsewhere.fr")
    root = await factories.person(db, issuer, "root@platform.fr", platform_admin=True)
    await factories.network(db, "elsewhere", operators=(olga2,))

    def types(body: dict[str, Any]) -> list[str]:
        return [e["type"] for e in body["items"]]

    assert types(await feed(client, park.as_taker())) == ["transfer.requested"]
    assert types(await feed(client, park.as_giver())) == ["transfer.requested"]
    assert types(await feed(client, park.as_operator())) == ["transfer.requested"]
    assert types(await feed(client, root.headers())) == ["transfer.requested"]
    assert types(await feed(client, park.eve.headers(park.other))) == []
    assert types(await feed(client, olga2.headers())) == []


async def test_callers_without_a_scope_are_refused(client: Client, park: Park) -> None:
    assert (await client.get("/v1/events")).status_code == 401
    assert (await client.get("/v1/events", headers=park.alice.headers())).status_code == 403
    wrong = park.alice.headers(park.other)
    assert (await client.get("/v1/events", headers=wrong)).status_code == 403


async def test_the_sweep_prunes_events_past_their_retention(
    client: Client, park: Park, db: asyncpg.Connection
) -> None:
    from api.events import service

    await ask(client, park, "10")
    await feed(client, park.as_taker())
    await db.execute("UPDATE events SET occurred_at = now() - interval '91 days'")
    await ask(client, park, "5")
    await feed(client, park.as_taker())
    assert await service.prune(db, 90) == 1
    remaining = (await feed(client, park.as_taker()))["items"]
    assert len(remaining) == 1
    assert remaining[0]["sequence_id"] == 2


async def test_sql_and_python_name_every_step_alike(db: asyncpg.Connection) -> None:
    steps = [(r, t.from_status, t.to_status) for r, lc in LIFECYCLES.items() for t in lc.transitions]
    for resource_type, from_status, to_status in [*steps, *OUTSIDE_TABLES]:
        named = await db.fetchval("SELECT event_type($1, $2, $3)", resource_type, from_status, to_status)
        assert named == event_type(resource_type, from_status, to_status)
        assert named in EVENT_TYPES
    assert {"listing.published", "transfer.accepted", "reservation.confirmed", "membership.suspended"} <= set(
        EVENT_TYPES
    )
