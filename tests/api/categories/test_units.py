from __future__ import annotations

from decimal import Decimal

import msgspec

from api.categories.units import to_kg
from schemas.categories import Category

PALLETS = Category(
    id="wood.pallets",
    label="Wooden pallets",
    nature="material",
    default_unit="pallet",
    allowed_units=["pallet", "kg", "t"],
    kg_per_unit={"pallet": 25},
)
COOKING_OIL = msgspec.structs.replace(
    PALLETS, id="chemicals.cooking_oil", default_unit="l", allowed_units=["l", "kg"], kg_per_unit={"l": 0.92}
)
WASTE_HEAT = msgspec.structs.replace(
    PALLETS,
    id="energy.waste_heat",
    nature="energy",
    default_unit="mwh",
    allowed_units=["mwh"],
    kg_per_unit={},
)


def test_masses_convert_through_their_unit_whatever_the_category() -> None:
    assert to_kg(Decimal("2.5"), "t") == Decimal("2500")
    assert to_kg(Decimal("750"), "g", PALLETS) == Decimal("0.75")
    assert to_kg(Decimal("12"), "kg", WASTE_HEAT) == Decimal("12")


def test_other_units_convert_through_the_category() -> None:
    assert to_kg(Decimal("3"), "pallet", PALLETS) == Decimal("75")
    assert to_kg(Decimal("10"), "l", COOKING_OIL) == Decimal("9.20")


def test_a_unit_without_a_known_mass_is_none() -> None:
    assert to_kg(Decimal("3"), "pallet") is None
    assert to_kg(Decimal("3"), "piece", PALLETS) is None
    assert to_kg(Decimal("5"), "mwh", WASTE_HEAT) is None
    assert to_kg(Decimal("1"), "no-such-unit", PALLETS) is None
