"""A small park: a provider sharing 3 m² of storage, a requester, an operator, and a stranger."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.auth.tokens import LocalIssuer
from api.observability import RequestContext
from api.reservations.routes import ACTIONS
from tests import factories
from tests.factories import Person, hours_from_now


@dataclass
class Park:
    network: uuid.UUID
    provider: uuid.UUID
    requester: uuid.UUID
    other: uuid.UUID
    storage: uuid.UUID
    """A published, free service offer of the provider: 3 m² of storage."""
    alice: Person
    """Admin of the provider."""
    tom: Person
    """Staff of the requester."""
    eve: Person
    """Admin of another member, with no part in the reservations."""
    olga: Person
    """Operator of the network."""

    def as_provider(self) -> dict[str, str]:
        return self.alice.headers(self.provider)

    def as_requester(self) -> dict[str, str]:
        return self.tom.headers(self.requester)

    def as_operator(self) -> dict[str, str]:
        return self.olga.headers()

    def as_other(self) -> dict[str, str]:
        return self.eve.headers(self.other)


@pytest.fixture
async def park(db: asyncpg.Connection, issuer: LocalIssuer) -> Park:
    alice = await factories.person(db, issuer, "alice@provider.fr")
    tom = await factories.person(db, issuer, "tom@requester.fr")
    eve = await factories.person(db, issuer, "eve@other.fr")
    olga = await factories.person(db, issuer, "olga@operator.fr")
    network = await factories.network(db, "parc-est", operators=(olga,))
    provider = await factories.organisation(db, "Provider", admins=(alice,))
    requester = await factories.organisation(db, "Requester", staff=(tom,))
    other = await factories.organisation(db, "Other", admins=(eve,))
    for organisation in (provider, requester, other):
        await factories.membership(db, network, organisation, "active")
    storage = await factories.service_listing(db, network, provider, capacity=3)
    return Park(network, provider, requester, other, storage, alice, tom, eve, olga)


def period(start_hours: float = 24, length_hours: float = 4) -> dict[str, str]:
    start = hours_from_now(start_hours)
    return {"start": iso(start), "end": iso(start + timedelta(hours=length_hours))}


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


async def book(
    client: AsyncTestClient[RequestContext],
    park: Park,
    quantity: Any = 1,
    headers: dict[str, str] | None = None,
    expected: int = 201,
    **body: Any,
) -> dict[str, Any]:
    payload = {**period(), "quantity": quantity, **body}
    response = await client.post(
        f"/v1/listings/{park.storage}/reservations", json=payload, headers=headers or park.as_requester()
    )
    assert response.status_code == expected, response.text
    result: dict[str, Any] = response.json()
    return result


async def act(
    client: AsyncTestClient[RequestContext],
    reservation_id: Any,
    action: str,
    headers: dict[str, str],
    expected: int = 200,
    **body: Any,
) -> dict[str, Any]:
    # Actions without a request Struct take no body at all (fields sent to them are refused).
    sent = body if body or ACTIONS[action].body is not None else None
    response = await client.post(f"/v1/reservations/{reservation_id}/{action}", json=sent, headers=headers)
    assert response.status_code == expected, f"{action}: {response.text}"
    result: dict[str, Any] = response.json()
    return result


async def held(db: asyncpg.Connection, listing_id: uuid.UUID) -> Decimal:
    value: Decimal = await db.fetchval(
        "SELECT coalesce(sum(quantity), 0) FROM reservations WHERE listing_id = $1 AND holds", listing_id
    )
    return value


async def status_of(db: asyncpg.Connection, reservation_id: Any) -> str:
    value: str = await db.fetchval("SELECT status FROM reservations WHERE id = $1::uuid", str(reservation_id))
    return value
