"""The backend's own translation, without a server: how one search becomes one multi-search
call, and how hits become `SearchHit`s. (Whether Meilisearch answers those queries as the
contract says is for the contract tests against a real server; see test_live.py.)"""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any

from meilisearch_python_sdk.models.search import SearchResultsWithUID

from schemas.search import TOTAL_HITS_BOUND
from search.meili.backend import distance_km, highlight, plan, sort_for, to_result
from search.meili.filters import filter_without, full_filter
from search.query import Point, SearchQuery, Viewer

NOW = 1_750_000_000
VIEWER = Viewer(networks=frozenset({uuid.uuid4()}))


def test_without_filtered_facets_one_query_carries_hits_and_every_facet() -> None:
    query = SearchQuery(text="palettes", facets=("direction", "category"), page=3, hits_per_page=7)
    [main] = plan("listings", query, VIEWER, NOW)
    sent = main.model_dump(by_alias=True)
    assert sent["indexUid"] == "listings"
    assert sent["q"] == "palettes"
    assert sent["filter"] == full_filter(query, VIEWER, NOW)
    assert sent["facets"] == ["direction", "category_id"]
    assert (sent["page"], sent["hitsPerPage"]) == (3, 7)
    assert sent["matchingStrategy"] == "all"
    assert sent["attributesToHighlight"] == ["title", "description"]
    assert sent["locales"] == ["fra", "eng"]


def test_each_filtered_facet_gets_its_own_count_query_without_its_own_filter() -> None:
    query = SearchQuery(direction=("offer",), nature=("material",), facets=("direction", "nature", "price"))
    main, direction, nature = plan("listings", query, VIEWER, NOW)
    assert main.facets == ["price"]
    assert main.filter == full_filter(query, VIEWER, NOW)
    assert (direction.facets, direction.filter) == (
        ["direction"],
        filter_without(query, VIEWER, NOW, "direction"),
    )
    assert (nature.facets, nature.filter) == (["nature"], filter_without(query, VIEWER, NOW, "nature"))
    for count_only in (direction, nature):
        assert (count_only.page, count_only.hits_per_page) == (1, 0)


def test_a_filter_on_a_facet_not_requested_adds_no_query() -> None:
    assert len(plan("listings", SearchQuery(direction=("offer",)), VIEWER, NOW)) == 1


def test_sorts_map_to_meilisearch_sorts() -> None:
    near = Point(45.75, 4.85)
    assert sort_for(SearchQuery()) is None
    assert sort_for(SearchQuery(sort="newest")) == ["published_at_ts:desc"]
    assert sort_for(SearchQuery(sort="quantity")) == ["amount:desc"]
    assert sort_for(SearchQuery(sort="distance", near=near)) == ["_geoPoint(45.75, 4.85):asc"]


def test_highlights_escape_the_text_and_mark_the_matches() -> None:
    assert (
        highlight("\x02Palettes\x03 <b>&</b> bois") == "<mark>Palettes</mark> &lt;b&gt;&amp;&lt;/b&gt; bois"
    )


def test_distance_prefers_meilisearch_and_falls_back_to_great_circle() -> None:
    assert distance_km({"_geoDistance": 1234, "latitude": 0, "longitude": 0}, Point(0, 0)) == 1.234
    # One degree of latitude is about 111.2 km.
    assert abs(distance_km({"latitude": 46.0, "longitude": 4.85}, Point(45.0, 4.85)) - 111.195) < 0.01


def _document(**overrides: Any) -> dict[str, Any]:
    document: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "organisation_id": str(uuid.uuid4()),
        "organisation_name": "Menuiserie",
        "network_id": str(uuid.uuid4()),
        "zone_id": None,
        "direction": "offer",
        "nature": "material",
        "category_id": "wood.pallets",
        "title": "Palettes",
        "description": "Europe",
        "unit": "pallet",
        "quantity": "12.345",
        "available_quantity": "0.001",
        "capacity": None,
        "price_kind": "free",
        "price_cents": None,
        "currency": None,
        "condition": None,
        "waste_code": None,
        "hazardous": False,
        "ess": True,
        "visibility": "public",
        "latitude": 46.0,
        "longitude": 4.85,
        "available_from": None,
        "available_until": "2099-01-01T00:00:00+00:00",
        "published_at": "2025-03-01T08:30:00+00:00",
        "amount": 0.001,
        "_geo": {"lat": 46.0, "lng": 4.85},
    }
    document.update(overrides)
    return document


def _results(
    hits: list[dict[str, Any]], total: int, facets: dict[str, Any] | None = None
) -> SearchResultsWithUID[Any]:
    return SearchResultsWithUID[Any](
        index_uid="listings",
        hits=hits,
        processing_time_ms=3,
        query="",
        total_hits=total,
        facet_distribution=facets,
    )


def test_hits_carry_exact_decimals_distance_and_highlights() -> None:
    query = SearchQuery(text="palettes", near=Point(45.0, 4.85))
    document = _document(_formatted={"title": "\x02Palettes\x03", "description": "Europe"})
    result = to_result(query, [_results([document], 1)])
    [hit] = result.hits
    assert (hit.quantity, hit.available_quantity, hit.capacity) == (Decimal("12.345"), Decimal("0.001"), None)
    assert str(hit.id) == document["id"]
    assert hit.highlights == {"title": "<mark>Palettes</mark>", "description": "Europe"}
    assert hit.distance_km is not None
    assert abs(hit.distance_km - 111.195) < 0.01
    assert hit.published_at is not None
    assert hit.published_at.isoformat() == "2025-03-01T08:30:00+00:00"


def test_facet_counts_come_from_the_main_query_or_their_own() -> None:
    query = SearchQuery(direction=("offer",), facets=("direction", "ess"))
    main = _results([], 5, {"ess": {"true": 2, "false": 3}, "direction": {"offer": 5}})
    own = _results([], 9, {"direction": {"offer": 5, "need": 4}})
    result = to_result(query, [main, own])
    assert result.facet_distribution == {"direction": {"offer": 5, "need": 4}, "ess": {"true": 2, "false": 3}}
    assert (result.total_hits, result.total_hits_exact, result.total_pages) == (5, True, 1)
    assert result.backend == "meilisearch"


def test_total_is_exact_up_to_the_bound_then_the_bound() -> None:
    at_bound = to_result(SearchQuery(hits_per_page=100), [_results([], TOTAL_HITS_BOUND)])
    assert (at_bound.total_hits, at_bound.total_hits_exact, at_bound.total_pages) == (
        TOTAL_HITS_BOUND,
        True,
        100,
    )
    beyond = to_result(SearchQuery(), [_results([], TOTAL_HITS_BOUND + 1)])
    assert (beyond.total_hits, beyond.total_hits_exact) == (TOTAL_HITS_BOUND, False)
