"""The public event feed: what happened, in commit order."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from schemas.base import Schema


class Actor(Schema):
    user_id: uuid.UUID | None = None
    """None when the system acted (the clock, a payment)."""
    organisation_id: uuid.UUID | None = None
    """The organisation the user acted for; None for operators and the system."""
    role: str | None = None
    """`owner`, `giver`, `taker`, `requester`, `provider`, `member`, `operator` or `system`."""


class Event(Schema):
    sequence_id: int
    """Strictly increasing in the feed; pass the last one you read as `after`."""
    id: uuid.UUID
    type: str
    """Dot-delimited and stable, e.g. `transfer.accepted` (the list is in `GET /v1/events`)."""
    occurred_at: datetime
    resource_type: str
    """`listing`, `transfer`, `reservation`, `membership` or `webhook_endpoint`."""
    resource_id: uuid.UUID
    resource: dict[str, Any]
    """The resource's state just after the change (its stored columns; see `GET /v1/events`)."""
    previous_values: dict[str, Any]
    """The keys that changed, with the values they had before."""
    actor: Actor
    request_id: str | None = None
    """The `X-Request-ID` of the request that made the change (None for the sweeps)."""


class EventPage(Schema):
    items: list[Event]
    next_after: int
    """Pass as `after` to read on; equal to `after` when nothing new is visible yet."""
