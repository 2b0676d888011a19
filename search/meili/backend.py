"""The Meilisearch search backend: one multi-search call per search.

Layout of the call: the main query (the page of hits, the total, and the counts of every
requested facet the query does not filter on), then one query per requested facet the query
does filter on, with that facet's own filter left out and no hits (`hitsPerPage: 0`), for its
disjunctive counts. All queries use page/hitsPerPage, Meilisearch's exhaustive mode: `totalHits`
and the facet counts are exact (up to `pagination.maxTotalHits` for the total).
"""

from __future__ import annotations

import asyncio
import html
import math
import time
from typing import TYPE_CHECKING, Any, Final

import msgspec
from meilisearch_python_sdk import AsyncClient
from meilisearch_python_sdk.models.search import SearchParams, SearchResultsWithUID

from api.db.pool import Pool
from schemas.search import TOTAL_HITS_BOUND, SearchHit, SearchResult
from search.backend import BackendHealth, SearchBackend
from search.meili import repository
from search.meili.filters import facet_filters, filter_without, full_filter
from search.meili.rebuild import rebuild_live
from search.meili.settings import FACET_FIELDS, LOCALES
from search.query import Point, SearchQuery, Viewer

HIGHLIGHTED: Final = ("title", "description")
# Unlikely in any text, so the stored text can be HTML-escaped before the marks are put in.
_PRE, _POST = "\x02", "\x03"
EARTH_RADIUS_KM: Final = 6371.0088
HEALTH_TIMEOUT_S: Final = 2.0

_HIT_FIELDS: Final = tuple(f for f in SearchHit.__struct_fields__ if f not in ("distance_km", "highlights"))


def sort_for(query: SearchQuery) -> list[str] | None:
    if query.sort == "newest":
        return ["published_at_ts:desc"]
    if query.sort == "quantity":
        return ["amount:desc"]
    if query.sort == "distance" and query.near is not None:
        return [f"_geoPoint({query.near.latitude!r}, {query.near.longitude!r}):asc"]
    return None  # relevance: the ranking rules alone


def _params(uid: str, query: SearchQuery, **kwargs: Any) -> SearchParams:
    return SearchParams(
        index_uid=uid,
        q=query.text,
        matching_strategy="all",  # every query word must match, as with PostgreSQL
        locales=list(LOCALES),
        **kwargs,
    )


def plan(uid: str, query: SearchQuery, viewer: Viewer, now: int) -> list[SearchParams]:
    """The queries of one multi-search: the main one, then one per filtered requested facet."""
    filtered = facet_filters(query)
    main_facets = [FACET_FIELDS[f] for f in query.facets if f not in filtered]
    main = _params(
        uid,
        query,
        filter=full_filter(query, viewer, now),
        facets=main_facets or None,
        page=query.page,
        hits_per_page=query.hits_per_page,
        sort=sort_for(query),
        attributes_to_highlight=list(HIGHLIGHTED) if query.text else None,
        highlight_pre_tag=_PRE,
        highlight_post_tag=_POST,
    )
    facet_queries = [
        _params(
            uid,
            query,
            filter=filter_without(query, viewer, now, facet),
            facets=[FACET_FIELDS[facet]],
            page=1,
            hits_per_page=0,
        )
        for facet in query.facets
        if facet in filtered
    ]
    return [main, *facet_queries]


def highlight(marked: str) -> str:
    """Meilisearch's marked text, HTML-escaped, with matches wrapped in `<mark>`."""
    return html.escape(marked, quote=False).replace(_PRE, "<mark>").replace(_POST, "</mark>")


def distance_km(hit: dict[str, Any], near: Point) -> float:
    """From `_geoDistance` (metres, given when sorting by distance), else great-circle."""
    if "_geoDistance" in hit:
        return float(hit["_geoDistance"]) / 1000
    lat1, lon1 = math.radians(near.latitude), math.radians(near.longitude)
    lat2, lon2 = math.radians(hit["latitude"]), math.radians(hit["longitude"])
    a = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


def to_hit(hit: dict[str, Any], query: SearchQuery) -> SearchHit:
    fields = {name: hit.get(name) for name in _HIT_FIELDS}
    if query.near is not None:
        fields["distance_km"] = distance_km(hit, query.near)
    formatted = hit.get("_formatted")
    if query.text and isinstance(formatted, dict):
        fields["highlights"] = {name: highlight(str(formatted.get(name) or "")) for name in HIGHLIGHTED}
    return msgspec.convert(fields, SearchHit)


def to_result(query: SearchQuery, results: list[SearchResultsWithUID[Any]]) -> SearchResult:
    main, facet_results = results[0], results[1:]
    filtered = [f for f in query.facets if f in facet_filters(query)]
    counts: dict[str, dict[str, int]] = {}
    by_facet = dict(zip(filtered, facet_results, strict=True))
    for facet in query.facets:
        source = by_facet.get(facet, main)
        distribution = (source.facet_distribution or {}).get(FACET_FIELDS[facet], {})
        counts[facet] = {str(value): int(n) for value, n in distribution.items()}
    total = main.total_hits or 0
    exact = total <= TOTAL_HITS_BOUND
    total = min(total, TOTAL_HITS_BOUND)
    return SearchResult(
        hits=[to_hit(hit, query) for hit in main.hits],
        facet_distribution=counts,
        total_hits=total,
        total_hits_exact=exact,
        page=query.page,
        hits_per_page=query.hits_per_page,
        total_pages=math.ceil(total / query.hits_per_page),
        processing_time_ms=max(r.processing_time_ms for r in results),
        backend="meilisearch",
    )


class MeilisearchBackend:
    """Search over a Meilisearch index fed from PostgreSQL by the outbox indexer."""

    name = "meilisearch"

    def __init__(self, client: AsyncClient, pool: Pool, index_uid: str) -> None:
        self.client = client
        self.pool = pool
        self.index_uid = index_uid

    async def search(self, query: SearchQuery, viewer: Viewer) -> SearchResult:
        queries = plan(self.index_uid, query, viewer, int(time.time()))
        results = await self.client.multi_search(queries)
        assert isinstance(results, list)  # no federation asked, so one result per query
        return to_result(query, results)

    async def health(self) -> BackendHealth:
        """Meilisearch answers, and how many outbox rows the indexer has not applied yet."""
        try:
            async with self.pool.acquire() as conn:
                lag = await repository.lag(conn, self.index_uid)
        except Exception as exc:  # reported, not raised: readiness says what is wrong
            return BackendHealth(ok=False, detail=f"postgresql: {type(exc).__name__}")
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_S):
                health = await self.client.health()
        except Exception as exc:
            return BackendHealth(ok=False, detail=f"meilisearch: {type(exc).__name__}", lag=lag)
        ok = health.status == "available"
        return BackendHealth(ok=ok, detail=f"meilisearch: {health.status}", lag=lag)

    async def refresh(self) -> None:
        """Rebuild the live index whole from PostgreSQL and wait until it is searchable."""
        await rebuild_live(self.pool, self.client, self.index_uid)

    async def close(self) -> None:
        await self.client.aclose()


if TYPE_CHECKING:  # mypy checks that the class fulfils the contract the API depends on

    def _conforms(backend: MeilisearchBackend) -> SearchBackend:
        return backend
