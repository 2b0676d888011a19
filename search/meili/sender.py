"""Where the indexer's documents go: a protocol, and its Meilisearch implementation."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from meilisearch_python_sdk import AsyncClient

from search.meili.documents import Document
from search.meili.settings import PRIMARY_KEY
from search.meili.tasks import wait


class Sender(Protocol):
    """Stores whole documents and deletes ids; returns only once the change is applied, and
    raises if it was not (the indexer then keeps its checkpoint and tries again)."""

    async def upsert(self, documents: Sequence[Document]) -> None: ...

    async def delete(self, ids: Sequence[str]) -> None: ...


class MeiliSender:
    def __init__(self, client: AsyncClient, index_uid: str) -> None:
        self.client = client
        self.index_uid = index_uid

    async def upsert(self, documents: Sequence[Document]) -> None:
        if documents:
            # add_documents replaces each document whole (never update_documents, which merges).
            task = await self.client.index(self.index_uid).add_documents(list(documents), PRIMARY_KEY)
            await wait(self.client, task)

    async def delete(self, ids: Sequence[str]) -> None:
        if ids:
            task = await self.client.index(self.index_uid).delete_documents(list(ids))
            await wait(self.client, task)
