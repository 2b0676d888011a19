"""A search request checked and normalised, ready for any backend."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from api.errors import RequestValidationError
from schemas.listings import Condition, Direction, Nature
from schemas.search import FacetName, PriceFilter, SearchRequest, SortName


class InvalidSearchError(RequestValidationError):
    """A search parameter the schema lets through but the search refuses (`radius_km` without `near`).

    The same problem type as any other refused field (`validation-error`), whichever of `GET` (query)
    or `POST` (body) meets it, so a client handles one type."""


def invalid(parameter: str, message: str) -> InvalidSearchError:
    return InvalidSearchError(
        f"{parameter}: {message}",
        extra={"errors": [{"path": parameter, "message": message, "source": "query"}]},
    )


@dataclass(frozen=True, slots=True)
class Point:
    latitude: float
    longitude: float


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """What to find. Empty tuples mean "no filter on this field"."""

    text: str = ""
    direction: tuple[Direction, ...] = ()
    nature: tuple[Nature, ...] = ()
    category: tuple[str, ...] = ()
    network: tuple[uuid.UUID, ...] = ()
    zone: tuple[uuid.UUID, ...] = ()
    organisation: tuple[uuid.UUID, ...] = ()
    condition: tuple[Condition, ...] = ()
    price: tuple[PriceFilter, ...] = ()
    ess: bool | None = None
    hazardous: bool | None = None
    available_on: date | None = None
    quantity_at_least: Decimal | None = None
    near: Point | None = None
    radius_km: float | None = None
    sort: SortName = "relevance"
    facets: tuple[FacetName, ...] = ()
    page: int = 1
    hits_per_page: int = 20

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.hits_per_page


@dataclass(frozen=True, slots=True)
class Viewer:
    """Whose eyes the search looks through. Visibility is enforced by the backend from this alone.

    Anonymous callers (`networks` empty) see the published, public listings of active members;
    a caller also sees every published listing (of active members) of `networks`: the networks
    its acting organisation is an active member of, and those the user operates.
    """

    networks: frozenset[uuid.UUID] = frozenset()


def parse_point(raw: str) -> Point:
    latitude_text, _, longitude_text = raw.partition(",")
    try:
        latitude, longitude = float(latitude_text), float(longitude_text)
    except ValueError:
        raise invalid("near", "must be `lat,lon` in decimal degrees") from None
    if not -90 <= latitude <= 90:
        raise invalid("near", "latitude must be between -90 and 90")
    if not -180 <= longitude <= 180:
        raise invalid("near", "longitude must be between -180 and 180")
    return Point(latitude, longitude)


def to_query(request: SearchRequest) -> SearchQuery:
    """Check what the schema cannot say alone, and normalise (dedupe, trim) the rest."""
    near = parse_point(request.near) if request.near is not None else None
    if request.radius_km is not None and near is None:
        raise invalid("radius_km", "needs `near`")
    if request.sort == "distance" and near is None:
        raise invalid("sort", "sorting by distance needs `near`")
    if request.quantity_at_least is not None and request.quantity_at_least <= 0:
        raise invalid("quantity_at_least", "must be greater than 0")
    return SearchQuery(
        text=" ".join(request.q.split()),
        direction=tuple(dict.fromkeys(request.direction)),
        nature=tuple(dict.fromkeys(request.nature)),
        category=tuple(dict.fromkeys(request.category)),
        network=tuple(dict.fromkeys(request.network)),
        zone=tuple(dict.fromkeys(request.zone)),
        organisation=tuple(dict.fromkeys(request.organisation)),
        condition=tuple(dict.fromkeys(request.condition)),
        price=tuple(dict.fromkeys(request.price)),
        ess=request.ess,
        hazardous=request.hazardous,
        available_on=request.available_on,
        quantity_at_least=request.quantity_at_least,
        near=near,
        radius_km=request.radius_km,
        sort=request.sort,
        facets=tuple(dict.fromkeys(request.facets)),
        page=request.page,
        hits_per_page=request.hits_per_page,
    )
