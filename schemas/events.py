"""The public event feed: what happened, in commit order, with the resource's state after it.

An event is one of the `*Event` Structs below, told apart by `resource_type`; each names the types
it may carry (`type`) and the schema of its `resource`. api/events/types.py derives the same types
from the lifecycle tables, and a test checks that both lists agree.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Any, Literal

from schemas.base import Schema
from schemas.synergies import SynergyExplanation

ListingEventType = Literal[
    "listing.created",
    "listing.published",
    "listing.paused",
    "listing.archived",
    "listing.expired",
]
TransferEventType = Literal[
    "transfer.requested",
    "transfer.accepted",
    "transfer.awaiting_payment",
    "transfer.paid",
    "transfer.declined",
    "transfer.scheduled",
    "transfer.in_transit",
    "transfer.received",
    "transfer.completed",
    "transfer.disputed",
    "transfer.cancelled",
]
ReservationEventType = Literal[
    "reservation.requested",
    "reservation.awaiting_payment",
    "reservation.accepted",
    "reservation.declined",
    "reservation.confirmed",
    "reservation.in_progress",
    "reservation.completed",
    "reservation.cancelled",
    "reservation.expired",
]
MembershipEventType = Literal[
    "membership.requested",
    "membership.approved",
    "membership.rejected",
    "membership.suspended",
    "membership.reinstated",
]
SynergyEventType = Literal[
    "synergy.proposed",
    "synergy.studied",
    "synergy.dismissed",
    "synergy.started",
    "synergy.abandoned",
    "synergy.realised",
]
PaymentEventType = Literal[
    "payment.created",
    "payment.failed",
    "payment.succeeded",
    "payment.canceled",
    "payment.refunded",
    "payment.disputed",
    "payment.dispute_won",
    "payment.dispute_lost",
]
EndpointEventType = Literal["endpoint.disabled"]


class Actor(Schema):
    user_id: uuid.UUID | None = None
    """None when the system acted (the clock, a payment)."""
    organisation_id: uuid.UUID | None = None
    """The organisation the user acted for; None for operators and the system."""
    role: str | None = None
    """`owner`, `giver`, `taker`, `requester`, `provider`, `member`, `operator` or `system`."""


class ListingState(Schema):
    """A listing's stored columns (`GET /v1/listings/{id}` shows the same facts)."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    network_id: uuid.UUID
    zone_id: uuid.UUID | None
    direction: str
    category_id: str
    nature: str
    title: str
    description: str
    unit: str
    quantity: Decimal | None
    available_quantity: Decimal | None
    capacity: Decimal | None
    capacity_period: str | None
    price_kind: str
    price_cents: int | None
    currency: str | None
    condition: str | None
    waste_code: str | None
    hazardous: bool
    latitude: float
    longitude: float
    available_from: datetime | None
    available_until: datetime | None
    photos: list[str]
    visibility: str
    status: str
    version: int
    created_by: uuid.UUID | None
    import_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    response_time_hours: int
    min_reservation_hours: int
    max_reservation_hours: int
    cancellation_policy: str


class TransferState(Schema):
    """A transfer's stored columns; quantities are in `unit`."""

    id: uuid.UUID
    network_id: uuid.UUID
    listing_id: uuid.UUID
    need_listing_id: uuid.UUID | None
    giver_id: uuid.UUID
    taker_id: uuid.UUID
    initiated_by: str
    category_id: str
    unit: str
    waste_code: str | None
    hazardous: bool
    status: str
    requested_quantity: Decimal
    agreed_quantity: Decimal | None
    received_quantity: Decimal | None
    refused_quantity: Decimal | None
    refusal_reason: str | None
    message: str
    scheduled_for: datetime | None
    transport_mode: str | None
    vehicle_type: str | None
    distance_km: Decimal | None
    carrier: str | None
    tracking_form_ref: str | None
    replaced_site_km: Decimal | None
    replaced_trips: int | None
    reason: str | None
    version: int
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    price_kind: str | None
    unit_price_cents: int | None
    amount_cents: int | None
    fee_cents: int | None
    currency: str | None
    payment_failure: str | None
    payment_due_at: datetime | None = None
    """While awaiting payment, the deadline past which the sweep cancels the transfer."""


class ReservationState(Schema):
    """A reservation's stored columns; `period` is the half-open range as PostgreSQL writes it."""

    id: uuid.UUID
    network_id: uuid.UUID
    listing_id: uuid.UUID
    provider_id: uuid.UUID
    requester_id: uuid.UUID
    status: str
    period: str
    quantity: Decimal
    unit: str
    price_kind: str
    message: str
    expires_at: datetime | None
    reason: str | None
    cancelled_by: str | None
    whole: bool
    version: int
    created_by: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    amount_cents: int | None
    fee_cents: int | None
    currency: str | None
    payment_failure: str | None
    cancellation_policy: str | None


class MembershipState(Schema):
    id: uuid.UUID
    network_id: uuid.UUID
    organisation_id: uuid.UUID
    zone_id: uuid.UUID | None
    status: str
    message: str
    reason: str | None
    requested_by: uuid.UUID | None
    decided_by: uuid.UUID | None
    decided_at: datetime | None
    version: int
    created_at: datetime
    updated_at: datetime


class SynergyState(Schema):
    """A synergy as `GET /v1/synergies/{id}` shows it, without its history, notes and exchanges."""

    id: uuid.UUID
    network_id: uuid.UUID
    kind: str
    status: str
    category_id: str
    organisation_ids: list[uuid.UUID]
    flow_ids: list[uuid.UUID]
    listing_ids: list[uuid.UUID]
    score: float
    explanation: SynergyExplanation
    abandon_reason: str | None
    abandon_note: str | None
    version: int
    created_at: datetime
    updated_at: datetime


class PaymentState(Schema):
    """A payment (a Stripe PaymentIntent) as its payer and provider may see it."""

    id: uuid.UUID
    """The payment's id in the feed (`resource_id`), the same for every event of it."""
    payment_intent_id: str
    """Stripe's id of the PaymentIntent."""
    reservation_id: uuid.UUID | None
    """What it pays for: a reservation (`GET /v1/reservations/{id}/payment`) or a transfer."""
    transfer_id: uuid.UUID | None
    amount_cents: int
    fee_cents: int
    currency: str
    status: str
    """As Stripe last described it: `requires_payment_method`, `processing`, `succeeded`, `canceled`..."""
    last_error: str | None
    captured_cents: int
    refunded_cents: int
    dispute_status: str | None
    dispute_reason: str | None
    created_at: datetime
    updated_at: datetime


class WebhookEndpointState(Schema):
    id: uuid.UUID
    url: str
    disabled_reason: str


class _EventFields(Schema):
    sequence_id: int
    """Strictly increasing in the feed; pass the last one you read as `after`."""
    id: uuid.UUID
    occurred_at: datetime
    resource_id: uuid.UUID
    previous_values: dict[str, Any]
    """The keys of `resource` that changed, with the values they had before (as JSON stores them)."""
    actor: Actor
    request_id: str | None
    """The `X-Request-ID` of the request that made the change (None for the sweeps and Stripe)."""


class ListingFeedEvent(_EventFields, tag_field="resource_type", tag="listing"):
    type: ListingEventType
    resource: ListingState


class TransferFeedEvent(_EventFields, tag_field="resource_type", tag="transfer"):
    type: TransferEventType
    resource: TransferState


class ReservationFeedEvent(_EventFields, tag_field="resource_type", tag="reservation"):
    type: ReservationEventType
    resource: ReservationState


class MembershipFeedEvent(_EventFields, tag_field="resource_type", tag="membership"):
    type: MembershipEventType
    resource: MembershipState


class SynergyFeedEvent(_EventFields, tag_field="resource_type", tag="synergy"):
    """Seen by the network's operators and the organisations involved only."""

    type: SynergyEventType
    resource: SynergyState


class PaymentFeedEvent(_EventFields, tag_field="resource_type", tag="payment"):
    """Seen by the parties of what it pays for and the network's operators."""

    type: PaymentEventType
    resource: PaymentState


class EndpointFeedEvent(_EventFields, tag_field="resource_type", tag="webhook_endpoint"):
    """Sent to a webhook endpoint's owner when deliveries to it have failed for too long."""

    type: EndpointEventType
    resource: WebhookEndpointState


Event = (
    ListingFeedEvent
    | TransferFeedEvent
    | ReservationFeedEvent
    | MembershipFeedEvent
    | SynergyFeedEvent
    | PaymentFeedEvent
    | EndpointFeedEvent
)

EVENT_CLASSES: tuple[type[_EventFields], ...] = (
    ListingFeedEvent,
    TransferFeedEvent,
    ReservationFeedEvent,
    MembershipFeedEvent,
    SynergyFeedEvent,
    PaymentFeedEvent,
    EndpointFeedEvent,
)


class EventPage(Schema):
    items: list[Event]
    next_after: int
    """Pass as `after` to read on; equal to `after` when nothing new is visible yet."""
