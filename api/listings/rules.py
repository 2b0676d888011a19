"""The rules a listing's fields must satisfy, shared by the API and the CSV import.

Checks run on the listing as it would be stored (after defaults and changes), against reference
data loaded beforehand in one go, so importing 10 000 rows costs a handful of queries.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

import msgspec

from schemas.listings import (
    CancellationPolicy,
    CapacityPeriod,
    Condition,
    Direction,
    Nature,
    PriceKind,
    Visibility,
)

MAX_AMOUNT = Decimal("99999999999.999")


@dataclass(frozen=True, slots=True)
class CategoryRef:
    id: str
    nature: Nature
    allowed_units: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class References:
    categories: dict[str, CategoryRef] = field(default_factory=dict)
    waste_codes: dict[str, bool] = field(default_factory=dict)
    """Code ('15 01 03') → hazardous."""
    zones: set[uuid.UUID] = field(default_factory=set)
    """Zones of the listing's network."""


class Draft(msgspec.Struct, kw_only=True):
    """A listing's stored fields, before it has an id."""

    organisation_id: uuid.UUID
    network_id: uuid.UUID
    zone_id: uuid.UUID | None
    direction: Direction
    category_id: str
    nature: Nature = "material"
    title: str
    description: str
    unit: str
    quantity: Decimal | None
    available_quantity: Decimal | None = None
    capacity: Decimal | None
    capacity_period: CapacityPeriod | None
    price_kind: PriceKind
    price_cents: int | None
    currency: str | None
    condition: Condition | None
    waste_code: str | None
    hazardous: bool = False
    latitude: float
    longitude: float
    available_from: datetime | None
    available_until: datetime | None
    photos: list[str]
    visibility: Visibility
    response_time_hours: int = 48
    min_reservation_hours: int = 1
    max_reservation_hours: int = 8784
    cancellation_policy: CancellationPolicy = "flexible"


FieldErrors = list[dict[str, str]]
Report = Callable[[str, str], None]


def normalise_waste_code(code: str) -> str:
    """'150103', '15 01 03' and '15 01 03*' all mean the same code."""
    digits = code.replace(" ", "").rstrip("*")
    return f"{digits[0:2]} {digits[2:4]} {digits[4:6]}"


def check(draft: Draft, refs: References, *, prefix: str = "body") -> tuple[Draft, FieldErrors]:
    """Return the draft with derived fields set (nature, hazardous) and every field error found."""
    errors: FieldErrors = []

    def error(name: str, message: str) -> None:
        errors.append({"path": f"{prefix}.{name}", "message": message, "source": "body"})

    category = refs.categories.get(draft.category_id)
    if category is None:
        error("category_id", f"unknown category {draft.category_id!r}; see GET /v1/categories")
        return draft, errors
    draft = msgspec.structs.replace(draft, nature=category.nature)
    if draft.unit not in category.allowed_units:
        error(
            "unit",
            f"unit {draft.unit!r} does not fit this category; use one of {', '.join(category.allowed_units)}",
        )
    _check_amounts(draft, error)
    _check_price(draft, error)
    if draft.price_kind == "free":
        draft = msgspec.structs.replace(draft, price_cents=None, currency=None)
    if draft.waste_code is not None:
        code = normalise_waste_code(draft.waste_code)
        if code not in refs.waste_codes:
            error("waste_code", f"{draft.waste_code!r} is not in the European Waste Catalogue")
        else:
            draft = msgspec.structs.replace(draft, waste_code=code, hazardous=refs.waste_codes[code])
    if draft.available_from and draft.available_until and draft.available_until <= draft.available_from:
        error("available_until", "must be later than available_from")
    for name in ("available_from", "available_until"):
        value = getattr(draft, name)
        if value is not None and value.tzinfo is None:
            error(name, "give a time zone, e.g. 2026-12-01T08:00:00Z")
    if draft.min_reservation_hours > draft.max_reservation_hours:
        error("max_reservation_hours", "must be at least min_reservation_hours")
    if draft.zone_id is not None and draft.zone_id not in refs.zones:
        error("zone_id", "not a zone of this network")
    return draft, errors


def _check_amounts(draft: Draft, report: Report) -> None:
    if draft.nature == "service":
        if draft.capacity is None:
            report("capacity", "a service needs a capacity (how much per period)")
        if draft.quantity is not None:
            report("quantity", "services have a capacity, not a quantity")
    else:
        if draft.quantity is None:
            report("quantity", "a resource needs a quantity")
        if draft.capacity is not None or draft.capacity_period is not None:
            report("capacity", "resources have a quantity, not a capacity")
    for name in ("quantity", "capacity"):
        value = getattr(draft, name)
        if value is None:
            continue
        if not value.is_finite() or value <= 0:
            report(name, "must be a positive number")
        elif value > MAX_AMOUNT or int(value.as_tuple().exponent) < -3:
            report(name, "at most 3 decimals and 11 digits before the point")


def _check_price(draft: Draft, report: Report) -> None:
    if draft.price_kind == "free":
        if draft.price_cents not in (None, 0):
            report("price_cents", "a free listing has no price")
    elif draft.price_kind != "negotiable" and draft.price_cents is None:
        report("price_cents", f"a {draft.price_kind} price needs price_cents")
    if (draft.price_cents is None) != (draft.currency is None) and draft.price_kind != "free":
        report("currency", "give currency together with price_cents")
