"""The funnel: operators move a synergy, the involved organisations see it and add notes, a linked
exchange that completes realises it."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from api.synergies.lifecycle import SYNERGY
from tests import factories
from tests.api.synergies.conftest import Park, add_flow
from tests.api.synergies.test_detection import detect, pallets


async def proposed(client: AsyncTestClient[RequestContext], park: Park) -> dict[str, Any]:
    await pallets(client, park)
    [synergy_id] = (await detect(client, park))["synergy_ids"]
    response = await client.get(f"/v1/synergies/{synergy_id}", headers=park.as_operator())
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def act(
    client: AsyncTestClient[RequestContext],
    synergy_id: str,
    action: str,
    headers: dict[str, str],
    expected: int = 200,
    **body: Any,
) -> dict[str, Any]:
    response = await client.post(f"/v1/synergies/{synergy_id}/{action}", json=body, headers=headers)
    assert response.status_code == expected, f"{action}: {response.text}"
    result: dict[str, Any] = response.json()
    return result


def test_only_people_actions_are_operations() -> None:
    assert SYNERGY.operations() == ["study", "dismiss", "start", "abandon"]


async def test_potential_to_studied_to_in_progress_with_history(
    client: AsyncTestClient[RequestContext], park: Park
) -> None:
    synergy = await proposed(client, park)
    assert synergy["allowed_actions"] == ["study", "dismiss", "abandon"]
    assert [e["action"] for e in synergy["events"]] == ["propose"]
    studied = await act(client, synergy["id"], "study", park.as_operator(), note="Workshop 1: both keen")
    assert studied["status"] == "studied"
    assert studied["allowed_actions"] == ["start", "abandon"]
    started = await act(client, synergy["id"], "start", park.as_operator())
    assert started["status"] == "in_progress"
    assert [(e["action"], e["to_status"]) for e in started["events"]] == [
        ("propose", "potential"),
        ("study", "studied"),
        ("start", "in_progress"),
    ]
    assert started["events"][1]["note"] == "Workshop 1: both keen"


async def test_illegal_steps_are_409_with_what_is_allowed(
    client: AsyncTestClient[RequestContext], park: Park
) -> None:
    synergy = await proposed(client, park)
    refused = await act(client, synergy["id"], "start", park.as_operator(), 409)
    assert refused["allowed_actions"] == ["study", "dismiss", "abandon"]
    await act(client, synergy["id"], "study", park.as_operator())
    again = await act(client, synergy["id"], "dismiss", park.as_operator(), 409)
    assert again["current_status"] == "studied"
    realise = await client.post(f"/v1/synergies/{synergy['id']}/realise", json={}, headers=park.as_operator())
    assert realise.status_code in (404, 405)  # a system step has no route


async def test_abandon_needs_a_reason_from_the_list(
    client: AsyncTestClient[RequestContext], park: Park
) -> None:
    synergy = await proposed(client, park)
    missing = await act(client, synergy["id"], "abandon", park.as_operator(), 422)
    assert missing["errors"][0]["path"] == "body.reason"
    wrong = await act(client, synergy["id"], "abandon", park.as_operator(), 422, reason="boredom")
    assert wrong["errors"][0]["path"] == "body.reason"
    done = await act(client, synergy["id"], "abandon", park.as_operator(), reason="distance", note="too far")
    assert (done["status"], done["abandon_reason"], done["abandon_note"]) == (
        "abandoned",
        "distance",
        "too far",
    )
    assert done["allowed_actions"] == []


async def test_a_stale_if_match_is_412(client: AsyncTestClient[RequestContext], park: Park) -> None:
    synergy = await proposed(client, park)
    headers = {**park.as_operator(), "if-match": '"7"'}
    response = await client.post(f"/v1/synergies/{synergy['id']}/study", json={}, headers=headers)
    assert response.status_code == 412


async def test_involved_organisations_see_and_note_but_do_not_move_it(
    client: AsyncTestClient[RequestContext], park: Park
) -> None:
    synergy = await proposed(client, park)
    packer = park.tom.headers(park.packer)
    seen = await client.get(f"/v1/synergies/{synergy['id']}", headers=packer)
    assert seen.status_code == 200
    assert seen.json()["allowed_actions"] == []
    assert (await act(client, synergy["id"], "study", packer, 403))["status"] == 403
    note = await client.post(
        f"/v1/synergies/{synergy['id']}/notes", json={"body": "We can collect"}, headers=packer
    )
    assert note.status_code == 201, note.text
    assert note.json()["organisation_id"] == str(park.packer)
    mine = await client.get(f"/v1/organisations/{park.packer}/synergies", headers=packer)
    assert [s["id"] for s in mine.json()["items"]] == [synergy["id"]]
    outsider = park.eve.headers(park.other)
    assert (await client.get(f"/v1/synergies/{synergy['id']}", headers=outsider)).status_code == 404
    listed = await client.get(f"/v1/organisations/{park.other}/synergies", headers=outsider)
    assert listed.json()["items"] == []
    blocked = await client.post(f"/v1/synergies/{synergy['id']}/notes", json={"body": "x"}, headers=outsider)
    assert blocked.status_code == 404
    shown = await client.get(f"/v1/synergies/{synergy['id']}", headers=park.as_operator())
    assert [n["body"] for n in shown.json()["notes"]] == ["We can collect"]


async def test_a_linked_transfer_that_completes_realises_the_synergy(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    synergy = await proposed(client, park)
    offer = await factories.listing(db, park.network, park.carpenter)
    transfer = await factories.transfer(db, offer, taker=park.packer, status="received")
    link = {"transfer_id": str(transfer)}
    early = await client.post(
        f"/v1/synergies/{synergy['id']}/exchanges", json=link, headers=park.as_operator()
    )
    assert early.status_code == 409
    assert early.json()["type"].endswith("synergy-not-started")
    await act(client, synergy["id"], "study", park.as_operator())
    await act(client, synergy["id"], "start", park.as_operator())
    linked = await client.post(
        f"/v1/synergies/{synergy['id']}/exchanges", json=link, headers=park.as_operator()
    )
    assert linked.status_code == 200, linked.text
    assert linked.json()["status"] == "in_progress"
    await db.execute("UPDATE transfers SET status = 'completed' WHERE id = $1", transfer)
    realised = (await client.get(f"/v1/synergies/{synergy['id']}", headers=park.as_operator())).json()
    assert realised["status"] == "realised"
    assert realised["events"][-1]["action"] == "realise"
    assert realised["events"][-1]["actor_user_id"] is None


async def test_linking_an_exchange_already_completed_realises_at_once_and_only_once(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection
) -> None:
    synergy = await proposed(client, park)
    await act(client, synergy["id"], "study", park.as_operator())
    await act(client, synergy["id"], "start", park.as_operator())
    offer = await factories.listing(db, park.network, park.carpenter)
    transfer = await factories.transfer(db, offer, taker=park.packer, status="completed")
    url = f"/v1/synergies/{synergy['id']}/exchanges"
    done = await client.post(url, json={"transfer_id": str(transfer)}, headers=park.as_operator())
    assert done.json()["status"] == "realised"
    both = await client.post(
        url,
        json={"transfer_id": str(transfer), "reservation_id": str(uuid.uuid4())},
        headers=park.as_operator(),
    )
    assert both.status_code == 422
    # Another synergy of the same members may not claim the same transfer.
    await add_flow(
        client, park, park.packer, direction="input", category_id="testwood", unit="t", quantity="3"
    )
    second = (await detect(client, park))["synergy_ids"][0]  # the offer and the new flow are candidates
    await act(client, second, "study", park.as_operator())
    await act(client, second, "start", park.as_operator())
    taken = await client.post(
        f"/v1/synergies/{second}/exchanges", json={"transfer_id": str(transfer)}, headers=park.as_operator()
    )
    assert taken.status_code == 409
    assert taken.json()["type"].endswith("exchange-linked")
