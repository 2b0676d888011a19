"""A small park: a giver with an offer, a taker, an operator, and a member with no part in it."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.auth.tokens import LocalIssuer
from api.observability import RequestContext
from tests import factories
from tests.api.payments.conftest import (  # noqa: F401  (the paid transfers' fixtures, by their names)
    paying,
    paying_settings,
    standin,
)
from tests.factories import Person


@dataclass
class Park:
    network: uuid.UUID
    zone: uuid.UUID
    giver: uuid.UUID
    taker: uuid.UUID
    other: uuid.UUID
    offer: uuid.UUID
    alice: Person
    """Admin of the giver."""
    tom: Person
    """Staff of the taker."""
    eve: Person
    """Admin of another member, with no part in the transfers."""
    olga: Person
    """Operator of the network."""

    def as_giver(self) -> dict[str, str]:
        return self.alice.headers(self.giver)

    def as_taker(self) -> dict[str, str]:
        return self.tom.headers(self.taker)

    def as_operator(self) -> dict[str, str]:
        return self.olga.headers()


@pytest.fixture
async def park(db: asyncpg.Connection, issuer: LocalIssuer) -> Park:
    alice = await factories.person(db, issuer, "alice@giver.fr")
    tom = await factories.person(db, issuer, "tom@taker.fr")
    eve = await factories.person(db, issuer, "eve@other.fr")
    olga = await factories.person(db, issuer, "olga@operator.fr")
    network = await factories.network(db, "parc-sud", operators=(olga,))
    zone = await factories.zone(db, network, "Parc Sud")
    giver = await factories.organisation(db, "Giver", admins=(alice,))
    taker = await factories.organisation(db, "Taker", staff=(tom,))
    other = await factories.organisation(db, "Other", admins=(eve,))
    # The taker's site is 0.1 degree of latitude north of the offer (45.7, 4.85): about 11.1 km.
    await db.execute("UPDATE organisations SET latitude = 45.8, longitude = 4.85 WHERE id = $1", taker)
    for organisation in (giver, taker, other):
        await factories.membership(db, network, organisation, "active")
    await db.execute("UPDATE memberships SET zone_id = $1 WHERE organisation_id = $2", zone, giver)
    offer = await factories.listing(db, network, giver)
    return Park(network, zone, giver, taker, other, offer, alice, tom, eve, olga)


async def ask(
    client: AsyncTestClient[RequestContext], park: Park, quantity: Any = "10", **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/listings/{park.offer}/transfers", json={"quantity": quantity, **extra}, headers=park.as_taker()
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def act(
    client: AsyncTestClient[RequestContext],
    transfer_id: str,
    action: str,
    headers: dict[str, str],
    expected: int = 200,
    **body: Any,
) -> dict[str, Any]:
    response = await client.post(f"/v1/transfers/{transfer_id}/{action}", json=body, headers=headers)
    assert response.status_code == expected, f"{action}: {response.text}"
    result: dict[str, Any] = response.json()
    return result


async def available(db: asyncpg.Connection, listing_id: uuid.UUID) -> Decimal:
    value: Decimal = await db.fetchval("SELECT available_quantity FROM listings WHERE id = $1", listing_id)
    return value


PLAN_HAZARD = {"scheduled_for": "2026-03-02T08:00:00Z", "transport_mode": "road"}
