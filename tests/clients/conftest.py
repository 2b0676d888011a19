"""Fixtures for the generated clients: the generated Python package, a live server, and a small park.

The park's people and memberships are arranged in the database (the scenario is about what a
frontend does, not about onboarding); everything else goes through the generated clients.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import asyncpg
import pytest

from api.app import create_asgi
from api.auth.tokens import LocalIssuer
from api.settings import Settings
from tests import factories
from tests.clients.generated import PACKAGE, GeneratedClient, generate
from tests.clients.server import serve
from tests.factories import Person


@pytest.fixture(scope="session")
def python_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[GeneratedClient]:
    """The client openapi-python-client generates from the committed document, importable."""
    generated = generate(tmp_path_factory.mktemp("python-client"))
    sys.path.insert(0, str(generated.directory))
    yield generated
    sys.path.remove(str(generated.directory))
    for name in [m for m in sys.modules if m == PACKAGE or m.startswith(f"{PACKAGE}.")]:
        del sys.modules[name]


@pytest.fixture
def live_url(settings: Settings) -> Iterator[str]:
    """The application on a real port of 127.0.0.1, on the test's own migrated database."""
    with serve(create_asgi(settings)) as url:
        yield url


@dataclass(frozen=True)
class Park:
    """A network with a giver, a taker and an operator, each with a token of the app's issuer."""

    network: uuid.UUID
    giver: uuid.UUID
    taker: uuid.UUID
    giver_siret: str
    alice: Person
    """Admin of the giver, which offers pallets and storage space."""
    tom: Person
    """Staff of the taker, which takes the pallets and books the storage."""
    olga: Person
    """Operator of the network."""


@pytest.fixture
async def park(db: asyncpg.Connection, issuer: LocalIssuer) -> Park:
    alice = await factories.person(db, issuer, "alice@giver.fr")
    tom = await factories.person(db, issuer, "tom@taker.fr")
    olga = await factories.person(db, issuer, "olga@operator.fr")
    network = await factories.network(db, "parc-nord", operators=(olga,))
    giver = await factories.organisation(db, "Menuiserie Giver", admins=(alice,))
    taker = await factories.organisation(db, "Atelier Taker", staff=(tom,))
    for organisation in (giver, taker):
        await factories.membership(db, network, organisation, "active")
    # Listings sit on the giver's site; the taker's is 0.1 degree of latitude north: about 11 km.
    await db.execute("UPDATE organisations SET latitude = 45.7, longitude = 4.85 WHERE id = $1", giver)
    await db.execute("UPDATE organisations SET latitude = 45.8, longitude = 4.85 WHERE id = $1", taker)
    await factories.catalogue(db)
    giver_siret: str = await db.fetchval("SELECT siret FROM organisations WHERE id = $1", giver)
    return Park(network, giver, taker, giver_siret, alice, tom, olga)
