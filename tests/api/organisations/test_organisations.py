from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from api.auth.tokens import LocalIssuer
from api.observability import RequestContext
from tests import factories

NEW = {"name": "Recyclerie du Parc", "siret": "73282932000074", "city": "Lyon", "is_ess": True}


async def test_creating_an_organisation_makes_the_caller_its_admin(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    founder = await factories.person(db, issuer, "founder@recyclerie.fr")
    response = await client.post("/v1/organisations", json=NEW, headers=founder.headers())
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["etag"] == '"1"'
    assert response.headers["location"] == f"/v1/organisations/{body['id']}"
    role = await db.fetchval(
        "SELECT role FROM organisation_roles WHERE organisation_id = $1 AND user_id = $2",
        __import__("uuid").UUID(body["id"]),
        founder.user_id,
    )
    assert role == "admin"
    me = (await client.get("/v1/me", headers=founder.headers())).json()
    assert me["organisations"] == [{"id": body["id"], "name": NEW["name"], "role": "admin"}]


async def test_a_siret_failing_luhn_is_422_on_the_field(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    founder = await factories.person(db, issuer, "founder@recyclerie.fr")
    response = await client.post(
        "/v1/organisations", json={**NEW, "siret": "73282932000075"}, headers=founder.headers()
    )
    assert response.status_code == 422
    assert response.json()["errors"][0]["path"] == "body.siret"
    assert await db.fetchval("SELECT count(*) FROM organisations") == 0


async def test_a_registered_siret_is_409(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    founder = await factories.person(db, issuer, "founder@recyclerie.fr")
    assert (await client.post("/v1/organisations", json=NEW, headers=founder.headers())).status_code == 201
    again = await client.post("/v1/organisations", json={**NEW, "name": "Copy"}, headers=founder.headers())
    assert again.status_code == 409
    assert await db.fetchval("SELECT count(*) FROM organisations") == 1


async def test_latitude_without_longitude_is_422(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    founder = await factories.person(db, issuer, "founder@recyclerie.fr")
    response = await client.post(
        "/v1/organisations", json={**NEW, "latitude": 45.7}, headers=founder.headers()
    )
    assert response.status_code == 422


async def test_update_needs_the_current_etag(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    admin = await factories.person(db, issuer, "admin@org.fr")
    organisation = await factories.organisation(db, "Org", admins=(admin,))
    path = f"/v1/organisations/{organisation}"
    missing = await client.patch(path, json={"city": "Vénissieux"}, headers=admin.headers())
    assert missing.status_code == 428
    ok = await client.patch(path, json={"city": "Vénissieux"}, headers={**admin.headers(), "if-match": '"1"'})
    assert ok.status_code == 200, ok.text
    assert ok.json()["city"] == "Vénissieux"
    assert ok.headers["etag"] == '"2"'


async def test_an_update_is_announced_for_the_search_index(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    admin = await factories.person(db, issuer, "admin@org.fr")
    organisation = await factories.organisation(db, "Org", admins=(admin,))
    response = await client.patch(
        f"/v1/organisations/{organisation}",
        json={"name": "Org renamed"},
        headers={**admin.headers(), "if-match": '"1"'},
    )
    assert response.status_code == 200, response.text
    rows = await db.fetch("SELECT topic, aggregate_id FROM outbox")
    assert [(r["topic"], r["aggregate_id"]) for r in rows] == [("organisation.changed", organisation)]


async def test_stale_if_match_is_412_and_changes_nothing(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    admin = await factories.person(db, issuer, "admin@org.fr")
    organisation = await factories.organisation(db, "Org", admins=(admin,))
    await db.execute("UPDATE organisations SET version = 3 WHERE id = $1", organisation)
    before = await factories.snapshot(db)
    response = await client.patch(
        f"/v1/organisations/{organisation}",
        json={"name": "Renamed"},
        headers={**admin.headers(), "if-match": '"2"'},
    )
    assert response.status_code == 412
    assert response.headers["etag"] == '"3"'
    assert await factories.snapshot(db) == before


async def test_null_clears_an_optional_field_and_absent_leaves_it(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    admin = await factories.person(db, issuer, "admin@org.fr")
    organisation = await factories.organisation(db, "Org", admins=(admin,))
    await db.execute("UPDATE organisations SET website = 'https://org.fr' WHERE id = $1", organisation)
    response = await client.patch(
        f"/v1/organisations/{organisation}",
        json={"website": None},
        headers={**admin.headers(), "if-match": '"1"'},
    )
    assert response.json()["website"] is None
    assert response.json()["name"] == "Org"


async def test_staff_invitation_is_accepted_once_by_the_invited_email(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    admin = await factories.person(db, issuer, "admin@org.fr")
    carol = await factories.person(db, issuer, "carol@org.fr")
    organisation = await factories.organisation(db, "Org", admins=(admin,))
    invitation = await client.post(
        f"/v1/organisations/{organisation}/invitations",
        json={"email": "Carol@org.fr"},
        headers=admin.headers(),
    )
    assert invitation.status_code == 201, invitation.text
    location = invitation.headers["location"]
    assert location == f"/v1/organisations/{organisation}/invitations/{invitation.json()['id']}"
    token = invitation.json()["token"]
    accepted = await client.post("/v1/invitations/accept", json={"token": token}, headers=carol.headers())
    assert accepted.status_code == 200, accepted.text
    assert accepted.json()["token"] is None
    seen = await client.get(location, headers=admin.headers())
    assert seen.status_code == 200, seen.text
    assert seen.json()["accepted_at"] == accepted.json()["accepted_at"]
    assert seen.json().get("token") is None
    assert (await client.get(location, headers=carol.headers())).status_code == 403
    staff = (await client.get(f"/v1/organisations/{organisation}/staff", headers=carol.headers())).json()
    assert {(s["email"], s["role"]) for s in staff} == {("admin@org.fr", "admin"), ("carol@org.fr", "staff")}
    again = await client.post("/v1/invitations/accept", json={"token": token}, headers=carol.headers())
    assert again.status_code == 409


async def test_an_expired_invitation_is_refused(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    admin = await factories.person(db, issuer, "admin@org.fr")
    carol = await factories.person(db, issuer, "carol@org.fr")
    organisation = await factories.organisation(db, "Org", admins=(admin,))
    invitation = await client.post(
        f"/v1/organisations/{organisation}/invitations",
        json={"email": "carol@org.fr"},
        headers=admin.headers(),
    )
    await db.execute("UPDATE invitations SET expires_at = now() - interval '1 minute'")
    response = await client.post(
        "/v1/invitations/accept", json={"token": invitation.json()["token"]}, headers=carol.headers()
    )
    assert response.status_code == 409
    assert "expired" in response.json()["detail"]
    assert await db.fetchval("SELECT count(*) FROM organisation_roles WHERE user_id = $1", carol.user_id) == 0


async def test_an_organisation_becomes_public_once_active_in_a_network(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    network = await factories.network(db, "n")
    organisation = await factories.organisation(db, "Org")
    assert (await client.get(f"/v1/organisations/{organisation}")).status_code == 404
    await factories.membership(db, network, organisation, "active")
    assert (await client.get(f"/v1/organisations/{organisation}")).status_code == 200
