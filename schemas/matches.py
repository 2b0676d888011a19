"""Matches: for a need, the published offers that fit it; for an offer, the needs; and the one call
that turns a match into a transfer or reservation request carried by a synergy."""

from __future__ import annotations

import uuid
from typing import Literal

from schemas.base import Input, Schema
from schemas.listings import Amount, Listing
from schemas.reservations import Instant, Reservation
from schemas.synergies import Synergy, SynergyExplanation
from schemas.transfers import Message, Transfer


class Match(Schema):
    listing: Listing
    """The offer (for a need) or the need (for an offer) that fits."""
    score: float
    """In [0, 1], the weighted mean of the explanation's components (as detection scores)."""
    explanation: SynergyExplanation
    synergy_id: uuid.UUID | None = None
    """The synergy already following this pair (potential, studied or in progress), if any."""


class MatchRequestCreate(Input):
    """Turn a match into an exchange. For materials, `quantity` (in the offer's unit) defaults to what
    the need asks, capped by what the offer has left, when both are in the same unit; a service
    reservation needs `start`, `end` and `quantity`."""

    quantity: Amount | None = None
    start: Instant | None = None
    """Services only: the reservation's `[start, end)`."""
    end: Instant | None = None
    message: Message = ""


class MatchExchange(Schema):
    """What a match request created: the transfer or the reservation, and the synergy carrying it
    (in progress; it becomes `realised` when the exchange completes)."""

    synergy: Synergy
    kind: Literal["transfer", "reservation"]
    """Which of the two was created."""
    transfer: Transfer | None = None
    reservation: Reservation | None = None
