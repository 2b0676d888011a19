"""Listings: offers and needs of resources and services."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from schemas.base import Input, Schema
from schemas.networks import Latitude, Longitude
from schemas.types import LONG_TEXT_PATTERN, SHORT_TEXT_PATTERN, URL_PATTERN, Quantity, Timestamp

Direction = Literal["offer", "need"]
Nature = Literal["material", "energy", "service"]
PriceKind = Literal["free", "fixed", "per_unit", "per_day", "negotiable"]
CancellationPolicy = Literal["flexible", "moderate", "strict"]
"""What a requester's cancellation of a paid booking refunds: `flexible` all until 24 h before the
start, half after; `moderate` all until 5 days before, half after; `strict` half until 7 days
before, nothing after. A provider's or operator's cancellation refunds everything."""
Condition = Literal["new", "as_new", "good", "used", "for_parts", "not_applicable"]
Visibility = Literal["network", "public"]
ListingStatus = Literal["draft", "published", "paused", "archived", "expired"]
ListingAction = Literal["publish", "pause", "archive"]
CapacityPeriod = Literal["day", "week", "month"]

Title = Annotated[
    str,
    msgspec.Meta(
        min_length=3, max_length=200, pattern=SHORT_TEXT_PATTERN, examples=["Palettes Europe 80x120"]
    ),
]
LongText = Annotated[str, msgspec.Meta(max_length=10_000, pattern=LONG_TEXT_PATTERN)]
CategoryId = Annotated[
    str, msgspec.Meta(pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*(?![\s\S])", examples=["wood.pallets"])
]
UnitCode = Annotated[str, msgspec.Meta(pattern=r"^[a-z0-9_]+(?![\s\S])", examples=["pallet"])]
WasteCode = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{2} ?[0-9]{2} ?[0-9]{2}\*?(?![\s\S])", examples=["15 01 03"], description="EWC code"
    ),
]
Currency = Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{3}(?![\s\S])", examples=["EUR"])]
Cents = Annotated[int, msgspec.Meta(ge=0, le=10**12)]
PhotoUrl = Annotated[str, msgspec.Meta(pattern=URL_PATTERN, max_length=1000)]
Photos = Annotated[list[PhotoUrl], msgspec.Meta(max_length=20)]
Amount = Quantity
"""A quantity or capacity: more than 0, three decimal places at most (`numeric(14, 3)`)."""
ResponseHours = Annotated[
    int, msgspec.Meta(ge=1, le=720, description="Hours the provider takes to answer a reservation request")
]
ReservationHours = Annotated[
    int, msgspec.Meta(ge=1, le=8784, description="Length of a reservation, in hours")
]


class Listing(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    network_id: uuid.UUID
    zone_id: uuid.UUID | None
    direction: Direction
    category_id: str
    nature: Nature
    title: str
    description: str
    unit: str
    quantity: Decimal | None
    """Resources: how much is offered or needed, in `unit`."""
    available_quantity: Decimal | None
    """Resource offers: what is left after accepted transfers."""
    capacity: Decimal | None
    """Services: how much is offered or needed per `capacity_period`, in `unit`."""
    capacity_period: CapacityPeriod | None
    price_kind: PriceKind
    price_cents: int | None
    currency: str | None
    condition: Condition | None
    waste_code: str | None
    hazardous: bool
    latitude: float
    longitude: float
    available_from: datetime | None
    available_until: datetime | None
    photos: list[str]
    visibility: Visibility
    status: ListingStatus
    version: int
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    response_time_hours: int = 48
    """Services: a reservation request unanswered this long expires; so does an accepted one not
    confirmed (or paid) this long after acceptance."""
    min_reservation_hours: int = 1
    max_reservation_hours: int = 8784
    cancellation_policy: CancellationPolicy = "flexible"
    """Services: what a requester's cancellation of a paid booking refunds (copied onto each booking)."""


class ListingCreate(Input):
    network_id: uuid.UUID
    direction: Direction
    category_id: CategoryId
    title: Title
    unit: UnitCode
    description: LongText = ""
    zone_id: uuid.UUID | None = None
    quantity: Amount | None = None
    capacity: Amount | None = None
    capacity_period: CapacityPeriod | None = None
    price_kind: PriceKind = "free"
    price_cents: Cents | None = None
    currency: Currency | None = None
    condition: Condition | None = None
    waste_code: WasteCode | None = None
    latitude: Latitude | None = None
    """Defaults, with `longitude`, to the organisation's site."""
    longitude: Longitude | None = None
    available_from: Timestamp | None = None
    available_until: Timestamp | None = None
    photos: Photos = msgspec.field(default_factory=list)
    visibility: Visibility = "network"
    response_time_hours: ResponseHours = 48
    min_reservation_hours: ReservationHours = 1
    max_reservation_hours: ReservationHours = 8784
    cancellation_policy: CancellationPolicy = "flexible"


class ListingUpdate(Input):
    title: Title | msgspec.UnsetType = msgspec.UNSET
    description: LongText | msgspec.UnsetType = msgspec.UNSET
    zone_id: uuid.UUID | msgspec.UnsetType | None = msgspec.UNSET
    unit: UnitCode | msgspec.UnsetType = msgspec.UNSET
    quantity: Amount | msgspec.UnsetType | None = msgspec.UNSET
    capacity: Amount | msgspec.UnsetType | None = msgspec.UNSET
    capacity_period: CapacityPeriod | msgspec.UnsetType | None = msgspec.UNSET
    price_kind: PriceKind | msgspec.UnsetType = msgspec.UNSET
    price_cents: Cents | msgspec.UnsetType | None = msgspec.UNSET
    currency: Currency | msgspec.UnsetType | None = msgspec.UNSET
    condition: Condition | msgspec.UnsetType | None = msgspec.UNSET
    waste_code: WasteCode | msgspec.UnsetType | None = msgspec.UNSET
    latitude: Latitude | msgspec.UnsetType = msgspec.UNSET
    longitude: Longitude | msgspec.UnsetType = msgspec.UNSET
    available_from: Timestamp | msgspec.UnsetType | None = msgspec.UNSET
    available_until: Timestamp | msgspec.UnsetType | None = msgspec.UNSET
    photos: Photos | msgspec.UnsetType = msgspec.UNSET
    visibility: Visibility | msgspec.UnsetType = msgspec.UNSET
    response_time_hours: ResponseHours | msgspec.UnsetType = msgspec.UNSET
    min_reservation_hours: ReservationHours | msgspec.UnsetType = msgspec.UNSET
    max_reservation_hours: ReservationHours | msgspec.UnsetType = msgspec.UNSET
    cancellation_policy: CancellationPolicy | msgspec.UnsetType = msgspec.UNSET
