"""Against a real Meilisearch: settings, a round trip, reindex and the indexer.

Run with `MEILISEARCH_URL=http://127.0.0.1:7700 MEILISEARCH_API_KEY=... uv run pytest tests/search`
(see the README: `docker compose -f docker/compose.yaml up -d meilisearch postgres`). Every test
uses an index of its own and deletes it afterwards.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from decimal import Decimal

import asyncpg
import pytest
from meilisearch_python_sdk import AsyncClient

from api.db import outbox
from api.db.pool import Pool, create_pool
from api.settings import Settings
from search.meili import MeilisearchBackend, create_meilisearch_backend, repository
from search.meili.indexer import Indexer
from search.meili.rebuild import reindex
from search.meili.sender import MeiliSender
from search.meili.settings import ensure_index
from search.meili.tasks import TaskFailedError, wait
from search.query import SearchQuery, Viewer
from tests import factories

MEILISEARCH_URL = os.environ.get("MEILISEARCH_URL")
pytestmark = pytest.mark.skipif(
    not MEILISEARCH_URL,
    reason="needs a Meilisearch server: set MEILISEARCH_URL (and MEILISEARCH_API_KEY), see the README",
)


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    created = await create_pool(database_url, min_size=1, max_size=4)
    yield created
    await created.close()


@pytest.fixture
async def backend(database_url: str, pool: Pool) -> AsyncIterator[MeilisearchBackend]:
    uid = f"test_{uuid.uuid4().hex[:12]}"
    settings = Settings(
        database_url=database_url,
        meilisearch_url=MEILISEARCH_URL,
        meilisearch_api_key=os.environ.get("MEILISEARCH_API_KEY") or None,
        meilisearch_index=uid,
    )
    created = await create_meilisearch_backend(settings, pool)
    yield created
    indexes = await created.client.get_indexes() or []
    for index in indexes:
        if index.uid.startswith(uid):
            await wait(created.client, await index.delete())
    await created.close()


async def _catalogue(db: asyncpg.Connection) -> dict[str, uuid.UUID]:
    network_id = await factories.network(db, f"net-{uuid.uuid4().hex[:8]}")
    member = await factories.organisation(db, "Menuiserie Dupré")
    await factories.membership(db, network_id, member)
    public = await factories.listing(db, network_id, member, visibility="public", title="Palettes Europe")
    await db.execute(
        "UPDATE listings SET quantity = 12.345, available_quantity = 12.345 WHERE id = $1", public
    )
    private = await factories.listing(db, network_id, member, title="Palettes perdues")
    return {"network": network_id, "member": member, "public": public, "private": private}


async def test_settings_are_applied_and_applying_them_again_changes_nothing(
    backend: MeilisearchBackend,
) -> None:
    client: AsyncClient = backend.client
    before = await client.index(backend.index_uid).get_settings()
    await ensure_index(client, backend.index_uid)
    after = await client.index(backend.index_uid).get_settings()
    assert before == after
    assert after.typo_tolerance is not None
    assert after.typo_tolerance.min_word_size_for_typos is not None
    assert after.typo_tolerance.min_word_size_for_typos.one_typo == 5
    assert after.pagination is not None
    assert after.pagination.max_total_hits == 10_001
    assert "category_path" in (after.filterable_attributes or [])


async def test_a_failed_task_raises(backend: MeilisearchBackend) -> None:
    task = await backend.client.index(backend.index_uid).add_documents([{"id": "not a valid id!"}])
    with pytest.raises(TaskFailedError, match="invalid_document_id"):
        await wait(backend.client, task)


async def test_round_trip_with_visibility_exact_decimals_and_highlights(
    db: asyncpg.Connection, backend: MeilisearchBackend
) -> None:
    ids = await _catalogue(db)
    await backend.refresh()

    anonymous = await backend.search(SearchQuery(text="palette", facets=("direction",)), Viewer())
    assert [h.id for h in anonymous.hits] == [ids["public"]]
    assert anonymous.hits[0].quantity == Decimal("12.345")
    # A prefix match: Meilisearch marks the matched part (or the word); either starts the title.
    assert anonymous.hits[0].highlights["title"].startswith("<mark>Palette")
    assert anonymous.facet_distribution == {"direction": {"offer": 1}}

    member = await backend.search(SearchQuery(text="palettes"), Viewer(networks=frozenset({ids["network"]})))
    assert {h.id for h in member.hits} == {ids["public"], ids["private"]}
    assert member.total_hits == 2

    health = await backend.health()
    assert health.ok
    assert health.lag == 0


async def test_reindex_swaps_in_a_whole_new_index(
    db: asyncpg.Connection, pool: Pool, backend: MeilisearchBackend
) -> None:
    ids = await _catalogue(db)
    built = await reindex(pool, backend.client, backend.index_uid)

    assert built.startswith(f"{backend.index_uid}_")
    assert await backend.client.get_raw_index(built) is None  # the old one, deleted
    result = await backend.search(SearchQuery(), Viewer())
    assert [h.id for h in result.hits] == [ids["public"]]
    assert await repository.checkpoint(db, backend.index_uid) is not None


async def test_the_indexer_applies_outbox_changes(
    db: asyncpg.Connection, pool: Pool, backend: MeilisearchBackend
) -> None:
    ids = await _catalogue(db)
    await backend.refresh()
    await db.execute("UPDATE listings SET status = 'paused' WHERE id = $1", ids["public"])
    await outbox.emit(db, "listing.changed", ids["public"], {"status": "paused"})
    assert (await backend.health()).lag == 1

    indexer = Indexer(pool, MeiliSender(backend.client, backend.index_uid), backend.index_uid)
    assert await indexer.drain() == 1

    assert (await backend.search(SearchQuery(), Viewer())).hits == []
    assert (await backend.health()).lag == 0
