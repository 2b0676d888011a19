"""Each transfer action as its own operation: its input, the caller's allowed actions, ETag and
If-Match, and the roles named giver and taker."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from tests import factories
from tests.api.transfers.conftest import PLAN_HAZARD, Park, act, ask


async def test_schedule_without_transport_mode_is_422_naming_it_and_changes_nothing(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    tid = (await ask(client, park, "5"))["id"]
    await act(client, tid, "accept", park.as_giver())
    before = await factories.snapshot(db)
    refused = await act(
        client, tid, "schedule", park.as_giver(), expected=422, scheduled_for="2026-03-02T08:00:00Z"
    )
    assert [e["path"] for e in refused["errors"]] == ["body.transport_mode"]
    response = await client.post(f"/v1/transfers/{tid}/schedule", headers=park.as_giver())
    assert response.status_code == 422, response.text
    assert await factories.snapshot(db) == before


async def test_each_action_takes_only_its_own_fields(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    tid = (await ask(client, park, "5"))["id"]
    for action, body, path in [
        ("decline", {"transport_mode": "road"}, "body.transport_mode"),
        ("dispute", {}, "body.reason"),
        ("receive", {"refused_quantity": "1", "reason": "abîmé"}, "body.received_quantity"),
        ("dispatch", {"reason": "abc"}, "body.reason"),
    ]:
        refused = await act(client, tid, action, park.as_giver(), expected=422, **body)
        assert refused["errors"][0]["path"] == path, action
        assert refused["status"] == 422


async def test_every_answer_carries_the_callers_allowed_actions(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    created = await ask(client, park, "5")
    assert created["allowed_actions"] == ["cancel"]  # the taker asked
    tid = created["id"]
    read = (await client.get(f"/v1/transfers/{tid}", headers=park.as_giver())).json()
    assert read["allowed_actions"] == ["accept", "decline"]
    listed = (await client.get("/v1/transfers", headers=park.as_taker())).json()["items"]
    assert [t["allowed_actions"] for t in listed] == [["cancel"]]
    operator = (await client.get("/v1/transfers", headers=park.as_operator())).json()["items"]
    assert [t["allowed_actions"] for t in operator] == [[]]
    accepted = await act(client, tid, "accept", park.as_giver())
    assert accepted["allowed_actions"] == ["schedule", "cancel"]


async def test_etags_follow_the_version_and_a_stale_if_match_is_412_changing_nothing(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    created = await client.post(
        f"/v1/listings/{park.offer}/transfers", json={"quantity": "5"}, headers=park.as_taker()
    )
    tid = created.json()["id"]
    assert created.headers["etag"] == '"1"'
    read = await client.get(f"/v1/transfers/{tid}", headers=park.as_giver())
    assert read.headers["etag"] == '"1"'
    before = await factories.snapshot(db)
    stale = await client.post(f"/v1/transfers/{tid}/accept", headers={**park.as_giver(), "if-match": '"7"'})
    assert stale.status_code == 412, stale.text
    assert stale.headers["etag"] == '"1"'
    assert stale.json()["status"] == 412
    assert await factories.snapshot(db) == before
    fresh = await client.post(
        f"/v1/transfers/{tid}/accept", headers={**park.as_giver(), "if-match": read.headers["etag"]}
    )
    assert (fresh.status_code, fresh.headers["etag"], fresh.json()["version"]) == (200, '"2"', 2)
    scheduled = await client.post(
        f"/v1/transfers/{tid}/schedule", json=PLAN_HAZARD, headers=park.as_taker()
    )  # If-Match is optional
    assert scheduled.headers["etag"] == '"3"'


async def test_the_wrong_party_reads_who_may_act_as_giver_or_taker(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    asked = (await ask(client, park, "5"))["id"]
    refused = await act(client, asked, "accept", park.as_taker(), expected=403)
    assert refused["detail"] == "only the giver of this transfer may accept it"
    need = await factories.listing(db, park.network, park.taker, direction="need")
    proposed = await client.post(
        f"/v1/listings/{need}/transfers",
        json={"quantity": "3", "offer_listing_id": str(park.offer)},
        headers=park.as_giver(),
    )
    assert proposed.status_code == 201, proposed.text
    pid = proposed.json()["id"]
    refused = await act(client, pid, "accept", park.as_giver(), expected=403)
    assert refused["detail"] == "only the taker of this transfer may accept it"
    refused = await act(client, pid, "cancel", park.as_taker(), expected=403)
    assert refused["detail"] == "only the giver of this transfer may cancel it"
    accepted = await act(client, pid, "accept", park.as_taker())
    roles = [(e["action"], e["actor_role"]) for e in accepted["events"]]
    assert roles == [("request", "giver"), ("accept", "taker")]


async def test_an_illegal_action_names_the_current_status_and_the_allowed_actions(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    tid = (await ask(client, park, "5"))["id"]
    refused = await act(client, tid, "dispatch", park.as_giver(), expected=409)
    assert (refused["status"], refused["current_status"], refused["allowed_actions"]) == (
        409,
        "requested",
        ["accept", "decline"],
    )


async def test_creating_answers_the_location_of_the_transfer(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    created = await client.post(
        f"/v1/listings/{park.offer}/transfers", json={"quantity": "2"}, headers=park.as_taker()
    )
    assert created.headers["location"] == f"/v1/transfers/{created.json()['id']}"
    read = await client.get(created.headers["location"], headers=park.as_taker())
    assert read.json()["id"] == created.json()["id"]
