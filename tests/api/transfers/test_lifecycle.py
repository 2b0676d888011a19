from __future__ import annotations

from decimal import Decimal

import asyncpg
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from tests.api.transfers.conftest import Park, act, ask, available

PLAN = {"scheduled_for": "2026-03-02T08:00:00Z", "transport_mode": "road", "vehicle_type": "van 3.5 t"}


async def test_the_whole_lifecycle_takes_stock_counts_impact_and_records_every_step(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    transfer = await ask(client, park, "10", message="Pour notre atelier")
    assert transfer["status"] == "requested"
    assert (transfer["unit"], transfer["category_id"], transfer["initiated_by"]) == (
        "pallet",
        "testwood.pallets",
        "taker",
    )
    tid = transfer["id"]
    assert await available(db, park.offer) == 40

    accepted = await act(client, tid, "accept", park.as_giver(), quantity="8")
    assert (accepted["status"], accepted["agreed_quantity"]) == ("accepted", "8.000")
    assert await available(db, park.offer) == 32

    scheduled = await act(client, tid, "schedule", park.as_taker(), **PLAN)
    assert scheduled["status"] == "scheduled"
    # 0.1 degree of latitude on earthdistance's sphere (radius 6378.168 km): 11.132 km.
    assert Decimal(scheduled["distance_km"]) == Decimal("11.13")
    corrected = await act(client, tid, "schedule", park.as_giver(), **PLAN, distance_km="14.5")
    assert corrected["distance_km"] == "14.50"

    assert (await act(client, tid, "dispatch", park.as_giver()))["status"] == "in_transit"
    received = await act(
        client,
        tid,
        "receive",
        park.as_taker(),
        received_quantity="8",
        refused_quantity="1",
        reason="une cassée",
    )
    assert (received["received_quantity"], received["refused_quantity"]) == ("8.000", "1.000")
    assert received["refusal_reason"] == "une cassée"
    assert await available(db, park.offer) == 32  # the refused pallet goes back to the giver, not to stock

    done = await act(client, tid, "complete", park.as_taker(), replaced_site_km="30", replaced_trips=2)
    assert done["status"] == "completed"
    impact = done["impact"]
    # 7 pallets kept x 25 kg = 175 kg; x 0.5 kg CO2e/kg = 87.5 kg; 2 trips of 30 km.
    assert Decimal(impact["mass_kg"]) == Decimal("175")
    assert Decimal(impact["co2e_avoided_kg"]) == Decimal("87.5")
    assert (Decimal(impact["km_saved"]), impact["trips_saved"]) == (Decimal("60"), 2)
    assert (Decimal(impact["kg_per_unit"]), impact["factor_source"]) == (Decimal("25"), "test")

    read = (await client.get(f"/v1/transfers/{tid}", headers=park.as_operator())).json()
    steps = [(e["action"], e["from_status"], e["to_status"], e["actor_role"]) for e in read["events"]]
    assert steps == [
        ("request", None, "requested", "taker"),
        ("accept", "requested", "accepted", "giver"),
        ("schedule", "accepted", "scheduled", "taker"),
        ("schedule", "scheduled", "scheduled", "giver"),
        ("dispatch", "scheduled", "in_transit", "giver"),
        ("receive", "in_transit", "received", "taker"),
        ("complete", "received", "completed", "taker"),
    ]
    topics = await db.fetch("SELECT topic FROM outbox WHERE aggregate_id = $1::uuid ORDER BY id", tid)
    assert [r["topic"] for r in topics] == ["transfer.changed"] * 7 + ["impact.counted"]


async def test_cancelling_an_accepted_transfer_gives_its_quantity_back_to_the_offer(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    tid = (await ask(client, park, "15"))["id"]
    await act(client, tid, "accept", park.as_giver())
    assert await available(db, park.offer) == 25
    cancelled = await act(client, tid, "cancel", park.as_taker(), reason="plus besoin")
    assert (cancelled["status"], cancelled["reason"]) == ("cancelled", "plus besoin")
    assert await available(db, park.offer) == 40


async def test_exhausting_an_offer_announces_it_to_search(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    tid = (await ask(client, park, "40"))["id"]
    await act(client, tid, "accept", park.as_giver())
    assert await available(db, park.offer) == 0
    payload = await db.fetchval(
        """SELECT payload::text FROM outbox WHERE topic = 'listing.changed' AND aggregate_id = $1
           ORDER BY id DESC""",
        park.offer,
    )
    assert '"exhausted": true' in payload
    response = await client.post(
        f"/v1/listings/{park.offer}/transfers", json={"quantity": 1}, headers=park.as_taker()
    )
    assert response.status_code == 409
    assert response.json()["available_quantity"] == "0.000"


async def test_declining_needs_nothing_and_takes_nothing(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    tid = (await ask(client, park, "5"))["id"]
    assert (await act(client, tid, "decline", park.as_giver()))["status"] == "declined"
    assert await available(db, park.offer) == 40


async def test_a_giver_answers_a_need_with_its_own_offer_and_the_taker_accepts(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    from tests import factories

    need = await factories.listing(db, park.network, park.taker, direction="need", title="Besoin de palettes")
    response = await client.post(
        f"/v1/listings/{need}/transfers",
        json={"quantity": "12", "offer_listing_id": str(park.offer)},
        headers=park.as_giver(),
    )
    assert response.status_code == 201, response.text
    proposal = response.json()
    assert (proposal["giver_id"], proposal["taker_id"]) == (str(park.giver), str(park.taker))
    assert (proposal["initiated_by"], proposal["need_listing_id"]) == ("giver", str(need))
    await act(client, proposal["id"], "accept", park.as_giver(), expected=403)
    await act(client, proposal["id"], "accept", park.as_taker())
    assert await available(db, park.offer) == 28


async def test_a_need_answered_without_an_offer_of_ones_own_is_422(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    from tests import factories

    need = await factories.listing(db, park.network, park.taker, direction="need", title="Besoin de palettes")
    for body in ({"quantity": 1}, {"quantity": 1, "offer_listing_id": str(need)}):
        response = await client.post(
            f"/v1/listings/{need}/transfers", json=body, headers=park.eve.headers(park.other)
        )
        assert response.status_code == 422, response.text
        assert response.json()["errors"][0]["path"] == "body.offer_listing_id"


async def test_receiving_a_refused_part_without_a_reason_is_422(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    tid = (await ask(client, park, "5"))["id"]
    await act(client, tid, "accept", park.as_giver())
    await act(client, tid, "schedule", park.as_giver(), **PLAN)
    await act(client, tid, "dispatch", park.as_giver())
    response = await client.post(
        f"/v1/transfers/{tid}/receive",
        json={"received_quantity": "5", "refused_quantity": "2"},
        headers=park.as_taker(),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "body.reason"
    for body in (
        {"received_quantity": "6"},
        {"received_quantity": "5", "refused_quantity": "6", "reason": "abc"},
    ):
        assert (
            await client.post(f"/v1/transfers/{tid}/receive", json=body, headers=park.as_taker())
        ).status_code == 422
    assert await db.fetchval("SELECT status FROM transfers WHERE id = $1::uuid", tid) == "in_transit"


async def test_a_field_the_action_does_not_read_is_422(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    tid = (await ask(client, park, "5"))["id"]
    response = await client.post(
        f"/v1/transfers/{tid}/accept", json={"received_quantity": "3"}, headers=park.as_giver()
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "body.received_quantity"


async def test_a_dispute_needs_a_reason_and_an_operator_resolves_it(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    tid = (await ask(client, park, "5"))["id"]
    await act(client, tid, "accept", park.as_giver())
    await act(client, tid, "schedule", park.as_giver(), **PLAN)
    await act(client, tid, "dispatch", park.as_giver())
    await act(client, tid, "dispute", park.as_taker(), expected=422)
    disputed = await act(client, tid, "dispute", park.as_taker(), reason="rien reçu depuis une semaine")
    assert disputed["status"] == "disputed"
    await act(client, tid, "resolve_complete", park.as_giver(), expected=403, received_quantity="4")
    await act(client, tid, "resolve_complete", park.as_operator(), expected=422)
    done = await act(
        client, tid, "resolve_complete", park.as_operator(), received_quantity="4", reason="livré"
    )
    assert (done["status"], Decimal(done["impact"]["mass_kg"])) == ("completed", Decimal("100"))
    assert await available(db, park.offer) == 35


async def test_the_list_shows_each_party_its_own_transfers_page_by_page(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    ids = [(await ask(client, park, "1"))["id"] for _ in range(3)]
    first = (await client.get("/v1/transfers", params={"limit": 2}, headers=park.as_giver())).json()
    second = (
        await client.get(
            "/v1/transfers", params={"limit": 2, "cursor": first["next_cursor"]}, headers=park.as_giver()
        )
    ).json()
    assert [t["id"] for t in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None
    assert len((await client.get("/v1/transfers", headers=park.as_operator())).json()["items"]) == 3
    assert (await client.get("/v1/transfers", headers=park.eve.headers(park.other))).json()["items"] == []
    requested = await client.get(
        "/v1/transfers", params={"status": "accepted", "listing_id": str(park.offer)}, headers=park.as_taker()
    )
    assert requested.json()["items"] == []


async def test_an_offer_paused_after_the_request_cannot_be_taken_from(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    tid = (await ask(client, park, "5"))["id"]
    await db.execute("UPDATE listings SET status = 'paused' WHERE id = $1", park.offer)
    refused = await act(client, tid, "accept", park.as_giver(), expected=409)
    assert refused["type"].endswith("/listing-unavailable")
    assert await available(db, park.offer) == 40


async def test_a_suspended_member_cannot_accept_and_nothing_is_taken(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    tid = (await ask(client, park, "5"))["id"]
    await db.execute("UPDATE memberships SET status = 'suspended' WHERE organisation_id = $1", park.giver)
    refused = await act(client, tid, "accept", park.as_giver(), expected=403)
    assert "suspended" in refused["detail"]
    assert await available(db, park.offer) == 40
    assert await db.fetchval("SELECT status FROM transfers WHERE id = $1::uuid", tid) == "requested"
