"""Rules for the catalogue's reference data: the category tree, units and waste codes."""

from __future__ import annotations

from api.categories import repository
from api.db.pool import Connection
from api.errors import NotFoundError, RequestValidationError
from api.http import decode_cursor, encode_cursor
from schemas.categories import Category, Unit, WasteCode
from schemas.pagination import Page


def build_tree(nodes: list[Category]) -> list[Category]:
    """Nest flat categories under their parents; the roots come back, each sibling list in order.

    `nodes` must list parents before children (the repository orders roots first, then by parent).
    A node whose parent is not among `nodes` is a root of the result, so a subtree nests too.
    """
    by_id = {node.id: node for node in nodes}
    roots: list[Category] = []
    for node in nodes:
        parent = by_id.get(node.parent_id) if node.parent_id is not None else None
        (parent.children if parent is not None else roots).append(node)
    return roots


async def category_tree(conn: Connection, language: str) -> list[Category]:
    """The whole category tree, public, labelled in `language`."""
    return build_tree(await repository.list_categories(conn, language))


async def get_category(conn: Connection, category_id: str, language: str) -> Category:
    """One category with everything under it."""
    roots = build_tree(await repository.list_subtree(conn, category_id, language))
    if not roots or roots[0].id != category_id:
        raise NotFoundError(f"no category {category_id!r}; GET /v1/categories lists them")
    return roots[0]


async def list_units(conn: Connection, language: str) -> list[Unit]:
    return await repository.list_units(conn, language)


async def list_waste_codes(
    conn: Connection,
    *,
    chapter: str | None,
    hazardous: bool | None,
    text: str | None,
    cursor: str | None,
    limit: int,
) -> Page[WasteCode]:
    """The European Waste Catalogue, filtered, ordered by code."""
    after = decode_cursor(cursor, 1)[0] if cursor else None
    if after is not None and not isinstance(after, str):
        raise RequestValidationError(
            "cursor is not valid; pass back the next_cursor of a previous page",
            extra={"errors": [{"path": "query.cursor", "message": "invalid cursor", "source": "query"}]},
        )
    rows = await repository.list_waste_codes(
        conn, chapter=chapter, hazardous=hazardous, text=text, after_code=after, limit=limit + 1
    )
    next_cursor = encode_cursor(rows[limit - 1].code) if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)
