from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from api.auth.tokens import LocalIssuer
from api.observability import RequestContext
from tests import factories


async def test_join_approve_suspend_reinstate_with_events(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    operator = await factories.person(db, issuer, "op@cci.fr")
    admin = await factories.person(db, issuer, "admin@org.fr")
    network = await factories.network(db, "n", operators=(operator,))
    zone = await factories.zone(db, network, "Parc")
    organisation = await factories.organisation(db, "Org", admins=(admin,))
    asked = await client.post(
        f"/v1/networks/{network}/memberships",
        json={"message": "Bonjour"},
        headers=admin.headers(organisation),
    )
    assert asked.status_code == 201, asked.text
    membership = asked.json()["id"]
    assert asked.json()["status"] == "pending"
    approved = await client.post(
        f"/v1/memberships/{membership}/approve", json={"zone_id": str(zone)}, headers=operator.headers()
    )
    assert approved.json()["status"] == "active"
    assert approved.json()["zone_id"] == str(zone)
    suspended = await client.post(
        f"/v1/memberships/{membership}/suspend", json={"reason": "unpaid"}, headers=operator.headers()
    )
    assert suspended.json()["status"] == "suspended"
    assert suspended.json()["reason"] == "unpaid"
    reinstated = await client.post(f"/v1/memberships/{membership}/reinstate", headers=operator.headers())
    assert reinstated.json()["status"] == "active"
    events = await db.fetch("SELECT action, from_status, to_status FROM membership_events ORDER BY id")
    assert [tuple(e) for e in events] == [
        ("request", None, "pending"),
        ("approve", "pending", "active"),
        ("suspend", "active", "suspended"),
        ("reinstate", "suspended", "active"),
    ]
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'membership.changed'") == 4


async def test_an_illegal_action_is_409_listing_the_allowed_ones(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    operator = await factories.person(db, issuer, "op@cci.fr")
    network = await factories.network(db, "n", operators=(operator,))
    membership = await factories.membership(db, network, await factories.organisation(db, "Org"), "pending")
    before = await factories.snapshot(db)
    response = await client.post(f"/v1/memberships/{membership}/suspend", headers=operator.headers())
    assert response.status_code == 409
    assert response.json()["allowed_actions"] == ["approve", "reject"]
    assert await factories.snapshot(db) == before


async def test_an_unknown_action_has_no_route(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    operator = await factories.person(db, issuer, "op@cci.fr")
    network = await factories.network(db, "n", operators=(operator,))
    membership = await factories.membership(db, network, await factories.organisation(db, "Org"), "pending")
    response = await client.post(f"/v1/memberships/{membership}/promote", headers=operator.headers())
    assert response.status_code == 404


async def test_a_rejected_organisation_may_ask_again_but_not_twice(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    admin = await factories.person(db, issuer, "admin@org.fr")
    network = await factories.network(db, "n")
    organisation = await factories.organisation(db, "Org", admins=(admin,))
    await factories.membership(db, network, organisation, "rejected")
    path = f"/v1/networks/{network}/memberships"
    again = await client.post(path, json={}, headers=admin.headers(organisation))
    assert again.status_code == 201
    assert again.json()["status"] == "pending"
    twice = await client.post(path, json={}, headers=admin.headers(organisation))
    assert twice.status_code == 409


async def test_staff_cannot_ask_to_join_for_their_organisation(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    sam = await factories.person(db, issuer, "sam@org.fr")
    network = await factories.network(db, "n")
    organisation = await factories.organisation(db, "Org", staff=(sam,))
    response = await client.post(
        f"/v1/networks/{network}/memberships", json={}, headers=sam.headers(organisation)
    )
    assert response.status_code == 403


async def test_a_zone_of_another_network_is_422(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    admin = await factories.person(db, issuer, "admin@org.fr")
    network, other = await factories.network(db, "n"), await factories.network(db, "o")
    foreign_zone = await factories.zone(db, other, "Ailleurs")
    organisation = await factories.organisation(db, "Org", admins=(admin,))
    response = await client.post(
        f"/v1/networks/{network}/memberships",
        json={"zone_id": str(foreign_zone)},
        headers=admin.headers(organisation),
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "body.zone_id"


async def test_members_see_active_members_and_operators_see_everyone(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    operator = await factories.person(db, issuer, "op@cci.fr")
    alice = await factories.person(db, issuer, "alice@a.fr")
    network = await factories.network(db, "n", operators=(operator,))
    org_a = await factories.organisation(db, "A", admins=(alice,))
    await factories.membership(db, network, org_a, "active")
    await factories.membership(db, network, await factories.organisation(db, "B"), "active")
    await factories.membership(db, network, await factories.organisation(db, "C"), "pending")
    await factories.membership(db, network, await factories.organisation(db, "D"), "suspended")
    as_member = (await client.get(f"/v1/networks/{network}/members", headers=alice.headers(org_a))).json()
    assert [m["name"] for m in as_member["items"]] == ["A", "B"]
    as_operator = (await client.get(f"/v1/networks/{network}/members", headers=operator.headers())).json()
    assert [(m["name"], m["status"]) for m in as_operator["items"]] == [
        ("A", "active"),
        ("B", "active"),
        ("C", "pending"),
        ("D", "suspended"),
    ]
    page = (
        await client.get(
            f"/v1/networks/{network}/memberships", params={"status": "pending"}, headers=operator.headers()
        )
    ).json()
    assert [m["organisation_name"] for m in page["items"]] == ["C"]
    paged = (
        await client.get(f"/v1/networks/{network}/members", params={"limit": 3}, headers=operator.headers())
    ).json()
    rest = (
        await client.get(
            f"/v1/networks/{network}/members",
            params={"limit": 3, "cursor": paged["next_cursor"]},
            headers=operator.headers(),
        )
    ).json()
    assert [m["name"] for m in paged["items"] + rest["items"]] == ["A", "B", "C", "D"]


async def test_each_decision_takes_its_own_fields_and_a_request_answers_its_location(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    operator = await factories.person(db, issuer, "op@cci.fr")
    admin = await factories.person(db, issuer, "admin@org.fr")
    network = await factories.network(db, "n", operators=(operator,))
    zone = await factories.zone(db, network, "Parc")
    organisation = await factories.organisation(db, "Org", admins=(admin,))
    asked = await client.post(
        f"/v1/networks/{network}/memberships", json={}, headers=admin.headers(organisation)
    )
    assert asked.headers["location"] == f"/v1/memberships/{asked.json()['id']}"
    read = await client.get(asked.headers["location"], headers=operator.headers())
    assert read.json()["id"] == asked.json()["id"]
    refused = await client.post(
        f"{asked.headers['location']}/reject", json={"zone_id": str(zone)}, headers=operator.headers()
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["path"] == "body.zone_id"
    rejected = await client.post(f"{asked.headers['location']}/reject", headers=operator.headers())
    assert rejected.json()["status"] == "rejected"
