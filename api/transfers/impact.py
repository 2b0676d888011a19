"""The impact of one completed transfer: pure Decimal arithmetic, no database.

mass_kg          = quantity kept by the taker, converted to kg (`to_kg`, via the category)
co2e_avoided_kg  = mass_kg * the category's `co2e_kg_per_kg` (kg CO2e avoided per kg reused)
trips_saved      = the lorry trips to a landfill or treatment site the members say it replaced
km_saved         = trips_saved * the length of one such trip (`replaced_site_km`); one trip when
                   only the distance is given
Every figure is rounded half-up to the precision it is stored with, so what is returned, what is
stored and what a test computes by hand are the same numbers. A figure too large for its column
(`numeric(16, 3)` for masses, `numeric(12, 2)` for kilometres) is refused with a 422 naming it,
before PostgreSQL would overflow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from api.categories.units import KG_PER_MASS_UNIT, to_kg
from api.errors import RequestValidationError

GRAMS = Decimal("0.001")
CENTS = Decimal("0.01")


@dataclass(frozen=True, slots=True)
class CategoryFactors:
    """What a category says at the time of completion (a row of `categories`)."""

    kg_per_unit: Mapping[str, float | int | Decimal]
    co2e_kg_per_kg: Decimal | None
    factor_source: str | None


@dataclass(frozen=True, slots=True)
class Figures:
    quantity: Decimal
    unit: str
    kg_per_unit: Decimal | None
    mass_kg: Decimal | None
    co2e_kg_per_kg: Decimal | None
    factor_source: str | None
    co2e_avoided_kg: Decimal | None
    km_saved: Decimal | None
    trips_saved: int | None


# The largest value each stored figure's column holds.
MAX_KG = Decimal("9999999999999.999")
MAX_KM = Decimal("9999999999.99")


def _round(value: Decimal, step: Decimal) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_UP)


def _bounded(value: Decimal | None, maximum: Decimal, name: str) -> Decimal | None:
    if value is not None and abs(value) > maximum:
        path = f"impact.{name}"
        message = f"the impact's {name} would be {value:.3E}, more than the {maximum} it can record"
        raise RequestValidationError(
            f"{path}: {message}", extra={"errors": [{"path": path, "message": message, "source": "body"}]}
        )
    return value


def compute(
    quantity: Decimal,
    unit: str,
    category: CategoryFactors,
    *,
    replaced_site_km: Decimal | None = None,
    replaced_trips: int | None = None,
) -> Figures:
    """The figures of a transfer that left `quantity` of `unit` with the taker."""
    mass = _bounded(to_kg(quantity, unit, category), MAX_KG, "mass_kg")
    per_unit = KG_PER_MASS_UNIT.get(unit)
    if per_unit is None and unit in category.kg_per_unit:
        per_unit = Decimal(str(category.kg_per_unit[unit]))
    co2e = None
    if mass is not None and category.co2e_kg_per_kg is not None:
        co2e = _bounded(mass * category.co2e_kg_per_kg, MAX_KG, "co2e_avoided_kg")
        co2e = None if co2e is None else _round(co2e, GRAMS)
    trips = replaced_trips
    if trips is None and replaced_site_km is not None:
        trips = 1
    km = None if replaced_site_km is None or trips is None else _round(replaced_site_km * trips, CENTS)
    _bounded(km, MAX_KM, "km_saved")
    return Figures(
        quantity=quantity,
        unit=unit,
        kg_per_unit=per_unit,
        mass_kg=None if mass is None else _round(mass, GRAMS),
        co2e_kg_per_kg=category.co2e_kg_per_kg,
        factor_source=category.factor_source,
        co2e_avoided_kg=co2e,
        km_saved=km,
        trips_saved=trips,
    )
