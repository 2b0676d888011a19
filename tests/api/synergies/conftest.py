"""A park for flows and synergies: a carpenter with pallets, a packer who needs them 20 km away, a
member far away, a second network's member, and the operator."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.auth.tokens import LocalIssuer
from api.observability import RequestContext
from tests import factories
from tests.factories import Person


@dataclass
class Park:
    network: uuid.UUID
    zone: uuid.UUID
    carpenter: uuid.UUID
    packer: uuid.UUID
    other: uuid.UUID
    alice: Person
    """Admin of the carpenter."""
    tom: Person
    """Staff of the packer."""
    eve: Person
    """Admin of another member."""
    olga: Person
    """Operator of the network."""

    def as_operator(self) -> dict[str, str]:
        return self.olga.headers()


@pytest.fixture
async def park(db: asyncpg.Connection, issuer: LocalIssuer) -> Park:
    await factories.catalogue(db)
    alice = await factories.person(db, issuer, "alice@carpenter.fr")
    tom = await factories.person(db, issuer, "tom@packer.fr")
    eve = await factories.person(db, issuer, "eve@other.fr")
    olga = await factories.person(db, issuer, "olga@operator.fr")
    network = await factories.network(db, "parc-est", operators=(olga,))
    zone = await factories.zone(db, network, "Parc Est")
    carpenter = await factories.organisation(db, "Carpenter", admins=(alice,))
    packer = await factories.organisation(db, "Packer", staff=(tom,))
    other = await factories.organisation(db, "Other", admins=(eve,))
    for organisation in (carpenter, packer, other):
        await factories.membership(db, network, organisation, "active")
    return Park(network, zone, carpenter, packer, other, alice, tom, eve, olga)


def flow_body(**extra: Any) -> dict[str, Any]:
    return {
        "direction": "output",
        "category_id": "testwood.pallets",
        "quantity": "1200",
        "unit": "pallet",
        "period": "year",
        "latitude": 45.7,
        "longitude": 4.85,
        **extra,
    }


async def add_flow(
    client: AsyncTestClient[RequestContext], park: Park, organisation: uuid.UUID, **extra: Any
) -> dict[str, Any]:
    response = await client.post(
        f"/v1/networks/{park.network}/flows",
        json={"organisation_id": str(organisation), **flow_body(**extra)},
        headers=park.as_operator(),
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body
