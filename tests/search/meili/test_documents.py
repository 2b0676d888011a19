"""Documents built from real PostgreSQL rows: every field, whole, and deletion when unsearchable."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import asyncpg
import pytest

from search.meili import documents
from search.meili.documents import OPEN_END, OPEN_START
from tests import factories


async def _network_with_member(db: asyncpg.Connection, *, ess: bool = True) -> tuple[uuid.UUID, uuid.UUID]:
    network_id = await factories.network(db, f"net-{uuid.uuid4().hex[:8]}")
    organisation_id = await factories.organisation(db, "Menuiserie Dupré")
    await db.execute("UPDATE organisations SET is_ess = $2 WHERE id = $1", organisation_id, ess)
    await factories.membership(db, network_id, organisation_id)
    return network_id, organisation_id


async def _load(db: asyncpg.Connection, *ids: uuid.UUID) -> documents.Batch:
    return await documents.load(db, list(ids), int(time.time()))


async def test_a_published_offer_becomes_a_whole_document(db: asyncpg.Connection) -> None:
    network_id, organisation_id = await _network_with_member(db)
    zone_id = await factories.zone(db, network_id, "ZI Nord")
    listing_id = await factories.listing(db, network_id, organisation_id, visibility="public")
    published = datetime(2025, 3, 1, 8, 30, tzinfo=UTC)
    until = datetime(2099, 1, 1, tzinfo=UTC)
    await db.execute(
        """UPDATE listings SET zone_id = $2, quantity = 12.345, available_quantity = 7.5, published_at = $3,
               available_until = $4, description = 'Palettes 1200x800', waste_code = '15 01 03',
               condition = 'good', latitude = 45.75, longitude = 4.85
           WHERE id = $1""",
        listing_id,
        zone_id,
        published,
        until,
    )

    batch = await _load(db, listing_id)

    assert batch.deletions == []
    [doc] = batch.documents
    expected: dict[str, Any] = {
        "id": str(listing_id),
        "organisation_id": str(organisation_id),
        "organisation_name": "Menuiserie Dupré",
        "network_id": str(network_id),
        "zone_id": str(zone_id),
        "direction": "offer",
        "nature": "material",
        "category_id": "testwood.pallets",
        "category_path": ["testwood", "testwood.pallets"],
        "category_labels": ["Palettes", "Pallets"],
        "title": "Palettes Europe",
        "description": "Palettes 1200x800",
        "unit": "pallet",
        "quantity": "12.345",
        "available_quantity": "7.500",
        "capacity": None,
        "capacity_period": None,
        "amount": 7.5,
        "price_kind": "free",
        "price": "free",
        "price_cents": None,
        "currency": None,
        "condition": "good",
        "waste_code": "15 01 03",
        "hazardous": False,
        "ess": True,
        "visibility": "public",
        "status": "published",
        "member_active": True,
        "exhausted": False,
        "latitude": 45.75,
        "longitude": 4.85,
        "_geo": {"lat": 45.75, "lng": 4.85},
        "available_from": None,
        "available_until": "2099-01-01T00:00:00+00:00",
        "published_at": "2025-03-01T08:30:00+00:00",
        "available_from_ts": OPEN_START,
        "available_until_ts": int(until.timestamp()),
        "published_at_ts": int(published.timestamp()),
        "version": 1,
    }
    assert doc == expected


async def test_a_service_is_measured_by_its_capacity_and_a_priced_one_is_paid(db: asyncpg.Connection) -> None:
    network_id, organisation_id = await _network_with_member(db, ess=False)
    listing_id = await factories.listing(db, network_id, organisation_id, category_id="teststorage")
    await db.execute(
        "UPDATE listings SET price_kind = 'per_day', price_cents = 1500, currency = 'EUR' WHERE id = $1",
        listing_id,
    )

    [doc] = (await _load(db, listing_id)).documents

    assert (doc["capacity"], doc["quantity"], doc["available_quantity"]) == ("200.000", None, None)
    assert doc["amount"] == 200.0
    assert (doc["price"], doc["price_kind"], doc["price_cents"], doc["currency"]) == (
        "paid",
        "per_day",
        1500,
        "EUR",
    )
    assert doc["ess"] is False
    assert doc["category_path"] == ["teststorage"]
    assert doc["available_until_ts"] == OPEN_END
    assert doc["published_at_ts"] == 0  # published without a date: oldest


@pytest.mark.parametrize(
    "change",
    [
        "UPDATE listings SET status = 'draft' WHERE id = $1",
        "UPDATE listings SET status = 'paused' WHERE id = $1",
        "UPDATE listings SET status = 'archived' WHERE id = $1",
        "UPDATE listings SET status = 'expired' WHERE id = $1",
        "UPDATE listings SET available_quantity = 0 WHERE id = $1",
        "UPDATE listings SET available_until = now() - interval '1 minute' WHERE id = $1",
        """UPDATE memberships SET status = 'suspended'
           WHERE organisation_id = (SELECT organisation_id FROM listings WHERE id = $1)""",
    ],
    ids=["draft", "paused", "archived", "expired", "exhausted", "past-until", "member-suspended"],
)
async def test_an_unsearchable_listing_is_deleted(db: asyncpg.Connection, change: str) -> None:
    network_id, organisation_id = await _network_with_member(db)
    listing_id = await factories.listing(db, network_id, organisation_id)
    await db.execute(change, listing_id)

    batch = await _load(db, listing_id)

    assert batch.documents == []
    assert batch.deletions == [str(listing_id)]


async def test_a_member_of_another_network_only_does_not_make_a_listing_searchable(
    db: asyncpg.Connection,
) -> None:
    _, organisation_id = await _network_with_member(db)
    other = await factories.network(db, "elsewhere")
    listing_id = await factories.listing(db, other, organisation_id)

    batch = await _load(db, listing_id)

    assert batch.deletions == [str(listing_id)]


async def test_one_batch_mixes_documents_deletions_and_unknown_ids(db: asyncpg.Connection) -> None:
    network_id, organisation_id = await _network_with_member(db)
    shown = await factories.listing(db, network_id, organisation_id)
    draft = await factories.listing(db, network_id, organisation_id, status="draft")
    gone = uuid.uuid4()

    batch = await _load(db, gone, shown, draft, shown)

    assert [d["id"] for d in batch.documents] == [str(shown)]
    assert sorted(batch.deletions) == sorted([str(draft), str(gone)])


async def test_a_need_is_measured_by_its_quantity(db: asyncpg.Connection) -> None:
    network_id, organisation_id = await _network_with_member(db)
    listing_id = await factories.listing(db, network_id, organisation_id, direction="need")
    await db.execute("UPDATE listings SET available_quantity = NULL, quantity = 3 WHERE id = $1", listing_id)

    [doc] = (await _load(db, listing_id)).documents

    assert (doc["direction"], doc["amount"], doc["exhausted"]) == ("need", 3.0, False)
