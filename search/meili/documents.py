"""Listing documents for Meilisearch, each built whole from one PostgreSQL row.

A document is always sent whole (`add_documents` replaces a document; `update_documents` would
merge into the stored one, and a merge from a stale or partial source is how a search index
silently keeps fields that no longer hold). So the indexer never patches: it rebuilds.

Deletion policy: a listing that is not searchable (not published, its organisation not an
active member of its network, an exhausted offer, past `available_until`, or gone) is deleted
from the index rather than kept with fields the filters exclude. The filters still check the
same fields (defence in depth, and `available_until` passes while the document sits there).
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Final

from api.db.pool import Connection
from search.meili import repository

Document = dict[str, Any]

# Filter stand-ins for an open availability window, so a filter needs no `IS NULL` branch:
# 0001-01-01T00:00:00Z and 9999-12-31T23:59:59Z in epoch seconds (both exact as doubles).
OPEN_START: Final = -62_135_596_800
OPEN_END: Final = 253_402_300_799


def epoch(moment: datetime | None, default: int) -> int:
    return default if moment is None else int(moment.timestamp())


def _decimal(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def amount(row: Mapping[str, Any]) -> float:
    """What `quantity_at_least` and the `quantity` sort compare: an offer's available quantity, a
    need's quantity, a service's capacity.

    Meilisearch compares numbers as doubles. Quantities are numeric(14, 3): at most 14
    significant digits, and a double holds 15, so distinct quantities stay distinct and ordered.
    The exact decimals travel beside it as strings, and hits are built from those."""
    for name in ("available_quantity", "quantity", "capacity"):
        value = row[name]
        if value is not None:
            return float(value)
    return 0.0


def is_exhausted(row: Mapping[str, Any]) -> bool:
    return row["available_quantity"] is not None and row["available_quantity"] == 0


def build(row: Mapping[str, Any]) -> Document:
    """The whole document of one listing row (see repository.DOCUMENT_ROWS for its columns)."""
    return {
        "id": str(row["id"]),
        "organisation_id": str(row["organisation_id"]),
        "organisation_name": row["organisation_name"],
        "network_id": str(row["network_id"]),
        "zone_id": None if row["zone_id"] is None else str(row["zone_id"]),
        "direction": row["direction"],
        "nature": row["nature"],
        "category_id": row["category_id"],
        "category_path": list(row["category_path"]),
        "category_labels": list(row["category_labels"]),
        "title": row["title"],
        "description": row["description"],
        "unit": row["unit"],
        "quantity": _decimal(row["quantity"]),
        "available_quantity": _decimal(row["available_quantity"]),
        "capacity": _decimal(row["capacity"]),
        "capacity_period": row["capacity_period"],
        "amount": amount(row),
        "price_kind": row["price_kind"],
        "price": "free" if row["price_kind"] == "free" else "paid",
        "price_cents": row["price_cents"],
        "currency": row["currency"],
        "condition": row["condition"],
        "waste_code": row["waste_code"],
        "hazardous": row["hazardous"],
        "ess": row["is_ess"],
        "visibility": row["visibility"],
        "status": row["status"],
        "member_active": row["member_active"],
        "exhausted": is_exhausted(row),
        "latitude": row["latitude"],
        "longitude": row["longitude"],
        "_geo": {"lat": row["latitude"], "lng": row["longitude"]},
        "available_from": _iso(row["available_from"]),
        "available_until": _iso(row["available_until"]),
        "published_at": _iso(row["published_at"]),
        "available_from_ts": epoch(row["available_from"], OPEN_START),
        "available_until_ts": epoch(row["available_until"], OPEN_END),
        "published_at_ts": epoch(row["published_at"], 0),
        "version": row["version"],
    }


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def is_searchable(document: Document, now: int) -> bool:
    """Whether anyone may find this listing now; the index holds only these."""
    return (
        document["status"] == "published"
        and document["member_active"]
        and not document["exhausted"]
        and document["available_until_ts"] > now
    )


@dataclass(slots=True)
class Batch:
    """What to send for a set of listings: whole documents to store, ids to delete."""

    documents: list[Document] = field(default_factory=list)
    deletions: list[str] = field(default_factory=list)


def sort_out(listing_ids: Sequence[uuid.UUID], rows: Sequence[Mapping[str, Any]], now: int) -> Batch:
    """Split listings into documents to store and ids to delete (gone or not searchable)."""
    batch = Batch()
    found: set[uuid.UUID] = set()
    for row in rows:
        found.add(row["id"])
        document = build(row)
        if is_searchable(document, now):
            batch.documents.append(document)
        else:
            batch.deletions.append(document["id"])
    batch.deletions.extend(str(i) for i in dict.fromkeys(listing_ids) if i not in found)
    return batch


async def load(conn: Connection, listing_ids: Sequence[uuid.UUID], now: int) -> Batch:
    """Documents for these listings, read in one query, and the ids to delete from the index."""
    rows = await repository.document_rows(conn, listing_ids)
    return sort_out(listing_ids, rows, now)
