"""The stable public event types, derived from the lifecycle tables by the rule of migration 0013."""

from __future__ import annotations

from typing import Final

from api.lifecycle import Lifecycle
from api.listings.lifecycle import LISTING
from api.memberships.lifecycle import MEMBERSHIP
from api.reservations.lifecycle import RESERVATION
from api.synergies.lifecycle import SYNERGY
from api.transfers.lifecycle import TRANSFER

ENDPOINT_DISABLED: Final = "endpoint.disabled"
"""Sent to a webhook endpoint's owner when deliveries to it have failed for too long."""

PAYMENT_EVENT_TYPES: Final = (
    "payment.created",
    "payment.failed",
    "payment.succeeded",
    "payment.canceled",
    "payment.refunded",
    "payment.disputed",
    "payment.dispute_won",
    "payment.dispute_lost",
)
"""What changed in a stored PaymentIntent: the SQL function `payment_event_types` names them."""


def event_type(resource_type: str, from_status: str | None, to_status: str) -> str:
    """The public name of one step; the SQL function `event_type` says the same (a test checks)."""
    if resource_type == "listing" and from_status is None:
        word = "created"
    elif resource_type == "listing" and to_status == "draft":
        word = "unpublished"
    elif resource_type == "membership" and to_status == "pending":
        word = "requested"
    elif resource_type == "membership" and to_status == "active":
        word = "reinstated" if from_status == "suspended" else "approved"
    elif resource_type == "synergy" and to_status == "potential":
        word = "proposed"
    elif resource_type == "synergy" and to_status == "in_progress":
        word = "started"
    else:
        word = to_status
    return f"{resource_type}.{word}"


LIFECYCLES: Final[dict[str, Lifecycle[str]]] = {
    "listing": LISTING,  # type: ignore[dict-item]
    "transfer": TRANSFER,  # type: ignore[dict-item]
    "reservation": RESERVATION,  # type: ignore[dict-item]
    "membership": MEMBERSHIP,  # type: ignore[dict-item]
    "synergy": SYNERGY,  # type: ignore[dict-item]
}


# Steps a feature takes outside its table: creating a listing (a draft) is its create route.
OUTSIDE_TABLES: Final = (("listing", None, "draft"),)


def _all_types() -> tuple[str, ...]:
    found = [event_type(*step) for step in OUTSIDE_TABLES] + [
        event_type(resource_type, t.from_status, t.to_status)
        for resource_type, lifecycle in LIFECYCLES.items()
        for t in lifecycle.transitions
    ]
    return tuple(sorted({*found, *PAYMENT_EVENT_TYPES, ENDPOINT_DISABLED}))


EVENT_TYPES: Final = _all_types()
RESOURCE_TYPES: Final = (*LIFECYCLES, "payment", "webhook_endpoint")


def matches(pattern: str, type_: str) -> bool:
    """`pattern` is an exact type or a prefix ending in `.*` (`transfer.*`)."""
    if pattern.endswith(".*"):
        return type_.startswith(pattern[:-1])
    return pattern == type_


def known_pattern(pattern: str) -> bool:
    return any(matches(pattern, t) for t in EVENT_TYPES)
