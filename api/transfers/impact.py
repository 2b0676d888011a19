"""The impact of one completed transfer: pure Decimal arithmetic, no database.

mass_kg          = quantity kept by the taker, converted to kg (`to_kg`, via the category)
co2e_avoided_kg  = mass_kg * the category's `co2e_kg_per_kg` (kg CO2e avoided per kg reused)
trips_saved      = the lorry trips to a landfill or treatment site the members say it replaced
km_saved         = trips_saved * the length of one such trip (`replaced_site_km`); one trip when
                   only the distance is given
Every figure is rounded half-up to the precision it is stored with, so what is returned, what is
stored and what a test computes by hand are the same numbers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from api.categories.units import KG_PER_MASS_UNIT, to_kg

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


def _round(value: Decimal, step: Decimal) -> Decimal:
    return value.quantize(step, rounding=ROUND_HALF_UP)


def compute(
    quantity: Decimal,
    unit: str,
    category: CategoryFactors,
    *,
    replaced_site_km: Decimal | None = None,
    replaced_trips: int | None = None,
) -> Figures:
    """The figures of a transfer that left `quantity` of `unit` with the taker."""
    mass = to_kg(quantity, unit, category)
    per_unit = KG_PER_MASS_UNIT.get(unit)
    if per_unit is None and unit in category.kg_per_unit:
        per_unit = Decimal(str(category.kg_per_unit[unit]))
    co2e = None
    if mass is not None and category.co2e_kg_per_kg is not None:
        co2e = _round(mass * category.co2e_kg_per_kg, GRAMS)
    trips = replaced_trips
    if trips is None and replaced_site_km is not None:
        trips = 1
    km = None if replaced_site_km is None or trips is None else _round(replaced_site_km * trips, CENTS)
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
