"""HTTP routes for the catalogue's reference data: categories, units, waste codes.

All public: anonymous callers are only rate-limited (429).
"""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, QueryParameter

from api.categories import service
from api.db.pool import Connection
from api.errors import NotFoundError, RequestValidationError, TooManyRequestsError
from api.http import AcceptLanguage, LimitQuery, preferred_language
from api.openapi import problem_responses
from schemas.categories import Category, Unit, WasteCode
from schemas.pagination import Page

# Query constraints go through Litestar's parameter markers: Litestar does not apply a msgspec
# `Meta` to a query string.
ChapterQuery = Annotated[
    str | None,
    QueryParameter(pattern=r"^[0-9]{2}$", description="A chapter of the catalogue, `01` to `20`."),
]
SearchQuery = Annotated[
    str | None,
    QueryParameter(
        min_length=1,
        max_length=100,
        description="Words of the description (English or French), or the start of a code.",
    ),
]


CONTENT_LANGUAGE = [
    ResponseHeader(
        name="Content-Language",
        value="fr",
        description="The language of the labels: `fr` or `en`.",
        documentation_only=True,
    )
]


def _language_headers(language: str) -> dict[str, str]:
    """The body's language, and a note to caches that it depends on `Accept-Language`."""
    return {"Content-Language": language, "Vary": "Accept-Language"}


class CategoryController(Controller):
    path = "/v1/categories"
    tags = ("catalogue",)

    @get(
        "/",
        operation_id="listCategories",
        summary="The category tree",
        response_headers=CONTENT_LANGUAGE,
        responses=problem_responses(TooManyRequestsError),
    )
    async def list_categories(
        self, conn: NamedDependency[Connection], accept_language: AcceptLanguage = None
    ) -> Response[list[Category]]:
        """Every category as a tree (`children`), labelled in French or English after
        `Accept-Language` (`Content-Language` says which), with units, waste codes and impact factors."""
        language = preferred_language(accept_language)
        tree = await service.category_tree(conn, language)
        return Response(tree, headers=_language_headers(language))

    @get(
        "/{category_id:str}",
        operation_id="getCategory",
        summary="Get a category",
        response_headers=CONTENT_LANGUAGE,
        responses=problem_responses(NotFoundError, TooManyRequestsError),
    )
    async def get_category(
        self,
        conn: NamedDependency[Connection],
        category_id: FromPath[str],
        accept_language: AcceptLanguage = None,
    ) -> Response[Category]:
        """One category (its id is a dotted path such as `wood.pallets`) with its sub-categories."""
        language = preferred_language(accept_language)
        category = await service.get_category(conn, category_id, language)
        return Response(category, headers=_language_headers(language))


class UnitController(Controller):
    path = "/v1/units"
    tags = ("catalogue",)

    @get(
        "/",
        operation_id="listUnits",
        summary="List units",
        response_headers=CONTENT_LANGUAGE,
        responses=problem_responses(TooManyRequestsError),
    )
    async def list_units(
        self, conn: NamedDependency[Connection], accept_language: AcceptLanguage = None
    ) -> Response[list[Unit]]:
        """The units quantities and capacities are given in, labelled after `Accept-Language`;
        masses carry their `kg_factor`."""
        language = preferred_language(accept_language)
        units = await service.list_units(conn, language)
        return Response(units, headers=_language_headers(language))


class WasteCodeController(Controller):
    path = "/v1/waste-codes"
    tags = ("catalogue",)

    @get(
        "/",
        operation_id="listWasteCodes",
        summary="List European Waste Catalogue codes",
        responses=problem_responses(RequestValidationError, TooManyRequestsError),
    )
    async def list_waste_codes(
        self,
        conn: NamedDependency[Connection],
        chapter: ChapterQuery = None,
        hazardous: FromQuery[bool | None] = None,
        q: SearchQuery = None,
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[WasteCode]:
        """The European Waste Catalogue (Decision 2000/532/EC as amended by 2014/955/EU), by code.
        Filter by `chapter` (two digits), `hazardous` (the codes marked `*`), and `q`: words of the
        description or the start of a code (`15 01` or `1501`)."""
        return await service.list_waste_codes(
            conn, chapter=chapter, hazardous=hazardous, text=q, cursor=cursor, limit=limit
        )
