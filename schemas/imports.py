"""Bulk import of listings from the spreadsheet operators collect from their members."""

from __future__ import annotations

import uuid
from datetime import datetime

import msgspec

from schemas.base import Input, Schema
from schemas.listings import (
    Amount,
    CapacityPeriod,
    CategoryId,
    Cents,
    Condition,
    Currency,
    Direction,
    LongText,
    PriceKind,
    Title,
    UnitCode,
    Visibility,
    WasteCode,
)
from schemas.networks import Latitude, Longitude
from schemas.organisations import Siret
from schemas.types import Timestamp


class ImportRow(Input):
    """One CSV row; the header names these fields. Empty cells count as absent."""

    siret: Siret
    direction: Direction
    category: CategoryId
    title: Title
    unit: UnitCode
    description: LongText = ""
    quantity: Amount | None = None
    capacity: Amount | None = None
    capacity_period: CapacityPeriod | None = None
    price_kind: PriceKind = "free"
    price_cents: Cents | None = None
    currency: Currency | None = None
    condition: Condition | None = None
    waste_code: WasteCode | None = None
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    available_from: Timestamp | None = None
    available_until: Timestamp | None = None
    visibility: Visibility = "network"
    publish: bool = False


class RowError(Schema):
    row: int
    """The row's line number in the file (the header is line 1)."""
    errors: list[dict[str, str]] = msgspec.field(default_factory=list)


class ImportResult(Schema):
    id: uuid.UUID
    network_id: uuid.UUID
    rows: int
    created: int
    published: int
    created_at: datetime
