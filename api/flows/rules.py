"""What a valid flow is, checked against reference data loaded beforehand (one flow or a whole file)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from api.listings.rules import normalise_waste_code

FieldErrors = list[tuple[str, str]]


def check(
    values: dict[str, Any],
    units: Mapping[str, list[str]],
    waste_codes: set[str],
    *,
    prefix: str = "body",
    names: Mapping[str, str] | None = None,
) -> tuple[dict[str, Any], FieldErrors]:
    """`values` normalised (waste code written in pairs, months sorted once each) and the errors, each
    with its path (`prefix.field`, the field named as in `names` when the input calls it otherwise).

    `units` gives each known category's allowed units, `waste_codes` the known codes among those used."""

    def path(field: str) -> str:
        return f"{prefix}.{(names or {}).get(field, field)}"

    errors: FieldErrors = []
    allowed = units.get(values["category_id"])
    if allowed is None:
        errors.append((path("category_id"), f"{values['category_id']!r} is not a category"))
    elif values["unit"] not in allowed:
        errors.append((path("unit"), f"the category is counted in {', '.join(allowed)}"))
    if values["waste_code"] is not None:
        code = normalise_waste_code(values["waste_code"])
        if code not in waste_codes:
            errors.append(
                (path("waste_code"), f"{values['waste_code']!r} is not in the European Waste Catalogue")
            )
        values["waste_code"] = code
    if values["direction"] == "input" and values["destination"] is not None:
        errors.append((path("destination"), "only an output flow has a current destination"))
    if values["destination_cost_cents"] is not None and values["destination"] is None:
        errors.append((path("destination_cost_cents"), "give the destination it is the cost of"))
    values["months"] = sorted(set(values["months"]))
    return values, errors
