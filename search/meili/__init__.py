"""The Meilisearch search backend, its index settings, documents and outbox indexer."""

from __future__ import annotations

from meilisearch_python_sdk import AsyncClient

from api.db.pool import Pool
from api.settings import Settings
from search.meili.backend import MeilisearchBackend
from search.meili.settings import ensure_index

CLIENT_TIMEOUT_S = 10


def create_client(settings: Settings) -> AsyncClient:
    if settings.meilisearch_url is None:
        raise ValueError("MEILISEARCH_URL is not set")
    return AsyncClient(settings.meilisearch_url, settings.meilisearch_api_key, timeout=CLIENT_TIMEOUT_S)


async def create_meilisearch_backend(settings: Settings, pool: Pool) -> MeilisearchBackend:
    """The backend for `settings`, with the index created and its settings in force.

    Raises if Meilisearch cannot be reached or refuses the settings: the API should not start
    answering searches against an index configured differently from what the code expects."""
    client = create_client(settings)
    try:
        await ensure_index(client, settings.meilisearch_index)
    except BaseException:
        await client.aclose()
        raise
    return MeilisearchBackend(client, pool, settings.meilisearch_index)


__all__ = ["MeilisearchBackend", "create_client", "create_meilisearch_backend"]
