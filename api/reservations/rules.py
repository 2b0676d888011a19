"""The checks a reservation must pass before it is written, and the problems they raise."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from api.errors import ConflictError, RequestValidationError
from schemas.listings import Listing

QUANTUM = Decimal("0.001")


class InsufficientCapacityError(ConflictError):
    slug, title_text = "insufficient-capacity", "Not enough capacity is free over this period"


class ListingNotBookableError(ConflictError):
    slug, title_text = "listing-not-bookable", "This listing cannot be booked"


class PaymentsNotConfiguredError(ConflictError):
    slug, title_text = "payments-not-configured", "Payments are not configured on this service"


def payable(listing: Listing, payments_configured: bool) -> None:
    """409 at request for a priced service while this service takes no payments: once accepted it
    would wait for a payment that cannot be made."""
    if listing.price_kind != "free" and not payments_configured:
        raise PaymentsNotConfiguredError(
            f"this service is priced ({listing.price_kind}) and this server takes no payments "
            "(STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET are not set); book a free service"
        )


def invalid(path: str, message: str, source: str = "body") -> RequestValidationError:
    return RequestValidationError(
        f"{path}: {message}", extra={"errors": [{"path": path, "message": message, "source": source}]}
    )


def short(value: Decimal) -> str:
    return format(value.normalize(), "f")


def capacity_error(listing: Listing, free: Decimal) -> InsufficientCapacityError:
    free = max(free, Decimal(0)).quantize(QUANTUM)
    return InsufficientCapacityError(
        f"only {short(free)} {listing.unit} of {short(listing.capacity or Decimal(0))} are free at some "
        "point of this period; see GET /v1/listings/{id}/availability",
        extra={"free_capacity": str(free), "capacity": str(listing.capacity)},
    )


def bookable(listing: Listing, requester_id: uuid.UUID) -> Decimal:
    """The listing's capacity, or 409 when it is not a published offer of a service of another member."""
    if listing.organisation_id == requester_id:
        raise ListingNotBookableError("an organisation does not book its own service")
    if listing.nature != "service" or listing.direction != "offer" or listing.capacity is None:
        raise ListingNotBookableError("only offers of services are booked; resources are transferred")
    if listing.status != "published":
        raise ListingNotBookableError(f"the listing is {listing.status}; only published ones are booked")
    return listing.capacity


def period(listing: Listing, start: datetime, end: datetime, now: datetime) -> tuple[datetime, datetime]:
    """The period in UTC, after its checks: ordered, in the future, in the window, of an allowed length."""
    if end <= start:
        raise invalid("body.end", "must be later than start (the period is [start, end))")
    if start <= now:
        raise invalid("body.start", "must be in the future")
    if listing.available_from is not None and start < listing.available_from:
        raise invalid("body.start", f"the service is available from {listing.available_from.isoformat()}")
    if listing.available_until is not None and end > listing.available_until:
        raise invalid("body.end", f"the service is available until {listing.available_until.isoformat()}")
    hours = (end - start) / timedelta(hours=1)
    if hours < listing.min_reservation_hours:
        raise invalid("body.end", f"a reservation lasts at least {listing.min_reservation_hours} hours")
    if hours > listing.max_reservation_hours:
        raise invalid("body.end", f"a reservation lasts at most {listing.max_reservation_hours} hours")
    return start.astimezone(UTC), end.astimezone(UTC)


def quantity(value: Decimal, capacity: Decimal, unit: str) -> Decimal:
    """The capacity asked, positive, at most the listing's, in thousandths at most."""
    if not value.is_finite() or value <= 0:
        raise invalid("body.quantity", "must be greater than 0")
    if value > capacity:  # first: quantizing a huge number would overflow the decimal context
        raise invalid("body.quantity", f"at most the listing's capacity, {short(capacity)} {unit}")
    if value != value.quantize(QUANTUM):
        raise invalid("body.quantity", "at most 3 decimals")
    return value


def deadline(listing: Listing, now: datetime, start: datetime) -> datetime:
    """When an unanswered request, or an unconfirmed acceptance, expires: after the listing's
    response time, and at the latest when the period starts."""
    return min(now + timedelta(hours=listing.response_time_hours), start)
