"""Every route, asked by the wrong callers: each is refused as documented and nothing changes.

The callers: anonymous; the wrong organisation (an admin of an organisation active in another
network); the wrong network (an operator of another network); a suspended member of the network.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.auth.tokens import LocalIssuer
from api.listings.routes import ACTIONS as LISTING_ACTIONS
from api.memberships.routes import ACTIONS as MEMBERSHIP_ACTIONS
from api.observability import RequestContext
from api.reservations.routes import ACTIONS as RESERVATION_ACTIONS
from api.synergies.routes import ACTIONS as SYNERGY_ACTIONS
from api.transfers.routes import ACTIONS as TRANSFER_ACTIONS
from tests import factories
from tests.factories import Person

CALLERS = ("anonymous", "wrong_organisation", "wrong_network", "suspended_member")


@dataclass
class World:
    network: uuid.UUID
    zone: uuid.UUID
    org_active: uuid.UUID
    org_pending: uuid.UUID
    org_wrong: uuid.UUID
    org_suspended: uuid.UUID
    membership_active: uuid.UUID
    membership_pending: uuid.UUID
    invitation_token: str
    listing_draft: uuid.UUID
    listing_published: uuid.UUID
    transfer: uuid.UUID
    service_listing: uuid.UUID
    reservation: uuid.UUID
    flow: uuid.UUID
    synergy: uuid.UUID
    callers: dict[str, dict[str, str]]
    alice: Person
    webhook_endpoint: uuid.UUID | None = None


@pytest.fixture
async def world(db: asyncpg.Connection, issuer: LocalIssuer) -> World:
    operator = await factories.person(db, issuer, "operator@n.fr")
    other_operator = await factories.person(db, issuer, "operator@other.fr")
    alice = await factories.person(db, issuer, "alice@active.fr")
    pat = await factories.person(db, issuer, "pat@pending.fr")
    bob = await factories.person(db, issuer, "bob@wrong.fr")
    sue = await factories.person(db, issuer, "sue@suspended.fr")
    network = await factories.network(db, "the-network", operators=(operator,))
    other = await factories.network(db, "other-network", operators=(other_operator,))
    zone = await factories.zone(db, network, "Parc Nord")
    org_active = await factories.organisation(db, "Active", admins=(alice,))
    org_pending = await factories.organisation(db, "Pending", admins=(pat,))
    org_wrong = await factories.organisation(db, "Wrong", admins=(bob,))
    org_suspended = await factories.organisation(db, "Suspended", admins=(sue,))
    membership_active = await factories.membership(db, network, org_active, "active")
    membership_pending = await factories.membership(db, network, org_pending, "pending")
    await factories.membership(db, other, org_wrong, "active")
    await factories.membership(db, network, org_suspended, "suspended")
    token = "invitation-token-for-carol-0123456789"
    import hashlib

    await db.execute(
        """INSERT INTO invitations (organisation_id, email, role, token_sha256, invited_by, expires_at)
           VALUES ($1, 'carol@active.fr', 'staff', $2, $3, now() + interval '1 day')""",
        org_active,
        hashlib.sha256(token.encode()).hexdigest(),
        alice.user_id,
    )
    listing_draft = await factories.listing(db, network, org_active, status="draft")
    listing_published = await factories.listing(db, network, org_active, status="published")
    transfer = await factories.transfer(db, listing_published, taker=org_pending)
    service_listing = await factories.service_listing(db, network, org_active)
    reservation = await factories.reservation(db, service_listing, requester=org_pending)
    webhook_endpoint = await db.fetchval(
        "INSERT INTO webhook_endpoints (organisation_id, url, secret) "
        "VALUES ($1, 'https://h.example/', 'whsec_x') RETURNING id",
        org_active,
    )
    flow = await factories.flow(db, network, org_active)
    synergy = await factories.synergy(db, network, [org_active, org_pending])
    return World(
        webhook_endpoint=webhook_endpoint,
        flow=flow,
        synergy=synergy,
        transfer=transfer,
        service_listing=service_listing,
        reservation=reservation,
        listing_draft=listing_draft,
        listing_published=listing_published,
        network=network,
        zone=zone,
        org_active=org_active,
        org_pending=org_pending,
        org_wrong=org_wrong,
        org_suspended=org_suspended,
        membership_active=membership_active,
        membership_pending=membership_pending,
        invitation_token=token,
        callers={
            "anonymous": {},
            "wrong_organisation": bob.headers(org_wrong),
            "wrong_network": other_operator.headers(),
            "suspended_member": sue.headers(org_suspended),
        },
        alice=alice,
    )


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    expected: tuple[int, int, int, int]
    """Statuses for anonymous, wrong organisation, wrong network, suspended member."""
    body: Any = None


def cases(w: World) -> list[Case]:
    n, a, p = w.network, w.org_active, w.org_pending
    return [
        Case("GET", "/v1/me", (401, 200, 200, 200)),
        # Before the membership request below, which makes the wrong organisation a pending member.
        Case(
            "POST",
            "/v1/listings",
            (401, 403, 403, 403),
            {
                "network_id": str(n),
                "direction": "offer",
                "category_id": "testwood.pallets",
                "title": "Palettes",
                "unit": "pallet",
                "quantity": 10,
            },
        ),
        Case(
            "POST",
            "/v1/networks",
            (401, 403, 403, 403),
            {"slug": "x", "name": "X", "latitude": 1, "longitude": 1},
        ),
        Case("PATCH", f"/v1/networks/{n}", (401, 403, 403, 403), {"name": "Renamed"}),
        Case(
            "POST",
            f"/v1/networks/{n}/zones",
            (401, 403, 403, 403),
            {"name": "Z", "kind": "commune", "latitude": 1, "longitude": 1, "radius_km": 1},
        ),
        Case("POST", f"/v1/networks/{n}/operators", (401, 403, 403, 403), {"user_id": str(w.alice.user_id)}),
        Case("GET", f"/v1/organisations/{p}", (404, 404, 404, 404)),
        Case("PATCH", f"/v1/organisations/{a}", (401, 403, 403, 403), {"name": "Hijacked"}),
        Case("PATCH", f"/v1/organisations/{p}", (401, 404, 404, 404), {"name": "Hijacked"}),
        Case("GET", f"/v1/organisations/{a}/staff", (401, 403, 403, 403)),
        Case("GET", f"/v1/organisations/{p}/staff", (401, 404, 404, 404)),
        Case("POST", f"/v1/organisations/{a}/invitations", (401, 403, 403, 403), {"email": "x@y.fr"}),
        Case("POST", "/v1/invitations/accept", (401, 403, 403, 403), {"token": w.invitation_token}),
        Case("POST", f"/v1/networks/{n}/memberships", (401, 201, 403, 409), {}),
        Case("GET", f"/v1/networks/{n}/memberships", (401, 403, 403, 403)),
        Case("GET", f"/v1/networks/{n}/members", (401, 403, 403, 403)),
        Case("GET", f"/v1/memberships/{w.membership_active}", (401, 404, 404, 404)),
        Case("POST", f"/v1/networks/{n}/imports", (401, 403, 403, 403), b"siret,direction\n"),
        Case("GET", f"/v1/networks/{n}/imports/{uuid.uuid4()}", (401, 403, 403, 403)),
        Case("GET", f"/v1/organisations/{a}/invitations/{uuid.uuid4()}", (401, 403, 403, 403)),
        Case("GET", f"/v1/listings/{w.listing_draft}", (404, 404, 404, 404)),
        Case("GET", f"/v1/listings/{w.listing_published}", (404, 404, 404, 404)),
        Case("PATCH", f"/v1/listings/{w.listing_published}", (401, 404, 404, 404), {"title": "Hijacked"}),
        Case("POST", f"/v1/listings/{w.listing_published}/transfers", (401, 404, 404, 404), {"quantity": 1}),
        Case("GET", "/v1/transfers", (401, 200, 200, 200)),
        Case("GET", f"/v1/transfers/{w.transfer}", (401, 404, 404, 404)),
        Case(
            "POST",
            f"/v1/listings/{w.service_listing}/reservations",
            (401, 404, 404, 404),
            {"start": "2030-03-02T08:00:00Z", "end": "2030-03-02T12:00:00Z", "quantity": 1},
        ),
        Case("GET", f"/v1/listings/{w.service_listing}/availability", (404, 404, 404, 404)),
        Case("GET", "/v1/reservations", (401, 200, 200, 200)),
        Case("GET", f"/v1/reservations/{w.reservation}", (401, 404, 404, 404)),
        Case("GET", f"/v1/reservations/{w.reservation}/payment", (401, 404, 404, 404)),
        Case("GET", f"/v1/transfers/{w.transfer}/payment", (401, 404, 404, 404)),
        Case("GET", f"/v1/networks/{n}/payment-fees", (401, 403, 403, 403)),
        Case("GET", f"/v1/networks/{n}/payments", (401, 403, 403, 403)),
        Case("PUT", f"/v1/networks/{n}/payment-fees", (401, 403, 403, 403), {"basis_points": 100}),
        Case("POST", f"/v1/organisations/{a}/payment-account", (401, 403, 403, 403)),
        Case("POST", f"/v1/organisations/{p}/payment-account", (401, 404, 404, 404)),
        Case("GET", f"/v1/organisations/{a}/payment-account", (401, 403, 403, 403)),
        Case(
            "POST",
            f"/v1/organisations/{a}/payment-account/onboarding-link",
            (401, 403, 403, 403),
            {"return_url": "https://carte.example.org/ok", "refresh_url": "https://carte.example.org/again"},
        ),
        Case("GET", f"/v1/networks/{n}/impact", (401, 403, 403, 403)),
        Case("GET", f"/v1/networks/{n}/impact?format=csv", (401, 403, 403, 403)),
        Case("GET", f"/v1/networks/{n}/flows", (401, 403, 403, 403)),
        Case("POST", f"/v1/networks/{n}/flows", (401, 403, 403, 403), {"organisation_id": str(a), **FLOW}),
        Case("GET", f"/v1/organisations/{a}/flows", (401, 403, 403, 403)),
        Case("POST", f"/v1/organisations/{a}/flows", (401, 403, 403, 403), {"network_id": str(n), **FLOW}),
        Case("POST", f"/v1/networks/{n}/flows/import", (401, 403, 403, 403), b"siret,direction\n"),
        Case(
            "POST", f"/v1/organisations/{a}/flows/import?network_id={n}", (401, 403, 403, 403), b"direction\n"
        ),
        Case("GET", f"/v1/flows/{w.flow}", (401, 404, 404, 404)),
        Case("PATCH", f"/v1/flows/{w.flow}", (401, 404, 404, 404), {"quantity": 1}),
        Case("DELETE", f"/v1/flows/{w.flow}", (401, 404, 404, 404)),
        Case("GET", f"/v1/networks/{n}/synergies", (401, 403, 403, 403)),
        Case("POST", f"/v1/networks/{n}/synergies/detect", (401, 403, 403, 403)),
        Case("GET", f"/v1/networks/{n}/synergies/report", (401, 403, 403, 403)),
        Case("GET", f"/v1/networks/{n}/synergies/report?format=csv", (401, 403, 403, 403)),
        Case("GET", f"/v1/organisations/{a}/synergies", (401, 403, 403, 403)),
        Case("GET", f"/v1/synergies/{w.synergy}", (401, 404, 404, 404)),
        Case("POST", f"/v1/synergies/{w.synergy}/notes", (401, 404, 404, 404), {"body": "Hijacked"}),
        Case("POST", f"/v1/synergies/{w.synergy}/outcomes", (401, 404, 404, 404), {"euros_saved_cents": 1}),
        Case(
            "POST",
            f"/v1/synergies/{w.synergy}/exchanges",
            (401, 404, 404, 404),
            {"transfer_id": str(w.transfer)},
        ),
        Case("GET", f"/v1/listings/{w.listing_published}/matches", (401, 404, 404, 404)),
        Case(
            "POST",
            f"/v1/listings/{w.listing_published}/matches/{w.service_listing}/request",
            (401, 404, 404, 404),
            {"quantity": 1},
        ),
        # Public, but none of the wrong callers sees the network-only listing: see the test below.
        Case("GET", "/v1/search/listings", (200, 200, 200, 200)),
        Case("POST", "/v1/search/listings", (200, 200, 200, 200), {"q": "palettes"}),
        # Each sees only its own events (none here): see tests/api/events.
        Case("GET", "/v1/events", (401, 200, 200, 200)),
        *_webhook_cases(w),
        *_action_cases(w),
    ]


def _webhook_cases(w: World) -> list[Case]:
    """Nobody but an endpoint's managers learns it exists; only operators subscribe a network."""
    e = f"/v1/webhook-endpoints/{w.webhook_endpoint}"
    hidden = (401, 404, 404, 404)
    return [
        Case(
            "POST",
            "/v1/webhook-endpoints",
            (401, 403, 403, 403),
            {"url": "https://h.example/", "network_id": str(w.network)},
        ),
        Case("GET", "/v1/webhook-endpoints", (401, 200, 200, 200)),
        Case("GET", e, hidden),
        Case("PATCH", e, hidden, {"enabled": False}),
        Case("POST", f"{e}/rotate-secret", hidden, {}),
        Case("GET", f"{e}/attempts", hidden),
        Case("POST", f"{e}/deliveries/{uuid.uuid4()}/resend", hidden),
        Case("POST", f"{e}/resend", hidden, {"since": "2026-01-01T00:00:00Z"}),
        Case("DELETE", e, hidden),
    ]


FLOW = {
    "direction": "output",
    "category_id": "testwood.pallets",
    "quantity": 10,
    "unit": "pallet",
    "period": "year",
    "latitude": 45.7,
    "longitude": 4.85,
}
# A body each action's request Struct accepts, so that what is refused is the caller.
VALID_BODIES: dict[str, dict[str, Any]] = {
    "schedule": {"scheduled_for": "2030-03-02T08:00:00Z", "transport_mode": "road"},
    "receive": {"received_quantity": 1},
    "dispute": {"reason": "Hijacked"},
    "cancel": {"reason": "Hijacked"},
    "abandon": {"reason": "cost"},
}
ACTION_ROUTES = {
    "listings": ("listing", LISTING_ACTIONS),
    "memberships": ("membership", MEMBERSHIP_ACTIONS),
    "transfers": ("transfer", TRANSFER_ACTIONS),
    "reservations": ("reservation", RESERVATION_ACTIONS),
    "synergies": ("synergy", SYNERGY_ACTIONS),
}


def _action_cases(w: World) -> list[Case]:
    """Every lifecycle action's route: nobody but its parties even learns the thing exists."""
    ids = {
        "listing": w.listing_published,
        "membership": w.membership_pending,
        "transfer": w.transfer,
        "reservation": w.reservation,
        "synergy": w.synergy,
    }
    return [
        Case(
            "POST",
            f"/v1/{things}/{ids[thing]}/{action}",
            (401, 404, 404, 404),
            VALID_BODIES.get(action, {}) if spec.body is not None else None,
        )
        for things, (thing, actions) in ACTION_ROUTES.items()
        for action, spec in actions.items()
    ]


# Routes anyone may call; listed so that the coverage check below knows they were considered.
PUBLIC = {
    ("GET", "/health/live"),
    ("GET", "/health/ready"),
    ("GET", "/metrics"),  # Prometheus; keep it off the public proxy (README, Operations)
    # Stripe calls it without a token; it trusts only what Stripe-Signature verifies (tests/api/payments).
    ("POST", "/v1/payments/stripe/webhook"),
    ("GET", "/.well-known/openid-configuration"),
    ("GET", "/.well-known/jwks.json"),
    ("GET", "/v1/networks"),
    ("GET", "/v1/networks/{network_id}"),
    ("GET", "/v1/networks/{network_id}/zones"),
    ("GET", "/v1/networks/{network_id}/zones/{zone_id}"),
    ("GET", "/v1/organisations/{organisation_id}"),
    ("POST", "/v1/organisations"),
    ("GET", "/v1/listings"),  # filtered by visibility: see tests/api/listings
    ("GET", "/v1/organisations/{organisation_id}/listings"),
    ("GET", "/v1/categories"),
    ("GET", "/v1/categories/{category_id}"),
    ("GET", "/v1/units"),
    ("GET", "/v1/waste-codes"),
}
COVERED_TEMPLATES = {
    ("GET", "/v1/me"),
    ("GET", "/v1/events"),
    ("POST", "/v1/webhook-endpoints"),
    ("GET", "/v1/webhook-endpoints"),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}"),
    ("PATCH", "/v1/webhook-endpoints/{endpoint_id}"),
    ("DELETE", "/v1/webhook-endpoints/{endpoint_id}"),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/rotate-secret"),
    ("GET", "/v1/webhook-endpoints/{endpoint_id}/attempts"),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/deliveries/{delivery_id}/resend"),
    ("POST", "/v1/webhook-endpoints/{endpoint_id}/resend"),
    ("POST", "/v1/networks"),
    ("PATCH", "/v1/networks/{network_id}"),
    ("POST", "/v1/networks/{network_id}/zones"),
    ("POST", "/v1/networks/{network_id}/operators"),
    ("PATCH", "/v1/organisations/{organisation_id}"),
    ("GET", "/v1/organisations/{organisation_id}/staff"),
    ("POST", "/v1/organisations/{organisation_id}/invitations"),
    ("POST", "/v1/invitations/accept"),
    ("POST", "/v1/networks/{network_id}/memberships"),
    ("GET", "/v1/networks/{network_id}/memberships"),
    ("GET", "/v1/networks/{network_id}/members"),
    ("GET", "/v1/memberships/{membership_id}"),
    ("POST", "/v1/listings"),
    ("POST", "/v1/networks/{network_id}/imports"),
    ("GET", "/v1/networks/{network_id}/imports/{import_id}"),
    ("GET", "/v1/organisations/{organisation_id}/invitations/{invitation_id}"),
    ("GET", "/v1/listings/{listing_id}"),
    ("PATCH", "/v1/listings/{listing_id}"),
    ("POST", "/v1/listings/{listing_id}/transfers"),
    ("GET", "/v1/transfers"),
    ("GET", "/v1/transfers/{transfer_id}"),
    ("GET", "/v1/networks/{network_id}/impact"),
    ("GET", "/v1/search/listings"),
    ("POST", "/v1/search/listings"),
    ("POST", "/v1/listings/{listing_id}/reservations"),
    ("GET", "/v1/listings/{listing_id}/availability"),
    ("GET", "/v1/reservations"),
    ("GET", "/v1/reservations/{reservation_id}"),
    ("GET", "/v1/reservations/{reservation_id}/payment"),
    ("GET", "/v1/transfers/{transfer_id}/payment"),
    ("GET", "/v1/networks/{network_id}/payment-fees"),
    ("GET", "/v1/networks/{network_id}/payments"),
    ("PUT", "/v1/networks/{network_id}/payment-fees"),
    ("POST", "/v1/organisations/{organisation_id}/payment-account"),
    ("GET", "/v1/organisations/{organisation_id}/payment-account"),
    ("POST", "/v1/organisations/{organisation_id}/payment-account/onboarding-link"),
    ("GET", "/v1/networks/{network_id}/flows"),
    ("POST", "/v1/networks/{network_id}/flows"),
    ("GET", "/v1/organisations/{organisation_id}/flows"),
    ("POST", "/v1/organisations/{organisation_id}/flows"),
    ("GET", "/v1/flows/{flow_id}"),
    ("PATCH", "/v1/flows/{flow_id}"),
    ("DELETE", "/v1/flows/{flow_id}"),
    ("GET", "/v1/networks/{network_id}/synergies"),
    ("POST", "/v1/networks/{network_id}/synergies/detect"),
    ("GET", "/v1/networks/{network_id}/synergies/report"),
    ("GET", "/v1/organisations/{organisation_id}/synergies"),
    ("GET", "/v1/synergies/{synergy_id}"),
    ("POST", "/v1/synergies/{synergy_id}/notes"),
    ("POST", "/v1/synergies/{synergy_id}/exchanges"),
    ("GET", "/v1/listings/{listing_id}/matches"),
    ("POST", "/v1/listings/{listing_id}/matches/{other_id}/request"),
    ("POST", "/v1/networks/{network_id}/flows/import"),
    ("POST", "/v1/organisations/{organisation_id}/flows/import"),
    ("POST", "/v1/synergies/{synergy_id}/outcomes"),
    *(
        ("POST", f"/v1/{things}/{{{thing}_id}}/{action}")
        for things, (thing, actions) in ACTION_ROUTES.items()
        for action in actions
    ),
}


def test_every_route_is_in_the_matrix(app: Litestar) -> None:
    routes = set()
    for route in app.routes:
        if route.path.startswith(("/docs", "/schema")):
            continue
        template = route.path_format
        for method in route.methods - {"OPTIONS", "HEAD"}:
            routes.add((method, template))
    assert routes - PUBLIC - COVERED_TEMPLATES == set()


@pytest.mark.parametrize("caller", CALLERS)
async def test_wrong_callers_are_refused_and_nothing_changes(
    world: World, client: AsyncTestClient[RequestContext], db: asyncpg.Connection, caller: str
) -> None:
    index = CALLERS.index(caller)
    for case in cases(world):
        expected = case.expected[index]
        before = await factories.snapshot(db)
        headers = {**world.callers[caller], "if-match": '"1"'}
        if isinstance(case.body, bytes):  # a CSV upload
            headers["content-type"] = "text/csv"
            response = await client.request(case.method, case.path, content=case.body, headers=headers)
        else:
            response = await client.request(case.method, case.path, json=case.body, headers=headers)
        where = f"{caller} {case.method} {case.path}"
        assert response.status_code == expected, f"{where}: {response.status_code} {response.text}"
        if expected >= 400:
            assert response.headers["content-type"].startswith("application/problem+json"), where
            assert await factories.snapshot(db) == before, f"{where} changed the database"


async def test_an_organisation_header_naming_someone_elses_organisation_is_403(
    world: World, client: AsyncTestClient[RequestContext], issuer: LocalIssuer, db: asyncpg.Connection
) -> None:
    bob_headers = dict(world.callers["wrong_organisation"])
    for value in (str(world.org_active), str(uuid.uuid4())):
        response = await client.get("/v1/me", headers={**bob_headers, "x-organisation-id": value})
        assert response.status_code == 403, value
    malformed = await client.get("/v1/me", headers={**bob_headers, "x-organisation-id": "not-a-uuid"})
    assert malformed.status_code == 422
    assert [e["path"] for e in malformed.json()["errors"]] == ["header.x-organisation-id"]


async def test_an_organisation_header_without_a_token_is_401(
    world: World, client: AsyncTestClient[RequestContext]
) -> None:
    response = await client.get("/v1/networks", headers={"x-organisation-id": str(world.org_active)})
    assert response.status_code == 401


@pytest.mark.parametrize("caller", CALLERS)
async def test_search_shows_wrong_callers_no_network_only_listing(
    world: World, client: AsyncTestClient[RequestContext], caller: str
) -> None:
    headers = world.callers[caller]
    for response in (
        await client.get("/v1/search/listings", params={"q": "palettes"}, headers=headers),
        await client.post("/v1/search/listings", json={"q": "palettes"}, headers=headers),
    ):
        assert response.status_code == 200, response.text
        assert response.json()["hits"] == [], caller
    # The active member's own people do see it: the listing is there to be found.
    alice = await client.get(
        "/v1/search/listings", params={"q": "palettes"}, headers=world.alice.headers(world.org_active)
    )
    assert [h["id"] for h in alice.json()["hits"]] == [str(world.listing_published)]
