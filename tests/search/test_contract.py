"""The search contract, stated once with exact hits and counts, held by every backend."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest

from schemas.search import SearchResult
from search.query import Point, SearchQuery, Viewer
from tests.search.conftest import Searchable
from tests.search.dataset import N1_ONLY, N2_ONLY, PUBLIC, haversine_km

NEWEST = PUBLIC  # the data set's public listings, newest first


async def run(s: Searchable, viewer: Viewer | None = None, **fields: Any) -> SearchResult:
    fields.setdefault("hits_per_page", 100)
    if "q" in fields:
        fields["text"] = fields.pop("q")
    return await s.backend.search(SearchQuery(**fields), viewer or Viewer())


async def labels(s: Searchable, viewer: Viewer | None = None, **fields: Any) -> list[str]:
    result = await run(s, viewer, **fields)
    assert result.total_hits == len(result.hits) or fields.get("hits_per_page", 100) < result.total_hits
    return s.world.labels([h.id for h in result.hits])


async def found(s: Searchable, viewer: Viewer | None = None, **fields: Any) -> set[str]:
    return set(await labels(s, viewer, **fields))


# Visibility


async def test_anonymous_callers_see_public_listings_of_active_members_only(
    search_backend: Searchable,
) -> None:
    result = await run(search_backend, sort="newest")
    assert search_backend.world.labels([h.id for h in result.hits]) == NEWEST
    assert result.total_hits == 12
    assert result.total_hits_exact is True


async def test_members_also_see_their_networks_listings(search_backend: Searchable) -> None:
    w = search_backend.world
    assert await found(search_backend, w.viewer("N1")) == {*PUBLIC, *N1_ONLY}
    assert await found(search_backend, w.viewer("N2")) == {*PUBLIC, *N2_ONLY}
    assert await found(search_backend, w.viewer("N1", "N2")) == {*PUBLIC, *N1_ONLY, *N2_ONLY}


async def test_drafts_paused_archived_expired_exhausted_and_non_members_listings_never_show(
    search_backend: Searchable,
) -> None:
    w = search_backend.world
    everyone = w.viewer("N1", "N2")
    assert await found(search_backend, everyone, q="palettes") == {
        "pal1",
        "pal2",
        "pal3",
        "carton1",
        "netpal1",
    }
    assert (
        await found(search_backend, everyone, organisation=(w.organisations["D"], w.organisations["E"]))
        == set()
    )


async def test_a_filter_cannot_widen_what_the_viewer_sees(search_backend: Searchable) -> None:
    w = search_backend.world
    assert await found(search_backend, network=(w.networks["N1"],)) == {
        "pal1", "pal2", "bois1", "carton1", "beton1", "poly1", "stock1", "haz1"
    }  # fmt: skip
    assert await found(search_backend, w.viewer("N2"), network=(w.networks["N1"],), q="cartons") == {
        "carton1"
    }


# Text


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("beton", {"beton1", "beton2"}),  # accents folded
        ("béton", {"beton1", "beton2"}),
        ("polystyrene", {"poly1"}),
        ("palette", {"pal1", "pal2", "pal3", "carton1"}),  # plural and singular
        ("palettes", {"pal1", "pal2", "pal3", "carton1"}),
        ("carton", {"carton1", "carton2"}),
        ("cartons", {"carton1", "carton2"}),
        ("carrton", {"carton1", "carton2"}),  # one typo in a word of 5+ letters
        ("palete", {"pal1", "pal2", "pal3", "carton1"}),
        ("polystirene", {"poly1"}),
        ("boiz", set()),  # no typo below 5 letters
        ("pal", {"pal1", "pal2", "pal3", "carton1", "english"}),  # the last word is a prefix
        ("bois pal", {"pal2"}),  # every word must match; only the last is a prefix
        ("pal bois", set()),
        ("pallets", {"english"}),  # English
        ("reuse", {"english"}),
        ("palettes de bois", {"pal2"}),  # stop words are left out
        ("hangar couvert", {"stock1"}),
        ("ferraille", {"beton1"}),
        ("introuvable", set()),
    ],
)
async def test_text(search_backend: Searchable, q: str, expected: set[str]) -> None:
    assert await found(search_backend, q=q) == expected


async def test_relevance_puts_title_matches_before_description_matches(search_backend: Searchable) -> None:
    order = await labels(search_backend, q="palettes")
    assert set(order[:3]) == {"pal1", "pal2", "pal3"}
    assert order[3] == "carton1"


async def test_matched_words_are_highlighted(search_backend: Searchable) -> None:
    result = await run(search_backend, q="beton")
    hit = next(h for h in result.hits if h.id == search_backend.world.ids["beton1"])
    assert hit.highlights == {
        "title": "Gravats de <mark>béton</mark> concassé",
        "description": "<mark>Béton</mark> propre, sans ferraille.",
    }
    assert (await run(search_backend)).hits[0].highlights == {}


# Filters: values of one filter combine with OR, filters with AND


async def test_each_filter(search_backend: Searchable) -> None:
    w, s = search_backend.world, search_backend
    assert await found(s, direction=("need",)) == {"pal3", "beton2"}
    assert await found(s, nature=("service",)) == {"stock1"}
    assert await found(s, category=("qwood.pallets",)) == {"pal1", "pal2", "pal3", "english"}
    assert await found(s, category=("qwood",)) == {"pal1", "pal2", "pal3", "english", "bois1"}
    assert await found(s, network=(w.networks["N2"],)) == {"pal3", "carton2", "beton2", "english"}
    assert await found(s, zone=(w.zones["Z1a"],)) == {"pal1", "bois1", "carton1", "stock1"}
    assert await found(s, organisation=(w.organisations["B"],)) == {"pal2", "carton1", "poly1"}
    assert await found(s, condition=("good",)) == {"pal1", "bois1", "english"}
    assert await found(s, price=("paid",)) == {"pal2", "bois1", "carton2", "stock1"}
    assert len(await found(s, price=("free",))) == 8
    assert await found(s, ess=True) == {"pal2", "carton1", "poly1"}
    assert len(await found(s, ess=False)) == 9
    assert await found(s, hazardous=True) == {"haz1"}
    assert await found(s, available_on=date(2030, 7, 1)) == set(PUBLIC) - {"carton2"}
    assert await found(s, available_on=date(2030, 2, 1)) == set(PUBLIC) - {"stock1"}
    assert await found(s, quantity_at_least=Decimal(50)) == {"pal3", "carton1", "beton1", "stock1"}
    assert await found(s, quantity_at_least=Decimal("200.5")) == set()


async def test_values_of_one_filter_combine_with_or_and_filters_with_and(search_backend: Searchable) -> None:
    s, w = search_backend, search_backend.world
    assert await found(s, category=("qwood", "qpack")) == {
        "pal1", "pal2", "pal3", "english", "bois1", "carton1", "carton2", "haz1"
    }  # fmt: skip
    assert await found(s, category=("qwood", "qpack"), network=(w.networks["N2"],)) == {
        "pal3", "english", "carton2"
    }  # fmt: skip
    assert await found(s, category=("qwood",), direction=("offer",), q="palettes") == {"pal1", "pal2"}


# Facets: exact and disjunctive


async def test_facet_counts_without_filters(search_backend: Searchable) -> None:
    result = await run(search_backend, facets=("category", "ess", "price", "hazardous"))
    assert result.facet_distribution == {
        "category": {
            "qwood.pallets": 4, "qbuild.rubble": 2, "qpack.cardboard": 2, "qpack": 1, "qplastic": 1,
            "qstorage": 1, "qwood": 1,
        },
        "ess": {"false": 9, "true": 3},
        "price": {"free": 8, "paid": 4},
        "hazardous": {"false": 11, "true": 1},
    }  # fmt: skip


async def test_facet_counts_are_disjunctive(search_backend: Searchable) -> None:
    result = await run(search_backend, direction=("offer",), ess=True, facets=("direction", "ess", "nature"))
    assert search_backend.world.labels([h.id for h in result.hits]) == ["pal2", "carton1", "poly1"]
    assert result.total_hits == 3
    assert result.facet_distribution == {
        "direction": {"offer": 3},  # ESS applied, direction not
        "ess": {"false": 7, "true": 3},  # offers applied, ESS not
        "nature": {"material": 3},  # both applied
    }


async def test_facet_counts_follow_the_text_and_the_viewer(search_backend: Searchable) -> None:
    w = search_backend.world
    n1, n2 = str(w.networks["N1"]), str(w.networks["N2"])
    result = await run(search_backend, q="carton", facets=("network", "organisation"))
    assert result.facet_distribution["network"] == {n1: 1, n2: 1}
    member = await run(search_backend, w.viewer("N1"), q="carton", facets=("network",))
    assert member.facet_distribution["network"] == {n1: 2, n2: 1}
    zones = await run(search_backend, zone=(w.zones["Z1b"],), facets=("zone",))
    assert zones.facet_distribution["zone"] == {str(w.zones["Z1a"]): 4, str(w.zones["Z1b"]): 2}
    assert zones.total_hits == 2


# Geography


async def test_radius_keeps_hits_within_it_and_measures_them(search_backend: Searchable) -> None:
    w = search_backend.world
    near = Point(45.75, 4.85)
    result = await run(search_backend, near=near, radius_km=5.0, sort="distance")
    expected = sorted(
        (label for label in PUBLIC if haversine_km((45.75, 4.85), w.points[label]) <= 5.0),
        key=lambda label: haversine_km((45.75, 4.85), w.points[label]),
    )
    assert expected == ["pal1", "carton1", "pal2", "stock1"]
    assert w.labels([h.id for h in result.hits]) == expected
    for hit in result.hits:
        label = w.labels([hit.id])[0]
        assert hit.distance_km == pytest.approx(haversine_km((45.75, 4.85), w.points[label]), abs=0.1)
    wider = await found(search_backend, near=near, radius_km=10.0)
    assert wider == {"pal1", "carton1", "pal2", "stock1", "beton1", "bois1", "poly1", "haz1"}


async def test_near_without_radius_measures_every_hit(search_backend: Searchable) -> None:
    result = await run(search_backend, near=Point(45.19, 5.72), sort="distance")
    assert len(result.hits) == 12
    assert search_backend.world.labels([h.id for h in result.hits])[:4] == [
        "pal3",
        "beton2",
        "carton2",
        "english",
    ]
    assert result.hits[0].distance_km == pytest.approx(0.0, abs=0.1)
    farthest = max(haversine_km((45.19, 5.72), search_backend.world.points[label]) for label in PUBLIC)
    assert search_backend.world.labels([result.hits[-1].id]) == ["poly1"]
    assert result.hits[-1].distance_km == pytest.approx(farthest, abs=0.1)


# Sorting and pages


async def test_sorts(search_backend: Searchable) -> None:
    s = search_backend
    assert await labels(s, sort="newest") == NEWEST
    assert await labels(s) == NEWEST  # relevance without text: newest first
    assert await labels(s, sort="quantity") == [
        "carton1", "stock1", "pal3", "beton1", "pal1", "poly1", "english", "beton2", "haz1", "pal2", "bois1",
        "carton2",
    ]  # fmt: skip


async def test_pages_and_totals(search_backend: Searchable) -> None:
    pages = [await run(search_backend, sort="newest", hits_per_page=5, page=n) for n in (1, 2, 3, 4)]
    seen = [search_backend.world.labels([h.id for h in p.hits]) for p in pages]
    assert seen == [NEWEST[:5], NEWEST[5:10], NEWEST[10:], []]
    for p in pages:
        assert (p.total_hits, p.total_pages, p.hits_per_page, p.total_hits_exact) == (12, 3, 5, True)
    assert [p.page for p in pages] == [1, 2, 3, 4]
    assert all(p.backend == search_backend.backend.name for p in pages)


async def test_a_hit_carries_the_listing_and_its_organisation(search_backend: Searchable) -> None:
    w = search_backend.world
    [hit] = (await run(search_backend, q="polystyrene")).hits
    assert hit.id == w.ids["poly1"]
    assert (hit.organisation_id, hit.organisation_name, hit.ess) == (w.organisations["B"], "Beta Coop", True)
    assert (hit.network_id, hit.zone_id, hit.direction, hit.nature) == (
        w.networks["N1"],
        None,
        "offer",
        "material",
    )
    assert (hit.category_id, hit.title, hit.unit, hit.condition) == (
        "qplastic",
        "Polystyrène expansé",
        "kg",
        "as_new",
    )
    assert (hit.quantity, hit.available_quantity, hit.capacity) == (Decimal(30), Decimal(30), None)
    assert (hit.price_kind, hit.price_cents, hit.currency, hit.visibility) == ("free", None, None, "public")
    assert (hit.latitude, hit.longitude, hit.distance_km) == (45.81, 4.85, None)
