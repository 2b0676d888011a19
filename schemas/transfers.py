"""Transfers: a quantity of a resource moving from the member who gives it to the one who takes it."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from schemas.base import Input, Schema
from schemas.impact import TransferImpact
from schemas.listings import Amount
from schemas.payments import PriceBreakdown
from schemas.types import LONG_TEXT_PATTERN, SHORT_TEXT_PATTERN, Kilometres, Measured, Timestamp

TransferStatus = Literal[
    "requested",
    "accepted",
    "awaiting_payment",
    "paid",
    "scheduled",
    "in_transit",
    "received",
    "completed",
    "declined",
    "cancelled",
    "disputed",
]
TransferAction = Literal[
    "accept",
    "decline",
    "cancel",
    "schedule",
    "dispatch",
    "receive",
    "complete",
    "dispute",
    "resolve_complete",
    "resolve_cancel",
]
TransportMode = Literal["road", "rail", "waterway", "cargo_bike", "on_foot", "pipe"]
Party = Literal["giver", "taker"]

Reason = Annotated[
    str, msgspec.Meta(min_length=3, max_length=2000, pattern=LONG_TEXT_PATTERN, examples=["Palettes cassées"])
]
ShortText = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=SHORT_TEXT_PATTERN)]
Distance = Kilometres
"""Kilometres: 0 or more, two decimal places at most (`numeric(9, 2)`)."""
MeasuredAmount = Measured
"""A quantity received or refused: 0 or more, three decimal places at most."""
ScheduledFor = Timestamp
Trips = Annotated[int, msgspec.Meta(ge=0, le=1_000_000)]
Message = Annotated[str, msgspec.Meta(max_length=2000, pattern=LONG_TEXT_PATTERN)]


class TransferEvent(Schema):
    action: str
    from_status: TransferStatus | None
    to_status: TransferStatus
    actor_user_id: uuid.UUID | None
    actor_role: str | None
    reason: str | None
    created_at: datetime


class Transfer(Schema):
    id: uuid.UUID
    network_id: uuid.UUID
    listing_id: uuid.UUID
    """The offer the material comes from."""
    need_listing_id: uuid.UUID | None
    """The need it answers, when the giver proposed the transfer."""
    giver_id: uuid.UUID
    taker_id: uuid.UUID
    initiated_by: Party
    category_id: str
    unit: str
    """Every quantity of the transfer is in the offer's unit."""
    waste_code: str | None
    hazardous: bool
    status: TransferStatus
    requested_quantity: Decimal
    agreed_quantity: Decimal | None
    received_quantity: Decimal | None
    refused_quantity: Decimal | None
    refusal_reason: str | None
    message: str
    scheduled_for: datetime | None
    transport_mode: TransportMode | None
    vehicle_type: str | None
    distance_km: Decimal | None
    carrier: str | None
    tracking_form_ref: str | None
    """The waste tracking form (BSD) reference; required to ship hazardous waste."""
    replaced_site_km: Decimal | None
    replaced_trips: int | None
    reason: str | None
    """The reason given for the last decline, cancellation, refusal or dispute."""
    version: int
    created_at: datetime
    updated_at: datetime
    impact: TransferImpact | None = None
    allowed_actions: list[str] = msgspec.field(default_factory=list)
    """What the caller may do next."""
    events: list[TransferEvent] = msgspec.field(default_factory=list)
    """The transfer's history, on `GET /v1/transfers/{id}` only."""
    price: PriceBreakdown | None = None
    """A priced offer's price for this transfer, copied when it was requested: for the quantity asked,
    then for the quantity agreed once accepted (see `GET /v1/transfers/{id}/payment`). None for a
    free or negotiable offer."""
    unit_price_cents: int | None = None
    """The offer's price copied at request: per unit of the offer (`per_unit`) or for the lot (`fixed`)."""
    payment_failure: str | None = None
    """Why the taker's last payment attempt failed; the transfer keeps awaiting payment."""
    payment_dispute: str | None = None
    """Set when the taker disputed the payment with their bank: Stripe's status of the dispute
    (`needs_response`, `under_review`, `won`, `lost`, ...); its reason is in the transfer's payment."""
    payment_due_at: datetime | None = None
    """While it awaits payment: when the taker must have paid by (TRANSFER_PAYMENT_HOURS after the
    accept). Past it, the sweep cancels the transfer, the quantity returns to the offer and a payment
    made later is refunded in full."""


class TransferCreate(Input):
    quantity: Amount
    """How much is asked (or, answering a need, proposed), in the offer's unit."""
    offer_listing_id: uuid.UUID | None = None
    """Answering a need: the acting organisation's own offer the material comes from."""
    message: Message = ""


# One request Struct per action (see api/transfers/routes.py); an action whose Struct has only
# optional fields may be sent without a body.


class TransferAccept(Input):
    quantity: Amount | None = None
    """The agreed quantity: at most the one asked, which is the default."""


class TransferDecline(Input):
    reason: Reason | None = None


class TransferCancel(Input):
    reason: Reason | None = None


class TransferSchedule(Input):
    scheduled_for: ScheduledFor
    """When the material leaves, with a time zone (e.g. `2026-03-02T08:00:00Z`)."""
    transport_mode: TransportMode
    vehicle_type: ShortText | None = None
    distance_km: Distance | None = None
    """Computed from the two sites when absent; send it to correct the estimate."""
    carrier: ShortText | None = None
    tracking_form_ref: ShortText | None = None
    """The waste tracking form (BSD) reference, which hazardous waste needs to leave."""
    replaced_site_km: Distance | None = None
    """Distance to the landfill or treatment site the material would otherwise have gone to."""
    replaced_trips: Trips | None = None
    """Lorry trips to that site the exchange replaced."""


class TransferDispatch(Input):
    carrier: ShortText | None = None
    tracking_form_ref: ShortText | None = None
    """Hazardous waste leaves only with a tracking form and a carrier (given here or when scheduled)."""
    vehicle_type: ShortText | None = None


class TransferReceive(Input):
    received_quantity: MeasuredAmount
    """What actually arrived (0 or more, at most the agreed quantity)."""
    refused_quantity: MeasuredAmount | None = None
    """The part refused, which goes back to the giver; needs `reason`."""
    reason: Reason | None = None


class TransferComplete(Input):
    replaced_site_km: Distance | None = None
    """Distance to the landfill or treatment site the material would otherwise have gone to."""
    replaced_trips: Trips | None = None
    """Lorry trips to that site the exchange replaced."""


class TransferDispute(Input):
    reason: Reason
    """What is disputed."""


class TransferResolveComplete(Input):
    received_quantity: MeasuredAmount | None = None
    """What was received, if not recorded yet or to correct it."""
    reason: Reason | None = None
    replaced_site_km: Distance | None = None
    replaced_trips: Trips | None = None


class TransferResolveCancel(Input):
    reason: Reason | None = None
