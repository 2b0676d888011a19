"""Schemathesis against the application: every operation of the committed OpenAPI document, as three callers.

One test per operation and caller (anonymous, the network's operator, an organisation's admin acting for
it). The app runs in-process through schemathesis's ASGI transport, on a migrated database seeded once
for the module and shared by the three callers; its lifespan opens the pool, and schemathesis's pytest
plugin ends it after each test. Each operation gets the document's examples, its coverage cases
(boundaries, wrong types, missing fields) and `SYMBIOSE_FUZZ_EXAMPLES` generated cases, valid and
invalid. Half of the generated ids in paths are swapped for a seeded row's, so calls reach real
networks, listings and transfers, not only 404s.

Generation is derandomized with a fixed seed and no example database, so the same code run the same way
sends the same requests (Hypothesis also mixes in literals of the loaded modules, so this file alone
draws a little differently from the whole suite). Raise `SYMBIOSE_FUZZ_EXAMPLES` to look further,
change `SYMBIOSE_FUZZ_SEED` to look elsewhere.
"""

from __future__ import annotations

import os
import uuid
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg
import pytest
import schemathesis
from schemathesis import Case
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from api.app import create_asgi
from api.auth.tokens import LocalIssuer
from api.db.embedded import with_database
from api.observability import RequestContext
from api.settings import load_settings
from tests import factories
from tests.conftest import ROOT, _admin_execute, create_database

EXAMPLES = int(os.environ.get("SYMBIOSE_FUZZ_EXAMPLES", "25"))
SEED = int(os.environ.get("SYMBIOSE_FUZZ_SEED", "20261201"))

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
CALLERS = ("anonymous", "operator", "organisation_admin")

# Requests sent per caller, written to the terminal at the end of the module.
SENT: Counter[str] = Counter()

# Loaded at import and given the app per call: `schemathesis.pytest.from_fixture` (4.32.5) reads the node's
# `_nodeid`, which pytest 9.2 no longer has.
schema = schemathesis.openapi.from_path(
    ROOT / "openapi" / "openapi.json",
    config=SchemathesisConfig.from_dict(
        {
            "seed": SEED,
            "generation": {
                "mode": "all",
                "max-examples": EXAMPLES,
                "deterministic": True,
                "database": "none",
            },
        }
    ),
)


@dataclass(frozen=True)
class World:
    """A network, its operator, two active member organisations with listings, a transfer, a reservation."""

    app: RequestContext
    operator: factories.Person
    admin: factories.Person
    organisation_id: uuid.UUID
    ids: dict[str, list[str]]


@pytest.fixture(scope="module")
async def fuzz_database_url(admin_dsn: str, template_database: str) -> AsyncIterator[str]:
    name = await create_database(admin_dsn, template_database)
    yield with_database(admin_dsn, name)
    await _admin_execute(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture(scope="module")
async def world(fuzz_database_url: str, tmp_path_factory: pytest.TempPathFactory) -> World:
    data_dir: Path = tmp_path_factory.mktemp("fuzz")
    # Read as the environment would give them: a variable this version does not know is ignored, so the
    # per-user limit that the rate-limiting work adds is raised here too once it exists.
    settings = load_settings(
        {
            "DATABASE_URL": fuzz_database_url,
            "DATABASE_POOL_MIN_SIZE": "1",
            "DATABASE_POOL_MAX_SIZE": "4",
            "SYMBIOSE_DATA_DIR": str(data_dir),
            "SWEEP_INTERVAL_SECONDS": "0",
            # An access log line per generated request is noise around the failures that matter.
            "LOG_LEVEL": "WARNING",
            # Thousands of calls a minute would otherwise be 429 after the first hundred.
            "RATE_LIMIT_ANONYMOUS_PER_MINUTE": "1000000",
            "RATE_LIMIT_AUTHENTICATED_PER_MINUTE": "1000000",
        },
        env_file=None,
    )
    issuer = LocalIssuer.from_settings(settings)
    db = await asyncpg.connect(fuzz_database_url)
    try:
        operator = await factories.person(db, issuer, "operator@fuzz.example")
        admin = await factories.person(db, issuer, "admin@fuzz.example")
        other_admin = await factories.person(db, issuer, "other@fuzz.example")
        network_id = await factories.network(db, "fuzz-network", operators=(operator,))
        zone_id = await factories.zone(db, network_id, "Parc des Fuzz")
        own = await factories.organisation(db, "Fuzz Recyclage", admins=(admin,))
        other = await factories.organisation(db, "Autre Atelier", admins=(other_admin,))
        candidate = await factories.organisation(db, "Candidat")
        own_membership = await factories.membership(db, network_id, own)
        await factories.membership(db, network_id, other)
        pending = await factories.membership(db, network_id, candidate, status="pending")
        own_listing = await factories.listing(db, network_id, own)
        offer = await factories.listing(db, network_id, other, title="Big-bags")
        storage = await factories.service_listing(db, network_id, other)
        transfer = await factories.transfer(db, offer, taker=own)
        reservation = await factories.reservation(db, storage, requester=own)
    finally:
        await db.close()
    ids = {
        "network_id": [network_id],
        "zone_id": [zone_id],
        "organisation_id": [own, other],
        "membership_id": [own_membership, pending],
        "listing_id": [own_listing, offer, storage],
        "transfer_id": [transfer],
        "reservation_id": [reservation],
    }
    return World(
        app=create_asgi(settings),
        operator=operator,
        admin=admin,
        organisation_id=own,
        ids={name: [str(value) for value in values] for name, values in ids.items()}
        | {"category_id": ["testwood.pallets", "teststorage"]},
    )


@pytest.fixture(scope="module", params=CALLERS)
def caller(request: pytest.FixtureRequest) -> str:
    name: str = request.param
    return name


@pytest.fixture(scope="module")
def caller_headers(caller: str, world: World) -> dict[str, str]:
    return headers_for(caller, world)


def headers_for(caller: str, world: World) -> dict[str, str]:
    """The headers that say who calls."""
    if caller == "operator":
        return world.operator.headers()
    if caller == "organisation_admin":
        return world.admin.headers(world.organisation_id)
    return {}


@pytest.fixture(scope="module", autouse=True)
def _report_requests_sent(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    if capture is not None and SENT:
        with capture.global_and_fixture_disabled():
            print(f"\nschemathesis requests sent: {dict(SENT)}")


def aim_at_seeded_rows(case: Case, ids: dict[str, list[str]]) -> None:
    """Swap a generated id for a seeded one when the generated one is well formed; which one, and whether,
    follows from the generated value, so a seed still gives the same requests."""
    for name, value in (case.path_parameters or {}).items():
        seeded = ids.get(name)
        if not seeded or not isinstance(value, str):
            continue
        digest = sum(value.encode())
        if digest % 2 == 0 and (name == "category_id" or _is_uuid(value)):
            case.path_parameters[name] = seeded[digest // 2 % len(seeded)]


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


@schema.parametrize()
def test_no_input_breaks_the_contract(
    case: Case, world: World, caller: str, caller_headers: dict[str, str]
) -> None:
    aim_at_seeded_rows(case, world.ids)
    SENT[caller] += 1
    case.call_and_validate(app=world.app, headers=caller_headers, checks=CHECKS)


# Failures the run above found, replayed as they were found, so each stays fixed whatever the seed.
FOUND = [
    pytest.param(
        "anonymous",
        "GET",
        "/v1/organisations/{organisation_id}/listings",
        {"path_parameters": {"organisation_id": "null,null"}, "query": {"status": "draft", "limit": 50}},
        id="an organisation id that is not a UUID is a documented 404",
    ),
    pytest.param(
        "operator",
        "GET",
        "/v1/networks/{network_id}/impact",
        {"query": {"format": "csv", "group_by": "organisation"}, "headers": {"Accept": "*/*"}},
        id="the impact report as CSV is a documented content type",
    ),
]


@pytest.mark.parametrize(("who", "method", "path", "data"), FOUND)
def test_a_failure_once_found_stays_fixed(
    world: World, who: str, method: str, path: str, data: dict[str, Any]
) -> None:
    parameters = {"path_parameters": {"network_id": world.ids["network_id"][0]}} | data
    case = schema[path][method].Case(**parameters)
    case.call_and_validate(app=world.app, headers=headers_for(who, world), checks=CHECKS)


def test_the_impact_report_as_csv_names_its_charset_once(world: World) -> None:
    operation = schema["/v1/networks/{network_id}/impact"]["GET"]
    case = operation.Case(path_parameters={"network_id": world.ids["network_id"][0]}, query={"format": "csv"})
    response = case.call(app=world.app, headers=world.operator.headers())
    assert response.status_code == 200
    assert response.headers["content-type"] == ["text/csv; charset=utf-8"]
