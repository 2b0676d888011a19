"""What a booking costs and how it is shared, in integer cents.

amount = price x quantity x days, by the listing's price kind:
- `fixed`: the price, once per reservation;
- `per_unit`: the price x the quantity booked (in the listing's unit);
- `per_day`: the price x the quantity x the days of the period, a started day counting whole
  (26 hours are 2 days).
The product is rounded once, at the end, to the cent, half up. The network's fee is its share in
basis points of that amount (rounded half up) plus its fixed amount, never more than the amount;
the provider's share is the rest. A `negotiable` price cannot be paid online.

A transfer of a priced material (`transfer_amount`) costs the unit price x the quantity (`per_unit`,
the quantity in the offer's unit, up to 3 decimals) or the price once (`fixed`), rounded the same
way: once, at the end, to the cent, half up. Its fee follows the same rule.

Refunds follow the cancellation policy copied onto the reservation (`POLICIES`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from api.reservations.rules import ListingNotBookableError
from schemas.listings import CancellationPolicy, Listing
from schemas.payments import PriceBreakdown

_CENT = Decimal(1)


def amount(listing: Listing, quantity: Decimal, start: datetime, end: datetime) -> int:
    """The amount of a booking in cents; 409 for a price that cannot be paid online."""
    if listing.price_cents is None or listing.currency is None:
        raise ListingNotBookableError(
            f"a {listing.price_kind} price is agreed between the members, not paid online; "
            "ask the provider to set a fixed, per unit or per day price"
        )
    price = Decimal(listing.price_cents)
    if listing.price_kind == "per_unit":
        price *= quantity
    elif listing.price_kind == "per_day":
        price *= quantity * math.ceil((end - start) / timedelta(days=1))
    cents = int(price.quantize(_CENT, rounding=ROUND_HALF_UP))
    if cents <= 0:
        raise ListingNotBookableError("this booking would cost nothing; a free service is published as free")
    return cents


def transfer_amount(price_kind: str, unit_price_cents: int, quantity: Decimal) -> int:
    """The amount of a transfer in cents: the price once (`fixed`) or x the quantity (`per_unit`)."""
    price = Decimal(unit_price_cents)
    if price_kind == "per_unit":
        price *= quantity
    return int(price.quantize(_CENT, rounding=ROUND_HALF_UP))


@dataclass(frozen=True, slots=True)
class TransferTerms:
    """A priced offer's terms, copied onto a transfer when it is requested."""

    price_kind: str
    """`fixed` (the price once) or `per_unit` (x the quantity)."""
    unit_price_cents: int
    currency: str
    basis_points: int
    """The network's fee rate for the giver, as it was at request."""
    fixed_cents: int

    def price(self, quantity: Decimal) -> PriceBreakdown:
        """The breakdown for `quantity` (asked, then agreed)."""
        cents = transfer_amount(self.price_kind, self.unit_price_cents, quantity)
        return breakdown(cents, self.currency, self.basis_points, self.fixed_cents)


def breakdown(amount_cents: int, currency: str, basis_points: int, fixed_cents: int) -> PriceBreakdown:
    """Split `amount_cents` into the network's fee and the provider's share."""
    share = (Decimal(amount_cents) * basis_points / 10_000).quantize(_CENT, rounding=ROUND_HALF_UP)
    fee = min(amount_cents, int(share) + fixed_cents)
    return PriceBreakdown(
        amount_cents=amount_cents, fee_cents=fee, provider_share_cents=amount_cents - fee, currency=currency
    )


@dataclass(frozen=True, slots=True)
class Policy:
    notice: timedelta
    """How long before the start a requester's cancellation counts as early."""
    share_before: int
    """Percent of the amount refunded when cancelled at least `notice` before the start."""
    share_after: int
    """Percent refunded when cancelled later (a reservation cannot be cancelled once started)."""


POLICIES: dict[CancellationPolicy, Policy] = {
    "flexible": Policy(timedelta(hours=24), 100, 50),
    "moderate": Policy(timedelta(days=5), 100, 50),
    "strict": Policy(timedelta(days=7), 50, 0),
}


def refund_cents(
    amount_cents: int, policy: CancellationPolicy, by: str, start: datetime, now: datetime
) -> int:
    """What a cancellation of a paid booking refunds: everything when the provider or an operator
    cancels; the policy's share (rounded half up) when the requester does."""
    if by != "requester":
        return amount_cents
    terms = POLICIES[policy]
    share = terms.share_before if start - now >= terms.notice else terms.share_after
    return int((Decimal(amount_cents) * share / 100).quantize(_CENT, rounding=ROUND_HALF_UP))
