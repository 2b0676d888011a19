from __future__ import annotations

from datetime import timedelta

import asyncpg
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from api.reservations.service import sweep_due
from tests.api.reservations.conftest import Park, act, book, held, iso, period, status_of
from tests.factories import hours_from_now


async def _sweep(db: asyncpg.Connection) -> int:
    async with db.transaction():
        return await sweep_due(db)


async def _shift(db: asyncpg.Connection, reservation_id: str, hours: float) -> None:
    """Move a reservation's period (and deadline) by `hours`, as if time had passed the other way."""
    await db.execute(
        """UPDATE reservations SET period = tstzrange(lower(period) + make_interval(secs => $2),
                                                      upper(period) + make_interval(secs => $2), '[)'),
               expires_at = expires_at + make_interval(secs => $2)
           WHERE id = $1::uuid""",
        reservation_id,
        hours * 3600,
    )


async def test_a_free_booking_goes_from_request_to_completion_and_records_every_step(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    reservation = await book(client, park, "2", message="Pour nos palettes pendant le chantier")
    assert (reservation["status"], reservation["quantity"], reservation["unit"]) == (
        "requested",
        "2.000",
        "m2",
    )
    assert reservation["allowed_actions"] == ["cancel"]
    rid = reservation["id"]
    assert await held(db, park.storage) == 0  # a request holds nothing

    accepted = await act(client, rid, "accept", park.as_provider())
    assert accepted["status"] == "accepted"
    assert await held(db, park.storage) == 2
    confirmed = await act(client, rid, "confirm", park.as_requester())
    assert (confirmed["status"], confirmed["expires_at"]) == ("confirmed", None)

    await _shift(db, rid, -25)  # the period started an hour ago
    assert await _sweep(db) == 1
    assert await status_of(db, rid) == "in_progress"
    await _shift(db, rid, -4)  # and ended an hour ago
    assert await _sweep(db) == 1
    assert await status_of(db, rid) == "completed"
    assert await held(db, park.storage) == 0
    assert await _sweep(db) == 0

    read = await client.get(f"/v1/reservations/{rid}", headers=park.as_operator())
    assert read.headers["etag"] == '"5"'
    steps = [(e["action"], e["from_status"], e["to_status"], e["actor_role"]) for e in read.json()["events"]]
    assert steps == [
        ("request", None, "requested", "requester"),
        ("accept", "requested", "accepted", "provider"),
        ("confirm", "accepted", "confirmed", "requester"),
        ("start", "confirmed", "in_progress", "system"),
        ("complete", "in_progress", "completed", "system"),
    ]
    actors = [e["actor_user_id"] for e in read.json()["events"]]
    assert actors == [str(park.tom.user_id), str(park.alice.user_id), str(park.tom.user_id), None, None]
    topics = await db.fetch(
        "SELECT topic, aggregate_id FROM outbox WHERE topic LIKE 'reservation%' OR payload ? 'reservation_id'"
        " ORDER BY id"
    )
    assert [r["topic"] for r in topics] == [
        "reservation.changed",
        "reservation.changed",
        "listing.changed",  # capacity held from the accept
        "reservation.changed",
        "reservation.changed",
        "reservation.changed",
        "listing.changed",  # and freed at completion
    ]
    assert {r["aggregate_id"] for r in topics if r["topic"] == "listing.changed"} == {park.storage}


async def test_an_unanswered_request_expires_after_the_listings_response_time(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    await db.execute("UPDATE listings SET response_time_hours = 6 WHERE id = $1", park.storage)
    reservation = await book(client, park, 1)
    expires_at = await db.fetchval("SELECT expires_at - created_at FROM reservations")
    assert timedelta(hours=6) - timedelta(seconds=5) < expires_at <= timedelta(hours=6)
    assert reservation["expires_at"] is not None
    assert await _sweep(db) == 0
    await db.execute("UPDATE reservations SET expires_at = now() - interval '1 second'")
    assert await _sweep(db) == 1
    events = await db.fetch("SELECT action, actor_role, actor_user_id FROM reservation_events ORDER BY id")
    assert [(e["action"], e["actor_role"], e["actor_user_id"]) for e in events][-1] == (
        "expire",
        "system",
        None,
    )


async def test_a_request_for_a_period_starting_soon_expires_at_its_start(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    rid = (await book(client, park, 1, start=iso(hours_from_now(2)), end=iso(hours_from_now(6))))["id"]
    gap = await db.fetchval("SELECT lower(period) - expires_at FROM reservations WHERE id = $1::uuid", rid)
    assert gap == timedelta(0)


async def test_an_accepted_booking_not_confirmed_in_time_expires_and_frees_its_capacity(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    rid = (await book(client, park, 3))["id"]
    await act(client, rid, "accept", park.as_provider())
    await db.execute("UPDATE reservations SET expires_at = now() - interval '1 second'")
    # The clock wins before the sweep runs: confirming past the deadline is refused, nothing changes.
    refused = await act(client, rid, "confirm", park.as_requester(), expected=409)
    assert (refused["status"], refused["current_status"], refused["allowed_actions"]) == (409, "expired", [])
    assert await status_of(db, rid) == "accepted"
    assert await _sweep(db) == 1
    assert (await status_of(db, rid), await held(db, park.storage)) == ("expired", 0)


async def test_declining_needs_no_reason_and_holds_nothing(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    rid = (await book(client, park, 1))["id"]
    declined = await act(client, rid, "decline", park.as_provider())
    assert (declined["status"], declined["reason"]) == ("declined", None)
    other = (await book(client, park, 1))["id"]
    assert (await act(client, other, "decline", park.as_provider(), reason="Complet ce jour-là"))[
        "reason"
    ] == "Complet ce jour-là"
    assert await held(db, park.storage) == 0


async def test_cancelling_records_who_and_why_and_frees_the_capacity(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    rid = (await book(client, park, 3))["id"]
    await act(client, rid, "accept", park.as_provider())
    await act(client, rid, "confirm", park.as_requester())
    missing = await act(client, rid, "cancel", park.as_provider(), expected=422)
    assert missing["errors"][0]["path"] == "body.reason"
    cancelled = await act(client, rid, "cancel", park.as_provider(), reason="Inondation de l'entrepôt")
    assert (cancelled["status"], cancelled["cancelled_by"], cancelled["reason"]) == (
        "cancelled",
        "provider",
        "Inondation de l'entrepôt",
    )
    last = cancelled["events"][-1]
    assert (last["action"], last["actor_role"], last["actor_user_id"], last["reason"]) == (
        "cancel",
        "provider",
        str(park.alice.user_id),
        "Inondation de l'entrepôt",
    )
    assert await held(db, park.storage) == 0
    again = await book(client, park, 3)  # the slot is free again
    assert again["status"] == "requested"


async def test_an_operator_may_cancel_and_the_provider_may_complete_early(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    first = (await book(client, park, 1))["id"]
    cancelled = await act(client, first, "cancel", park.as_operator(), reason="Membre en litige")
    assert cancelled["cancelled_by"] == "operator"
    rid = (await book(client, park, 1))["id"]
    await act(client, rid, "accept", park.as_provider())
    await act(client, rid, "confirm", park.as_requester())
    await _shift(db, rid, -25)
    # The period has started (the sweep has not run yet): the provider ends it early.
    done = await act(client, rid, "complete", park.as_provider())
    assert done["status"] == "completed"
    assert [e["action"] for e in done["events"]][-2:] == ["start", "complete"]
    assert [e["actor_role"] for e in done["events"]][-2:] == ["system", "provider"]


async def test_a_stale_if_match_is_412_and_changes_nothing(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    rid = (await book(client, park, 1))["id"]
    response = await client.post(
        f"/v1/reservations/{rid}/accept", headers={**park.as_provider(), "if-match": '"7"'}
    )
    assert response.status_code == 412
    assert response.headers["etag"] == '"1"'
    assert await status_of(db, rid) == "requested"
    fresh = await client.post(
        f"/v1/reservations/{rid}/accept", headers={**park.as_provider(), "if-match": '"1"'}
    )
    assert (fresh.status_code, fresh.headers["etag"]) == (200, '"2"')


async def test_the_list_shows_each_side_its_reservations_filtered_and_page_by_page(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    ids = [(await book(client, park, 1))["id"] for _ in range(3)]
    await act(client, ids[0], "accept", park.as_provider())
    first = (await client.get("/v1/reservations", params={"limit": 2}, headers=park.as_provider())).json()
    second = (
        await client.get(
            "/v1/reservations",
            params={"limit": 2, "cursor": first["next_cursor"]},
            headers=park.as_provider(),
        )
    ).json()
    assert [r["id"] for r in first["items"] + second["items"]] == ids[::-1]
    assert second["next_cursor"] is None
    assert first["items"][0]["allowed_actions"] == ["accept", "decline"]
    mine = await client.get("/v1/reservations", params={"role": "requester"}, headers=park.as_provider())
    assert mine.json()["items"] == []
    accepted = await client.get(
        "/v1/reservations", params={"status": "accepted"}, headers=park.as_requester()
    )
    assert [r["id"] for r in accepted.json()["items"]] == [ids[0]]
    assert len((await client.get("/v1/reservations", headers=park.as_operator())).json()["items"]) == 3
    assert (await client.get("/v1/reservations", headers=park.as_other())).json()["items"] == []
    start = hours_from_now(24)
    overlapping = await client.get(
        "/v1/reservations",
        params={"from": iso(start + timedelta(hours=3)), "to": iso(start + timedelta(hours=30))},
        headers=park.as_requester(),
    )
    assert len(overlapping.json()["items"]) == 3
    after = await client.get(
        "/v1/reservations", params={"from": iso(start + timedelta(hours=4))}, headers=park.as_requester()
    )
    assert after.json()["items"] == []  # [start, start+4h) ends where the filter begins
    naive = await client.get(
        "/v1/reservations", params={"from": "2026-03-02T08:00:00"}, headers=park.as_requester()
    )
    assert naive.status_code == 422
    assert naive.json()["errors"][0]["path"] == "query.from"


async def test_a_body_sent_to_confirm_is_422_and_cancel_needs_its_reason(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    rid = (await book(client, park, 1))["id"]
    await act(client, rid, "accept", park.as_provider())
    refused = await client.post(
        f"/v1/reservations/{rid}/confirm", json={"reason": "ok"}, headers=park.as_requester()
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["path"] == "body.reason"
    bare = await client.post(f"/v1/reservations/{rid}/cancel", headers=park.as_requester())
    assert bare.status_code == 422, bare.text
    assert await status_of(db, rid) == "accepted"


async def test_creating_answers_the_location_and_etag_of_the_reservation(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    created = await client.post(
        f"/v1/listings/{park.storage}/reservations",
        json={**period(), "quantity": 1},
        headers=park.as_requester(),
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == f"/v1/reservations/{created.json()['id']}"
    assert created.headers["etag"] == '"1"'
    read = await client.get(created.headers["location"], headers=park.as_requester())
    assert read.json()["id"] == created.json()["id"]
