"""Quantities to kilograms: masses through their unit, anything else through the category.

Pure functions, no database: listings and impact reports call them with a category they have
already read. The mass factors mirror the `units` rows of migration 0004 (a test keeps them equal).
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Protocol

KG_PER_MASS_UNIT: Mapping[str, Decimal] = {
    "g": Decimal("0.001"),
    "kg": Decimal("1"),
    "t": Decimal("1000"),
}


class Convertible(Protocol):
    """What `to_kg` needs of a category: kg in one of its non-mass units (a `Category` fits)."""

    @property
    def kg_per_unit(self) -> Mapping[str, float | int | Decimal]: ...


def to_kg(quantity: Decimal, unit: str, category: Convertible | None = None) -> Decimal | None:
    """`quantity` of `unit` in kg, or None when the unit does not convert for this category.

    A mass unit converts on its own (2.5 t is 2500 kg); any other unit needs the category's
    `kg_per_unit` (3 pallets of `wood.pallets`, 25 kg each, are 75 kg). Energy and services have
    no mass: a kWh or a day of guarding is None, never a guess.
    """
    factor = KG_PER_MASS_UNIT.get(unit)
    if factor is None and category is not None:
        per_unit = category.kg_per_unit.get(unit)
        # str() first: a float such as 0.92 read from JSON stays 0.92, not its binary expansion.
        factor = None if per_unit is None else Decimal(str(per_unit))
    if factor is None:
        return None
    return quantity * factor
