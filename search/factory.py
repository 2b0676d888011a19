"""The search backend the settings choose."""

from __future__ import annotations

from api.db.pool import Pool
from api.settings import Settings
from search.backend import SearchBackend
from search.postgres import PostgresBackend


async def create_backend(settings: Settings, pool: Pool) -> SearchBackend:
    """PostgreSQL by default; Meilisearch when configured (see `Settings.search`).

    Async because an external backend may have to check or prepare its index before serving."""
    if settings.search == "meilisearch":
        from search.meili import create_meilisearch_backend

        return await create_meilisearch_backend(settings, pool)
    backend = PostgresBackend(pool, settings.search_cache_entries, index=settings.search_index)
    backend.start()
    return backend
