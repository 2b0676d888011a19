"""The index settings, as sent to Meilisearch (camelCase JSON), checked without a server."""

from __future__ import annotations

import typing

from schemas.search import TOTAL_HITS_BOUND, FacetName
from search.meili.settings import FACET_FIELDS, index_settings


def _sent() -> dict[str, typing.Any]:
    # What `update_settings` sends: the SDK drops unset (None) fields.
    return index_settings().model_dump(by_alias=True, exclude_none=True)


def test_every_facet_has_a_filterable_field() -> None:
    assert set(FACET_FIELDS) == set(typing.get_args(FacetName))
    assert set(FACET_FIELDS.values()) <= set(_sent()["filterableAttributes"])


def test_visibility_category_tree_window_quantity_and_geo_are_filterable() -> None:
    filterable = set(_sent()["filterableAttributes"])
    assert {
        "visibility",
        "status",
        "member_active",
        "exhausted",
        "network_id",
        "category_path",
        "available_from_ts",
        "available_until_ts",
        "amount",
        "_geo",
    } <= filterable


def test_searchable_fields_are_the_texts_title_first() -> None:
    assert _sent()["searchableAttributes"] == ["title", "category_labels", "organisation_name", "description"]


def test_sortable_fields_serve_the_contract_sorts() -> None:
    assert set(_sent()["sortableAttributes"]) == {"published_at_ts", "amount", "_geo"}


def test_one_typo_from_five_letters_and_never_two() -> None:
    typo = _sent()["typoTolerance"]
    assert typo["enabled"] is True
    assert typo["minWordSizeForTypos"] == {"oneTypo": 5, "twoTypos": 255}


def test_total_hits_can_tell_more_than_the_bound_from_the_bound() -> None:
    assert _sent()["pagination"] == {"maxTotalHits": TOTAL_HITS_BOUND + 1}


def test_facets_keep_the_most_frequent_values() -> None:
    faceting = _sent()["faceting"]
    assert faceting["maxValuesPerFacet"] >= 100
    assert faceting["sortFacetValuesBy"] == {"*": "count"}


def test_text_fields_are_french_and_english() -> None:
    assert _sent()["localizedAttributes"] == [
        {
            "locales": ["fra", "eng"],
            "attributePatterns": ["title", "description", "category_labels", "organisation_name"],
        }
    ]


def test_ranking_puts_sort_after_relevance_and_newest_last() -> None:
    rules = _sent()["rankingRules"]
    assert rules[:6] == ["words", "typo", "proximity", "attribute", "sort", "exactness"]
    assert rules[-1] == "published_at_ts:desc"


def test_french_and_english_filler_words_are_stop_words() -> None:
    assert {"de", "la", "les", "the", "of"} <= set(_sent()["stopWords"])
