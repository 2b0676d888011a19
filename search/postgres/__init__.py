"""The PostgreSQL search backend (the default): full text, typos, facets and radius in SQL."""

from __future__ import annotations

from search.postgres.backend import PostgresBackend

__all__ = ["PostgresBackend"]
