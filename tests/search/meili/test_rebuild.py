"""The whole-index build's PostgreSQL side: every searchable listing, page after page."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg

from search.meili.rebuild import fill, new_index_name
from tests import factories
from tests.search.meili.recording import RecordingSender


async def test_fill_sends_every_searchable_listing_across_pages(db: asyncpg.Connection) -> None:
    network_id = await factories.network(db, "fill-net")
    member = await factories.organisation(db, "Membre")
    await factories.membership(db, network_id, member)
    shown = {await factories.listing(db, network_id, member) for _ in range(5)}
    await factories.listing(db, network_id, member, status="draft")
    sender = RecordingSender()

    kept = await fill(db, sender, page=2)

    assert kept == {str(i) for i in shown}
    assert set(sender.stored) == kept
    assert sender.calls == 3  # 6 listings, 2 a page


def test_a_new_index_is_named_after_the_live_one_and_the_time() -> None:
    moment = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert new_index_name("listings", moment) == "listings_20260102030405"
