"""HTTP routes for catalogue search: `GET` with query parameters, `POST` with the same fields as JSON.

Public: anonymous callers see public listings only (and are rate-limited); a token with
`X-Organisation-ID` adds the listings of that organisation's networks.
"""

from __future__ import annotations

import uuid
from typing import Any

from litestar import Controller, Request, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromQuery, JSONBody

from api.errors import ForbiddenError, RequestValidationError, TooManyRequestsError, UnauthorizedError
from api.openapi import problem_responses
from api.search import service
from schemas.listings import Condition, Direction, Nature
from schemas.search import FacetName, PriceFilter, SearchRequest, SearchResult, SortName
from schemas.types import Day, Measured
from search.query import Viewer, invalid

PARAMETERS = frozenset(SearchRequest.__struct_fields__)
ERRORS = problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError, TooManyRequestsError)


class SearchController(Controller):
    path = "/v1/search"
    tags = ("search",)

    @get("/listings", operation_id="searchListings", summary="Search listings", responses=ERRORS)
    async def search_listings(
        self,
        request: Request[Any, Any, State],
        viewer: NamedDependency[Viewer],
        state: State,
        q: FromQuery[str] = "",
        direction: FromQuery[list[Direction] | None] = None,
        nature: FromQuery[list[Nature] | None] = None,
        category: FromQuery[list[str] | None] = None,
        network: FromQuery[list[uuid.UUID] | None] = None,
        zone: FromQuery[list[uuid.UUID] | None] = None,
        organisation: FromQuery[list[uuid.UUID] | None] = None,
        condition: FromQuery[list[Condition] | None] = None,
        price: FromQuery[list[PriceFilter] | None] = None,
        ess: FromQuery[bool | None] = None,
        hazardous: FromQuery[bool | None] = None,
        available_on: FromQuery[Day | None] = None,
        quantity_at_least: FromQuery[Measured | None] = None,
        near: FromQuery[str | None] = None,
        radius_km: FromQuery[float | None] = None,
        sort: FromQuery[SortName] = "relevance",
        facets: FromQuery[list[FacetName] | None] = None,
        page: FromQuery[int] = 1,
        hits_per_page: FromQuery[int] = 20,
    ) -> SearchResult:
        """Published listings matching `q` and the filters, with facet counts. Repeat a list parameter
        for several values (`?facets=category&facets=nature`): values of one filter combine with OR,
        filters with AND. A facet's counts leave out that facet's own filter (disjunctive), so they
        show the other choices. Text: French and English stems, accents folded, one typo in words of
        5 letters or more, the last word as a prefix. Unknown parameters are refused (422)."""
        unknown = sorted(set(request.query_params) - PARAMETERS)
        if unknown:
            raise invalid(f"query.{unknown[0]}", "is not a search parameter")
        given = {
            "q": q, "direction": direction, "nature": nature, "category": category, "network": network,
            "zone": zone, "organisation": organisation, "condition": condition, "price": price,
            "ess": ess, "hazardous": hazardous, "available_on": available_on,
            "quantity_at_least": quantity_at_least, "near": near, "radius_km": radius_km, "sort": sort,
            "facets": facets, "page": page, "hits_per_page": hits_per_page,
        }  # fmt: skip
        search = service.request_from({k: v for k, v in given.items() if v is not None})
        return await service.search(service.backend(state), viewer, search, "query")

    @post(
        "/listings",
        operation_id="searchListingsByBody",
        summary="Search listings (JSON body)",
        status_code=200,
        responses=ERRORS,
    )
    async def search_listings_by_body(
        self,
        viewer: NamedDependency[Viewer],
        state: State,
        data: JSONBody[SearchRequest],
    ) -> SearchResult:
        """The same search as `GET /v1/search/listings`, its fields in a JSON body: for long queries
        and many filter values. Reads only; nothing changes."""
        return await service.search(service.backend(state), viewer, data, "body")
