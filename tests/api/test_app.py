from __future__ import annotations

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.db.migrations import SchemaError
from api.settings import Settings


async def test_the_app_refuses_to_start_on_an_unmigrated_database(empty_database_url: str) -> None:
    asgi = create_asgi(Settings(database_url=empty_database_url, database_pool_min_size=1))
    with pytest.RaisesGroup(pytest.RaisesExc(SchemaError, match="not migrated"), flatten_subgroups=True):
        async with AsyncTestClient(app=asgi):
            pass


async def test_the_app_starts_on_a_freshly_migrated_database(database_url: str) -> None:
    asgi = create_asgi(Settings(database_url=database_url, database_pool_min_size=1))
    async with AsyncTestClient(app=asgi) as client:
        assert (await client.get("/health/ready")).status_code == 200
