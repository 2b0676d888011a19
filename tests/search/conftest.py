"""The contract suite's fixtures: the data set loaded, and each backend to hold to it.

PostgreSQL always runs, twice: every search computed in SQL, and answered from the in-memory
index. Meilisearch runs when `MEILISEARCH_URL` points at a real server (the compose
file starts one); there is no stand-in for it in the suite.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass

import asyncpg
import pytest

from api.db.pool import Pool, create_pool
from api.settings import Settings
from search.backend import SearchBackend
from search.factory import create_backend
from search.postgres import PostgresBackend
from tests.search import dataset
from tests.search.dataset import World


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=4)
    yield pool
    await pool.close()


@dataclass
class Searchable:
    backend: SearchBackend
    world: World


@pytest.fixture(params=["postgres", "postgres-index", "meilisearch"])
async def search_backend(
    request: pytest.FixtureRequest, db: asyncpg.Connection, pool: Pool, database_url: str
) -> AsyncIterator[Searchable]:
    """The data set, loaded and made searchable by one backend."""
    if request.param == "meilisearch":
        url = os.environ.get("MEILISEARCH_URL")
        if not url:
            pytest.skip(
                "MEILISEARCH_URL is not set: the Meilisearch contract runs only against a real server"
            )
        settings = Settings(
            database_url=database_url,
            search_backend="meilisearch",
            meilisearch_url=url,
            meilisearch_api_key=os.environ.get("MEILISEARCH_API_KEY"),
            meilisearch_index=f"contract_{os.getpid()}",
        )
    else:
        # "postgres" computes every search in SQL; "postgres-index" answers from the in-memory index.
        index = request.param == "postgres-index"
        settings = Settings(database_url=database_url, search_backend="postgres", search_index=index)
    world = await dataset.load(db)
    backend = await create_backend(settings, pool)
    try:
        await backend.refresh()
        yield Searchable(backend, world)
        if request.param == "postgres-index":
            assert isinstance(backend, PostgresBackend)
            # Every search of the test was answered from the index, none fell back to SQL.
            assert (backend.computed_by_index > 0, backend.computed_in_sql) == (True, 0)
    finally:
        await backend.close()
