"""Catalogue search: the one contract every search backend answers (Meilisearch's vocabulary)."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from schemas.base import Input, Schema
from schemas.listings import CategoryId, Condition, Direction, Nature, PriceKind, Visibility
from schemas.types import LONG_TEXT_PATTERN, Day, Measured

FacetName = Literal[
    "direction",
    "nature",
    "category",
    "network",
    "zone",
    "organisation",
    "condition",
    "price",
    "ess",
    "hazardous",
]
SortName = Literal["relevance", "distance", "newest", "quantity"]
PriceFilter = Literal["free", "paid"]

MAX_HITS_PER_PAGE = 100
MAX_PAGE = 1000
MAX_RADIUS_KM = 1000.0
MAX_QUERY_LENGTH = 512
# `total_hits` is exact up to this many matches; beyond, it is this bound (`total_hits_exact` false).
TOTAL_HITS_BOUND = 10_000

Query = Annotated[
    str, msgspec.Meta(max_length=MAX_QUERY_LENGTH, pattern=LONG_TEXT_PATTERN, examples=["palettes"])
]
Near = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^\s*-?[0-9]+(\.[0-9]+)?\s*,\s*-?[0-9]+(\.[0-9]+)?\s*(?![\s\S])",
        description="A point as `lat,lon` in decimal degrees",
        examples=["45.7266,4.8167"],
    ),
]
RadiusKm = Annotated[float, msgspec.Meta(gt=0, le=MAX_RADIUS_KM, examples=[10.0])]
Page = Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE)]
HitsPerPage = Annotated[int, msgspec.Meta(ge=1, le=MAX_HITS_PER_PAGE)]
AtLeast = Measured
"""A decimal, 0 or more, in the listing's unit."""


class SearchRequest(Input):
    """A search, as the body of `POST /v1/search/listings` or the query of its `GET` twin.

    Values of one filter combine with OR, filters with AND.
    """

    q: Query = ""
    direction: list[Direction] = msgspec.field(default_factory=list)
    nature: list[Nature] = msgspec.field(default_factory=list)
    category: list[CategoryId] = msgspec.field(default_factory=list)
    """A category matches its sub-categories too."""
    network: list[uuid.UUID] = msgspec.field(default_factory=list)
    zone: list[uuid.UUID] = msgspec.field(default_factory=list)
    organisation: list[uuid.UUID] = msgspec.field(default_factory=list)
    condition: list[Condition] = msgspec.field(default_factory=list)
    price: list[PriceFilter] = msgspec.field(default_factory=list)
    ess: bool | None = None
    """Only listings of social and solidarity economy (ESS) providers, or only of others."""
    hazardous: bool | None = None
    available_on: Day | None = None
    """Listings available on this day (UTC): within their availability window."""
    quantity_at_least: AtLeast | None = None
    """Resources whose available quantity, or services whose capacity, is at least this."""
    near: Near | None = None
    radius_km: RadiusKm | None = None
    """Only with `near`: hits within this distance. Without it, `near` only sorts and measures."""
    sort: SortName = "relevance"
    facets: list[FacetName] = msgspec.field(default_factory=list)
    page: Page = 1
    hits_per_page: HitsPerPage = 20


class SearchHit(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    organisation_name: str
    network_id: uuid.UUID
    zone_id: uuid.UUID | None
    direction: Direction
    nature: Nature
    category_id: str
    title: str
    description: str
    unit: str
    quantity: Decimal | None
    available_quantity: Decimal | None
    capacity: Decimal | None
    price_kind: PriceKind
    price_cents: int | None
    currency: str | None
    condition: Condition | None
    waste_code: str | None
    hazardous: bool
    ess: bool
    visibility: Visibility
    latitude: float
    longitude: float
    available_from: datetime | None
    available_until: datetime | None
    published_at: datetime | None
    distance_km: float | None = None
    """Set when the search had `near`: kilometres from that point, great-circle."""
    highlights: dict[str, str] = msgspec.field(default_factory=dict)
    """`title` and `description` with matched words wrapped in `<mark>` and `</mark>`."""


class SearchResult(Schema):
    hits: list[SearchHit]
    facet_distribution: dict[str, dict[str, int]]
    """For each requested facet, its values with their counts. Counts are disjunctive: a facet's
    counts ignore that facet's own filter, and apply every other one."""
    total_hits: int
    total_hits_exact: bool
    """False when more than the bound matched: `total_hits` is then the bound."""
    page: int
    hits_per_page: int
    total_pages: int
    processing_time_ms: int
    backend: Literal["postgres", "meilisearch"]
