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


class Refund(Schema):
    stripe_id: str
    amount_cents: int
    status: str
    """Stripe's status: `pending`, then `succeeded` (or `failed`)."""
    reason: str
    """Who cancelled, and the policy's share refunded."""
    created_at: datetime | None = None


class Dispute(Schema):
    status: str
    """Stripe's: `needs_response`, `under_review`, `won`, `lost`, ..."""
    reason: str
    """The bank's reason: `fraudulent`, `product_not_received`, ..."""


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
    refunds: list[Refund] = msgspec.field(default_factory=list)
    """Refunds of a paid booking cancelled, as Stripe last described them."""
    dispute: Dispute | None = None
    """Set when the payer disputed the charge with their bank."""


class TransferPayment(Schema):
    """A paid transfer's PaymentIntent: what the taker's frontend confirms with Stripe.js."""

    transfer_id: uuid.UUID
    payment_intent_id: str
    client_secret: str | None
    """Given to the taker (the payer) only: Stripe.js confirms the payment with it."""
    price: PriceBreakdown
    status: str
    """The PaymentIntent's status at Stripe (`requires_payment_method`, `processing`, `succeeded`, ...)."""
    last_error: str | None
    """Why the last attempt failed, when it did; the transfer keeps awaiting payment."""
    refunds: list[Refund] = msgspec.field(default_factory=list)
    """Refunds of a paid transfer cancelled, as Stripe last described them."""
    dispute: Dispute | None = None
    """Set when the taker disputed the charge with their bank."""


class WebhookReceipt(Schema):
    received: bool = True
    duplicate: bool = False
    """True when this event id was applied before: nothing was done again."""


BasisPoints = Annotated[int, msgspec.Meta(ge=0, le=10_000, examples=[500])]
"""Hundredths of a percent: 500 is 5 %."""
Cents = Annotated[int, msgspec.Meta(ge=0, le=10**9, examples=[50])]


class NetworkFees(Schema):
    """The platform's commission on the payments of a network's bookings."""

    network_id: uuid.UUID
    basis_points: int
    """The share of each amount, in hundredths of a percent (500 = 5 %), rounded half up to the cent."""
    fixed_cents: int
    """Added to the share on each payment; the fee never exceeds the amount."""
    ess_basis_points: int | None
    """The rate for social-economy (ESS) providers, when the network gives them one of their own."""
    ess_fixed_cents: int | None


class NetworkFeesUpdate(Input):
    basis_points: BasisPoints = 0
    fixed_cents: Cents = 0
    ess_basis_points: BasisPoints | None = None
    """With `ess_fixed_cents`, or neither: the ESS rate replaces both parts of the fee."""
    ess_fixed_cents: Cents | None = None


class PaymentsRow(Schema):
    organisation_id: uuid.UUID
    """The provider paid (a reservation's provider, a transfer's giver)."""
    organisation_name: str
    month: str
    """`YYYY-MM`, in UTC: the month a payment succeeded or a refund was made."""
    currency: str
    payments: int
    """Payments that succeeded that month, of reservations and of transfers."""
    gross_cents: int
    fee_cents: int
    """The network's commission on them."""
    refund_cents: int
    """Refunded that month, whatever month the payment was."""
    net_to_providers_cents: int
    """gross - fees - the provider's part of the refunds (the transfer is reversed in proportion)."""


class PaymentsReport(Schema):
    network_id: uuid.UUID
    date_from: datetime | None
    date_to: datetime | None
    rows: list[PaymentsRow]
    """Per provider and month, oldest month first."""
