"""Webhook endpoints, their deliveries and the attempts made (Standard Webhooks)."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from schemas.base import Input, Schema
from schemas.types import SHORT_TEXT_PATTERN, URL_PATTERN, Timestamp

EndpointUrl = Annotated[
    str,
    msgspec.Meta(
        pattern=URL_PATTERN,
        max_length=2000,
        description="https only; names resolving to private, loopback or link-local addresses are refused.",
        examples=["https://erp.example.org/hooks/symbiose"],
    ),
]
TypePattern = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z_]+(\.[a-z_]+)*(\.\*)?$",
        max_length=100,
        description="An event type (`transfer.accepted`) or a prefix ending in `.*` (`transfer.*`).",
    ),
]
EventTypes = Annotated[list[TypePattern], msgspec.Meta(max_length=50)]
Description = Annotated[str, msgspec.Meta(max_length=500, pattern=SHORT_TEXT_PATTERN)]
DeliveryStatus = Literal["pending", "succeeded", "failed"]


class WebhookEndpoint(Schema):
    id: uuid.UUID
    url: str
    event_types: list[str]
    """Empty: every event its owner sees."""
    description: str
    enabled: bool
    version: int
    created_at: datetime
    updated_at: datetime
    organisation_id: uuid.UUID | None = None
    """Set for an organisation's endpoint: it receives the events of what the organisation is party to."""
    network_id: uuid.UUID | None = None
    """Set for a network's endpoint (its operators'): it receives every event of the network."""
    disabled_reason: str | None = None
    rotation_ends_at: datetime | None = None
    """While set, the previous secret signs too (two signatures in `webhook-signature`)."""


class WebhookEndpointWithSecret(WebhookEndpoint):
    secret: str = ""
    """`whsec_` and base64 of 32 random bytes; shown only in this answer. Verify deliveries with it."""


class WebhookEndpointCreate(Input):
    url: EndpointUrl
    event_types: EventTypes = msgspec.field(default_factory=list)
    description: Description = ""
    enabled: bool = True
    network_id: uuid.UUID | None = None
    """An operator creates the network's endpoint; without it, the acting organisation's (its admins)."""


class WebhookEndpointUpdate(Input):
    url: EndpointUrl | msgspec.UnsetType = msgspec.UNSET
    event_types: EventTypes | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    enabled: bool | msgspec.UnsetType = msgspec.UNSET
    """Enabling again clears `disabled_reason` and the failure record."""


class SecretRotation(Input):
    overlap_hours: Annotated[int, msgspec.Meta(ge=0, le=168)] = 24
    """How long the previous secret keeps signing beside the new one."""


class WebhookAttempt(Schema):
    id: int
    delivery_id: uuid.UUID
    """Also the `webhook-id` header (`msg_` and the id without dashes)."""
    event_id: uuid.UUID
    event_type: str
    started_at: datetime
    duration_ms: int
    http_status: int | None = None
    """The answer's HTTP status; None when no answer came (timeout, refused connection, refused address)."""
    error: str | None = None
    response_start: str = ""
    """The first bytes of the answer's body."""


class ResendSince(Input):
    since: Timestamp
    """Resend every delivery of this endpoint created at or after this time."""


class Resent(Schema):
    deliveries: int
    """How many deliveries were queued again."""
