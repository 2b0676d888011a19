"""Shared fixtures: one PostgreSQL per test session, a migrated template, a fresh database per test.

With `DATABASE_URL` set, tests create their databases on that server (the role needs CREATEDB);
otherwise an embedded PostgreSQL starts under `var/test-pg`.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.auth.tokens import LocalIssuer
from api.db.embedded import start_embedded_server, with_database
from api.db.migrations import migrate
from api.observability import RequestContext
from api.settings import Settings

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def admin_dsn() -> Iterator[str]:
    url = os.environ.get("DATABASE_URL")
    if url:
        yield url
    else:
        server = start_embedded_server(ROOT / "var" / "test")
        yield server.admin_dsn
        server.stop()


async def _admin_execute(admin_dsn: str, sql: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(sql)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def template_database(admin_dsn: str) -> AsyncIterator[str]:
    name = f"symbiose_tpl_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    await _admin_execute(admin_dsn, f'CREATE DATABASE "{name}"')
    conn = await asyncpg.connect(with_database(admin_dsn, name))
    try:
        await migrate(conn)
    finally:
        await conn.close()
    yield name
    await _admin_execute(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def create_database(admin_dsn: str, template: str = "template0") -> str:
    name = f"symbiose_t_{uuid.uuid4().hex[:12]}"
    await _admin_execute(admin_dsn, f'CREATE DATABASE "{name}" TEMPLATE "{template}" STRATEGY FILE_COPY')
    return name


@pytest.fixture
async def empty_database_url(admin_dsn: str) -> AsyncIterator[str]:
    """A database with nothing in it, not even the migrations table."""
    name = await create_database(admin_dsn)
    yield with_database(admin_dsn, name)
    await _admin_execute(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def database_url(admin_dsn: str, template_database: str) -> AsyncIterator[str]:
    """A fully migrated database of this test's own."""
    name = await create_database(admin_dsn, template_database)
    yield with_database(admin_dsn, name)
    await _admin_execute(admin_dsn, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db(database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """A direct connection to the test's database, to arrange data and inspect what changed."""
    conn = await asyncpg.connect(database_url)
    yield conn
    await conn.close()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        database_pool_min_size=1,
        database_pool_max_size=8,
        symbiose_data_dir=str(tmp_path),
        # Tests run the sweeps themselves: one started with the app would race them.
        sweep_interval_seconds=0,
    )


@pytest.fixture
def issuer(settings: Settings) -> LocalIssuer:
    """The app's own issuer (same key directory and URL), to mint tokens in tests."""
    return LocalIssuer.from_settings(settings)


@pytest.fixture
def asgi(settings: Settings) -> RequestContext:
    return create_asgi(settings)


@pytest.fixture
def app(asgi: RequestContext) -> Litestar:
    litestar_app = asgi.app
    assert isinstance(litestar_app, Litestar)
    return litestar_app


@pytest.fixture
async def client(asgi: RequestContext) -> AsyncIterator[AsyncTestClient[RequestContext]]:
    async with AsyncTestClient(app=asgi) as test_client:
        yield test_client
