"""A park for matches: a packer needing pallets, carpenters offering them near and far, a storage
provider and a member needing storage, a second network with a public and a network-only offer."""

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
    other_network: uuid.UUID
    packer: uuid.UUID
    carpenter: uuid.UUID
    sawmill: uuid.UUID
    stranger: uuid.UUID
    """An active member of the other network only."""
    tom: Person
    """Admin of the packer."""
    alice: Person
    """Admin of the carpenter."""
    sam: Person
    """Admin of the sawmill."""
    olga: Person
    """Operator of the network."""


@pytest.fixture
async def park(db: asyncpg.Connection, issuer: LocalIssuer) -> Park:
    await factories.catalogue(db)
    tom = await factories.person(db, issuer, "tom@packer.fr")
    alice = await factories.person(db, issuer, "alice@carpenter.fr")
    sam = await factories.person(db, issuer, "sam@sawmill.fr")
    olga = await factories.person(db, issuer, "olga@operator.fr")
    stranger_admin = await factories.person(db, issuer, "sue@stranger.fr")
    network = await factories.network(db, "parc-sud", operators=(olga,))
    other_network = await factories.network(db, "parc-loin")
    packer = await factories.organisation(db, "Packer", admins=(tom,))
    carpenter = await factories.organisation(db, "Carpenter", admins=(alice,))
    sawmill = await factories.organisation(db, "Sawmill", admins=(sam,))
    stranger = await factories.organisation(db, "Stranger", admins=(stranger_admin,))
    for organisation in (packer, carpenter, sawmill):
        await factories.membership(db, network, organisation, "active")
    await factories.membership(db, other_network, stranger, "active")
    return Park(network, other_network, packer, carpenter, sawmill, stranger, tom, alice, sam, olga)


async def put(
    db: asyncpg.Connection,
    network: uuid.UUID,
    organisation: uuid.UUID,
    *,
    direction: str = "offer",
    latitude: float = 45.7,
    quantity: int = 40,
    unit: str = "pallet",
    waste_code: str | None = None,
    visibility: str = "network",
    category_id: str = "testwood.pallets",
    status: str = "published",
) -> uuid.UUID:
    """A published pallet listing (or a storage one), placed `latitude` on the 4.85 meridian."""
    listing_id = await factories.listing(
        db,
        network,
        organisation,
        direction=direction,
        visibility=visibility,
        category_id=category_id,
        status=status,
    )
    if category_id != "teststorage":
        await db.execute(
            """UPDATE listings SET quantity = $2::numeric, available_quantity = CASE WHEN direction = 'offer'
                   THEN $2::numeric END, unit = $3, waste_code = $4 WHERE id = $1""",
            listing_id,
            quantity,
            unit,
            waste_code,
        )
    await db.execute("UPDATE listings SET latitude = $2 WHERE id = $1", listing_id, latitude)
    return listing_id


async def matches(
    client: AsyncTestClient[RequestContext],
    listing: uuid.UUID,
    headers: dict[str, str],
    expected: int = 200,
    **params: Any,
) -> dict[str, Any]:
    response = await client.get(f"/v1/listings/{listing}/matches", params=params, headers=headers)
    assert response.status_code == expected, response.text
    body: dict[str, Any] = response.json()
    return body
