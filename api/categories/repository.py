"""SQL for the catalogue's reference data: categories, units, waste codes."""

from __future__ import annotations

import msgspec

from api.db.pool import Connection
from schemas.categories import Category, Unit, WasteCode

# $1 is the caller's language, 'fr' or 'en'.
_CATEGORY_COLUMNS = """id, parent_id, CASE WHEN $1 = 'en' THEN label_en ELSE label_fr END AS label, nature,
    default_unit, allowed_units, ewc_codes, kg_per_unit, co2e_kg_per_kg::float8 AS co2e_kg_per_kg,
    factor_source"""


async def list_categories(conn: Connection, language: str) -> list[Category]:
    """Every category, flat, siblings in their display order."""
    rows = await conn.fetch(
        f"SELECT {_CATEGORY_COLUMNS} FROM categories ORDER BY parent_id NULLS FIRST, position, id", language
    )
    return [msgspec.convert(dict(r), Category) for r in rows]


async def list_subtree(conn: Connection, category_id: str, language: str) -> list[Category]:
    """One category and everything under it, flat; empty when there is no such category."""
    rows = await conn.fetch(
        f"""SELECT {_CATEGORY_COLUMNS} FROM categories
            WHERE id = $2 OR starts_with(id, $2 || '.')
            ORDER BY parent_id NULLS FIRST, position, id""",
        language,
        category_id,
    )
    return [msgspec.convert(dict(r), Category) for r in rows]


async def list_units(conn: Connection, language: str) -> list[Unit]:
    rows = await conn.fetch(
        """SELECT code, CASE WHEN $1 = 'en' THEN label_en ELSE label_fr END AS label, dimension,
                  kg_factor::float8 AS kg_factor
           FROM units ORDER BY dimension, kg_factor NULLS LAST, code""",
        language,
    )
    return [msgspec.convert(dict(r), Unit) for r in rows]


async def list_waste_codes(
    conn: Connection,
    *,
    chapter: str | None,
    hazardous: bool | None,
    text: str | None,
    after_code: str | None,
    limit: int,
) -> list[WasteCode]:
    """Waste codes by code; `text` matches either description (case-insensitive) or a code prefix."""
    rows = await conn.fetch(
        """SELECT code, chapter, hazardous, description_en, description_fr FROM waste_codes
           WHERE ($1::text IS NULL OR chapter = $1)
             AND ($2::boolean IS NULL OR hazardous = $2)
             AND ($3::text IS NULL
                  OR strpos(lower(description_en), lower($3)) > 0
                  OR strpos(lower(coalesce(description_fr, '')), lower($3)) > 0
                  OR starts_with(replace(code, ' ', ''), replace($3, ' ', '')))
             AND ($4::text IS NULL OR code > $4)
           ORDER BY code LIMIT $5""",
        chapter,
        hazardous,
        text,
        after_code,
        limit,
    )
    return [msgspec.convert(dict(r), WasteCode) for r in rows]
