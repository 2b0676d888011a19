"""A `SearchQuery` and a `Viewer` as Meilisearch filter expressions.

Meilisearch takes a filter as an array: its items are ANDed, and an item that is itself an
array ORs its strings. Each facet's values become one `field IN [...]` (values of one facet
combine with OR), facets and the other conditions are separate items (AND), and the visibility
conditions are always items of their own, so nothing a caller sends can widen them: every value
a caller gives is quoted and escaped, never spliced in as syntax.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from decimal import ROUND_CEILING, Decimal
from typing import Final

from schemas.search import FacetName
from search.meili.settings import FACET_FIELDS
from search.query import SearchQuery, Viewer

Filter = list[str | list[str]]

# Quantities are numeric(14, 3): 3 decimals, below 10^11.
QUANTUM: Final = Decimal("0.001")
MAX_AMOUNT: Final = Decimal("99999999999.999")


def quote(value: str) -> str:
    """A Meilisearch filter string literal: double quotes, with `\\` and `"` escaped.

    (Since Meilisearch v1.4 a backslash in a filter string must itself be escaped.)"""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _in(field: str, values: Iterable[object]) -> str:
    return f"{field} IN [{', '.join(quote(str(v)) for v in values)}]"


def _bool(value: bool) -> str:
    return "true" if value else "false"


def facet_filters(query: SearchQuery) -> dict[FacetName, str]:
    """The filter of each facet the query filters on, keyed by facet."""
    found: dict[FacetName, str] = {}
    lists: dict[FacetName, tuple[object, ...]] = {
        "direction": query.direction,
        "nature": query.nature,
        "network": query.network,
        "zone": query.zone,
        "organisation": query.organisation,
        "condition": query.condition,
        "price": query.price,
    }
    for facet, values in lists.items():
        if values:
            found[facet] = _in(FACET_FIELDS[facet], values)
    if query.category:
        # Matches the category and everything under it: `category_path` lists the ancestors.
        found["category"] = _in("category_path", query.category)
    if query.ess is not None:
        found["ess"] = f"{FACET_FIELDS['ess']} = {_bool(query.ess)}"
    if query.hazardous is not None:
        found["hazardous"] = f"{FACET_FIELDS['hazardous']} = {_bool(query.hazardous)}"
    return found


def _epoch(day: date, days_later: int = 0) -> int:
    return int(datetime.combine(day + timedelta(days=days_later), time(), tzinfo=UTC).timestamp())


def _number(value: float | Decimal) -> str:
    text = format(value, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def at_least(value: Decimal) -> Decimal:
    """The smallest quantity with three decimals that is >= value.

    Meilisearch compares doubles; rounding the bound up to the quantities' own precision makes
    `amount >= bound` exact for every stored quantity (see documents.amount)."""
    return min(value.quantize(QUANTUM, rounding=ROUND_CEILING), MAX_AMOUNT + QUANTUM)


def other_filters(query: SearchQuery) -> list[str]:
    """Conditions that are not facets: availability, quantity, radius."""
    found: list[str] = []
    if query.available_on is not None:
        # Available on a day: the window overlaps [day 00:00, next day 00:00) UTC.
        found.append(f"available_from_ts < {_epoch(query.available_on, 1)}")
        found.append(f"available_until_ts > {_epoch(query.available_on)}")
    if query.quantity_at_least is not None:
        found.append(f"amount >= {_number(at_least(query.quantity_at_least))}")
    if query.near is not None and query.radius_km is not None:
        meters = math.ceil(query.radius_km * 1000)
        found.append(f"_geoRadius({query.near.latitude!r}, {query.near.longitude!r}, {meters})")
    return found


def visibility_filter(viewer: Viewer, now: int) -> Filter:
    """What this viewer may see, at epoch second `now`. Always ANDed with everything else.

    Anonymous: published public listings of active members, not past `available_until`, not an
    exhausted offer. A member also sees every such listing of `viewer.networks`."""
    audience: list[str] = [f"visibility = {quote('public')}"]
    if viewer.networks:
        audience.append(_in("network_id", sorted(str(n) for n in viewer.networks)))
    return [
        f"status = {quote('published')}",
        "member_active = true",
        "exhausted = false",
        f"available_until_ts > {now}",
        audience,
    ]


def full_filter(query: SearchQuery, viewer: Viewer, now: int) -> Filter:
    """Every condition of the query, with visibility first."""
    return [*visibility_filter(viewer, now), *facet_filters(query).values(), *other_filters(query)]


def filter_without(query: SearchQuery, viewer: Viewer, now: int, facet: FacetName) -> Filter:
    """Every condition but `facet`'s own, for that facet's disjunctive counts."""
    facets = [expression for name, expression in facet_filters(query).items() if name != facet]
    return [*visibility_filter(viewer, now), *facets, *other_filters(query)]
