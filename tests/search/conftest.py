"""The contract suite's fixtures: the data set loaded, and each backend to hold to it.

PostgreSQL always runs. Meilisearch runs when `MEILISEARCH_URL` points at a real server (the compose
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


@pytest.fixture(params=["postgres", "meilisearch"])
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
        settings = Settings(database_url=database_url, search_backend="postgres")
    world = await dataset.load(db)
    backend = await create_backend(settings, pool)
    try:
        await backend.refresh()
        yield Searchable(backend, world)
    finally:
        await backend.close()
