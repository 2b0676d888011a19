"""Reservations: a member booking some of another member's shared service over a period."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from schemas.base import Input, Schema
from schemas.listings import Amount, CancellationPolicy, PriceKind
from schemas.payments import PriceBreakdown
from schemas.types import LONG_TEXT_PATTERN, Timestamp

ReservationStatus = Literal[
    "requested",
    "accepted",
    "awaiting_payment",
    "confirmed",
    "in_progress",
    "completed",
    "declined",
    "cancelled",
    "expired",
]
ReservationAction = Literal["accept", "decline", "confirm", "cancel", "complete"]
"""The actions people take; `expire`, `start`, the clock's `complete` and `pay` are the system's."""
ReservationRole = Literal["requester", "provider", "operator"]

Instant = Annotated[Timestamp, msgspec.Meta(examples=["2026-03-02T08:00:00Z"])]
Reason = Annotated[
    str, msgspec.Meta(min_length=3, max_length=2000, pattern=LONG_TEXT_PATTERN, examples=["Chantier reporté"])
]
Message = Annotated[str, msgspec.Meta(max_length=2000, pattern=LONG_TEXT_PATTERN)]


class ReservationEvent(Schema):
    action: str
    from_status: ReservationStatus | None
    to_status: ReservationStatus
    actor_user_id: uuid.UUID | None
    actor_role: str
    """`requester`, `provider`, `operator`, or `system` for the clock."""
    reason: str | None
    created_at: datetime


class Reservation(Schema):
    id: uuid.UUID
    network_id: uuid.UUID
    listing_id: uuid.UUID
    provider_id: uuid.UUID
    """The organisation that offers the service."""
    requester_id: uuid.UUID
    status: ReservationStatus
    start: datetime
    end: datetime
    """The period is half-open: `[start, end)`."""
    quantity: Decimal
    """The capacity booked, in the listing's unit."""
    unit: str
    price_kind: PriceKind
    message: str
    expires_at: datetime | None
    """When a `requested`, `accepted` or `awaiting_payment` reservation expires if nobody acts."""
    reason: str | None
    """The reason given for the last decline or cancellation."""
    cancelled_by: ReservationRole | None
    version: int
    created_at: datetime
    updated_at: datetime
    allowed_actions: list[str] = msgspec.field(default_factory=list)
    """What the caller may do next."""
    events: list[ReservationEvent] = msgspec.field(default_factory=list)
    """The reservation's history, on `GET /v1/reservations/{id}` and after an action."""
    price: PriceBreakdown | None = None
    """A priced service's price, fixed when it was requested (see `GET /v1/reservations/{id}/payment`)."""
    payment_failure: str | None = None
    cancellation_policy: CancellationPolicy | None = None
    """A priced booking's policy, copied from the listing when requested: what the requester's
    cancellation after payment refunds (see the listing's `cancellation_policy`)."""
    """Why the last payment attempt failed; the reservation keeps awaiting payment until it expires."""


class ReservationCreate(Input):
    start: Instant
    end: Instant
    """Exclusive: `[start, end)`; a booking ending at 10:00 and one starting at 10:00 do not overlap."""
    quantity: Amount
    """The capacity asked, in the listing's unit (at most the listing's capacity)."""
    message: Message = ""


class ReservationDecline(Input):
    reason: Reason | None = None


class ReservationCancel(Input):
    reason: Reason
    """Why the reservation is cancelled; the other side reads it."""


class FreeInterval(Schema):
    start: datetime
    end: datetime
    free_capacity: Decimal


class Availability(Schema):
    listing_id: uuid.UUID
    capacity: Decimal
    unit: str
    start: datetime
    end: datetime
    intervals: list[FreeInterval]
    """Consecutive, non-overlapping `[start, end)` intervals covering the window asked (clipped to the
    listing's availability), each with the capacity not held by reservations; neighbours differ."""
