"""Meilisearch filter expressions from a query and a viewer: exact strings, no server needed."""

from __future__ import annotations

import uuid
from datetime import date
from decimal import Decimal

from schemas.search import FacetName
from search.meili.filters import (
    at_least,
    facet_filters,
    filter_without,
    full_filter,
    other_filters,
    quote,
    visibility_filter,
)
from search.query import Point, SearchQuery, Viewer

NOW = 1_750_000_000
NET_A = uuid.UUID("00000000-0000-0000-0000-00000000000a")
NET_B = uuid.UUID("00000000-0000-0000-0000-00000000000b")
ANONYMOUS_VISIBILITY = [
    'status = "published"',
    "member_active = true",
    "exhausted = false",
    f"available_until_ts > {NOW}",
    ['visibility = "public"'],
]


def test_anonymous_sees_published_public_unexpired_listings_of_active_members() -> None:
    assert visibility_filter(Viewer(), NOW) == ANONYMOUS_VISIBILITY


def test_member_also_sees_its_networks_as_one_or_group() -> None:
    assert visibility_filter(Viewer(networks=frozenset({NET_B, NET_A})), NOW)[-1] == [
        'visibility = "public"',
        f'network_id IN ["{NET_A}", "{NET_B}"]',
    ]


def test_an_empty_query_filters_on_visibility_only() -> None:
    assert full_filter(SearchQuery(), Viewer(), NOW) == ANONYMOUS_VISIBILITY


def test_values_of_one_facet_or_together_and_facets_and() -> None:
    query = SearchQuery(direction=("offer",), nature=("material", "service"), price=("free",))
    assert full_filter(query, Viewer(), NOW) == [
        *ANONYMOUS_VISIBILITY,
        'direction IN ["offer"]',
        'nature IN ["material", "service"]',
        'price IN ["free"]',
    ]


def test_each_facet_maps_to_its_field() -> None:
    org, zone = uuid.uuid4(), uuid.uuid4()
    query = SearchQuery(
        network=(NET_A,),
        zone=(zone,),
        organisation=(org,),
        condition=("good", "used"),
        ess=True,
        hazardous=False,
    )
    assert facet_filters(query) == {
        "network": f'network_id IN ["{NET_A}"]',
        "zone": f'zone_id IN ["{zone}"]',
        "organisation": f'organisation_id IN ["{org}"]',
        "condition": 'condition IN ["good", "used"]',
        "ess": "ess = true",
        "hazardous": "hazardous = false",
    }


def test_a_category_filter_matches_its_sub_categories_through_the_path() -> None:
    assert facet_filters(SearchQuery(category=("wood", "paper.cardboard"))) == {
        "category": 'category_path IN ["wood", "paper.cardboard"]'
    }


def test_hostile_values_stay_inside_their_string() -> None:
    assert quote('a" OR visibility = "network') == '"a\\" OR visibility = \\"network"'
    assert quote("back\\slash") == '"back\\\\slash"'
    # Schemas only let enums and UUIDs through, but the translation does not rely on it.
    query = SearchQuery(category=('a" OR visibility = "network',))
    assert facet_filters(query)["category"] == 'category_path IN ["a\\" OR visibility = \\"network"]'
    assert full_filter(query, Viewer(), NOW)[: len(ANONYMOUS_VISIBILITY)] == ANONYMOUS_VISIBILITY


def test_available_on_a_day_means_the_window_overlaps_that_utc_day() -> None:
    # 2025-06-01T00:00:00Z is 1748736000.
    assert other_filters(SearchQuery(available_on=date(2025, 6, 1))) == [
        "available_from_ts < 1748822400",
        "available_until_ts > 1748736000",
    ]


def test_quantity_bound_is_rounded_up_to_the_quantities_precision() -> None:
    assert other_filters(SearchQuery(quantity_at_least=Decimal("12.5"))) == ["amount >= 12.5"]
    assert other_filters(SearchQuery(quantity_at_least=Decimal("2.0001"))) == ["amount >= 2.001"]
    assert other_filters(SearchQuery(quantity_at_least=Decimal("40"))) == ["amount >= 40"]
    assert at_least(Decimal("1E-9")) == Decimal("0.001")
    # Beyond numeric(14, 3): nothing can match, and the number stays plain.
    assert other_filters(SearchQuery(quantity_at_least=Decimal("1E20"))) == ["amount >= 100000000000"]


def test_radius_is_a_geo_radius_in_metres_and_near_alone_filters_nothing() -> None:
    near = Point(45.7266, 4.8167)
    assert other_filters(SearchQuery(near=near, radius_km=2.5)) == ["_geoRadius(45.7266, 4.8167, 2500)"]
    assert other_filters(SearchQuery(near=Point(-1.5, -70.25), radius_km=0.0004)) == [
        "_geoRadius(-1.5, -70.25, 1)"
    ]
    assert other_filters(SearchQuery(near=near)) == []


def test_disjunctive_variant_drops_only_that_facets_filter() -> None:
    query = SearchQuery(
        direction=("offer",), nature=("material",), hazardous=True, radius_km=1.0, near=Point(1, 2)
    )
    viewer = Viewer(networks=frozenset({NET_A}))
    assert filter_without(query, viewer, NOW, "nature") == [
        *visibility_filter(viewer, NOW),
        'direction IN ["offer"]',
        "hazardous = true",
        "_geoRadius(1, 2, 1000)",
    ]
    assert filter_without(query, viewer, NOW, "hazardous") == [
        *visibility_filter(viewer, NOW),
        'direction IN ["offer"]',
        'nature IN ["material"]',
        "_geoRadius(1, 2, 1000)",
    ]


def test_no_facet_variant_can_drop_visibility() -> None:
    query = SearchQuery(direction=("need",))
    facets: tuple[FacetName, ...] = ("direction", "network", "category")
    for facet in facets:
        assert filter_without(query, Viewer(), NOW, facet)[:5] == ANONYMOUS_VISIBILITY
