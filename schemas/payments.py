"""Payments: providers' Stripe connected accounts, price breakdowns and reservations' payments."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated

import msgspec

from schemas.base import Input, Schema
from schemas.types import URL_PATTERN

Url = Annotated[
    str, msgspec.Meta(max_length=2000, pattern=URL_PATTERN, examples=["https://carte.example.org/paiements"])
]


class PriceBreakdown(Schema):
    """What a booking costs, in the smallest unit of `currency` (cents)."""

    amount_cents: int
    """What the requester pays."""
    fee_cents: int
    """The network's commission, kept by the platform."""
    provider_share_cents: int
    """What the provider receives: `amount_cents - fee_cents`."""
    currency: str


class PaymentAccount(Schema):
    """An organisation's Stripe Express connected account, as Stripe last described it."""

    organisation_id: uuid.UUID
    stripe_account_id: str
    charges_enabled: bool
    """Whether its services can be paid for: a priced service is bookable only when it is."""
    payouts_enabled: bool
    details_submitted: bool
    requirements: list[str]
    """What Stripe still needs before it enables charges or payouts (`currently_due`)."""
    updated_at: datetime


class OnboardingLinkCreate(Input):
    return_url: Url
    """Where Stripe sends the administrator back once onboarding is done."""
    refresh_url: Url
    """Where Stripe sends them when the link has expired or was already used (ask a new one there)."""


class OnboardingLink(Schema):
    url: str
    """Stripe's hosted onboarding page; single use."""
    expires_at: datetime


class ReservationPayment(Schema):
    """A priced reservation's PaymentIntent: what the frontend confirms with Stripe.js."""

    reservation_id: uuid.UUID
    payment_intent_id: str
    client_secret: str | None
    """Given to the requester only: Stripe.js confirms the payment with it."""
    price: PriceBreakdown
    status: str
    """The PaymentIntent's status at Stripe (`requires_payment_method`, `processing`, `succeeded`, ...)."""
    last_error: str | None
    """Why the last attempt failed, when it did; the reservation keeps awaiting payment."""


class WebhookReceipt(Schema):
    received: bool = True
    duplicate: bool = False
    """True when this event id was applied before: nothing was done again."""
