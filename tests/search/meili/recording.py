"""A stand-in for the network call of the indexer: it records what it is given.

It stands for "Meilisearch applied this batch" (or failed to); it does not search anything."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from search.meili.documents import Document


class RecordingSender:
    """Records what it is given; fails the first `failures` calls, or blocks until `gate` opens."""

    def __init__(self, failures: int = 0, gate: asyncio.Event | None = None) -> None:
        self.failures = failures
        self.gate = gate
        self.entered = asyncio.Event()
        self.stored: dict[str, Document] = {}
        self.deleted: list[str] = []
        self.calls = 0

    async def upsert(self, documents: Sequence[Document]) -> None:
        self.calls += 1
        self.entered.set()
        if self.gate is not None:
            await self.gate.wait()
        if self.failures > 0:
            self.failures -= 1
            raise ConnectionError("Meilisearch is down")
        self.stored.update({d["id"]: d for d in documents})

    async def delete(self, ids: Sequence[str]) -> None:
        self.deleted.extend(ids)
        for i in ids:
            self.stored.pop(i, None)
