"""The catalogue's reference data: the category tree, units and European Waste Catalogue codes."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

from schemas.base import Schema

Nature = Literal["material", "energy", "service"]
Dimension = Literal["mass", "volume", "area", "count", "energy", "power", "time", "length"]

CategoryId = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*(?![\s\S])",
        max_length=200,
        description="A dotted path: a sub-category's id starts with its parent's id and a dot.",
        examples=["wood.pallets"],
    ),
]
WasteCodeValue = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{2} [0-9]{2} [0-9]{2}(?![\s\S])",
        description="A six-digit European Waste Catalogue code, written in pairs.",
        examples=["15 01 03"],
    ),
]
Chapter = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{2}(?![\s\S])",
        description="A European Waste Catalogue chapter, 01 to 20.",
        examples=["15"],
    ),
]


class Category(Schema):
    """A node of the category tree, labelled in the caller's language, with its sub-categories."""

    id: CategoryId
    label: str
    nature: Nature
    default_unit: str
    """The unit a listing of this category starts with."""
    allowed_units: list[str]
    parent_id: str | None = None
    ewc_codes: list[WasteCodeValue] = msgspec.field(default_factory=list)
    """European Waste Catalogue codes that usually describe this category when it is a waste."""
    kg_per_unit: dict[str, float] = msgspec.field(default_factory=dict)
    """kg in one of the allowed units that are not masses, e.g. `{"pallet": 25}`."""
    co2e_kg_per_kg: float | None = None
    """kg CO2e avoided per kg reused rather than made new; absent for energy and services."""
    factor_source: str | None = None
    """The public source of `co2e_kg_per_kg`."""
    children: list[Category] = msgspec.field(default_factory=list)


class Unit(Schema):
    code: str
    label: str
    dimension: Dimension
    kg_factor: float | None = None
    """kg in one unit, for masses only; other units convert through a category's `kg_per_unit`."""


class WasteCode(Schema):
    code: WasteCodeValue
    chapter: Chapter
    hazardous: bool
    """Marked with an asterisk in the official list: hazardous waste."""
    description_en: str
    description_fr: str | None = None
    """The French wording, where the catalogue carries it."""
