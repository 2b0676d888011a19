"""The interface every search backend implements; the API depends on this and nothing else."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from schemas.search import SearchResult
from search.query import SearchQuery, Viewer


@dataclass(frozen=True, slots=True)
class BackendHealth:
    ok: bool
    detail: str
    lag: int = 0
    """Changes committed in PostgreSQL that the backend does not show yet (outbox rows not indexed)."""


class SearchBackend(Protocol):
    name: str

    async def search(self, query: SearchQuery, viewer: Viewer) -> SearchResult:
        """The hits of one page, the facet counts and the total, with visibility applied inside."""
        ...

    async def health(self) -> BackendHealth:
        """Whether the backend can answer now, and how far behind PostgreSQL it is."""
        ...

    async def refresh(self) -> None:
        """Make every change committed in PostgreSQL searchable before returning.

        A no-op for PostgreSQL (search reads the tables); a full rebuild for an external index.
        """
        ...

    async def close(self) -> None: ...
