"""The Meilisearch index settings, as data, and the one function that applies them.

Settings go on before any document (changing filterable or searchable attributes later makes
Meilisearch re-index everything), and applying them twice changes nothing: a settings update
with the same values is a no-op task.
"""

from __future__ import annotations

from typing import Final

from meilisearch_python_sdk import AsyncClient
from meilisearch_python_sdk.models.settings import (
    Faceting,
    LocalizedAttributes,
    MeilisearchSettings,
    MinWordSizeForTypos,
    Pagination,
    TypoTolerance,
)

from schemas.search import TOTAL_HITS_BOUND, FacetName
from search.meili.tasks import TASK_TIMEOUT_MS, wait

PRIMARY_KEY: Final = "id"

# A search facet and the document field it counts and filters on.
FACET_FIELDS: Final[dict[FacetName, str]] = {
    "direction": "direction",
    "nature": "nature",
    # Counted on the listing's own category; the filter matches sub-categories (category_path).
    "category": "category_id",
    "network": "network_id",
    "zone": "zone_id",
    "organisation": "organisation_id",
    "condition": "condition",
    "price": "price",
    "ess": "ess",
    "hazardous": "hazardous",
}

# Text fields, most important first: Meilisearch's `attribute` rule ranks a match in the title
# above one in the description.
SEARCHABLE: Final = ["title", "category_labels", "organisation_name", "description"]

FILTERABLE: Final = sorted(
    {
        *FACET_FIELDS.values(),
        # Visibility, applied to every search and never widened by a caller.
        "visibility",
        "status",
        "member_active",
        "exhausted",
        # "A category matches its sub-categories": the category's id and its ancestors' ids.
        "category_path",
        # Epoch seconds; see documents.py for the stand-ins of an open end.
        "available_from_ts",
        "available_until_ts",
        "amount",
        "_geo",
    }
)

SORTABLE: Final = ["published_at_ts", "amount", "_geo"]

# Meilisearch's defaults, sort where it always sits, then newest first to order the ties (an
# empty query ranks every document equal).
RANKING_RULES: Final = [
    "words",
    "typo",
    "proximity",
    "attribute",
    "sort",
    "exactness",
    "published_at_ts:desc",
]

# The contract allows one typo in words of five letters or more. Meilisearch has no "never two
# typos" switch; `twoTypos` is a byte (0-255) that must be >= `oneTypo`, and words longer than
# 250 bytes are not indexed at all, so 255 means no word ever gets a second typo.
ONE_TYPO_MIN_LETTERS: Final = 5
TWO_TYPOS_MIN_LETTERS: Final = 255

# Facet values returned per facet. Counts are exact for every value returned; past this many
# values (only `organisation` could get there) the least frequent are left out, since values are
# sorted by count.
MAX_VALUES_PER_FACET: Final = 1000

# One more than the contract's bound, so that "more than the bound matched" can be told from
# "exactly the bound matched": `totalHits` is exact up to this, in page/hitsPerPage mode.
MAX_TOTAL_HITS: Final = TOTAL_HITS_BOUND + 1

LOCALES: Final = ["fra", "eng"]

# Words a French or English query may carry that say nothing about what is sought. With the
# `all` matching strategy a query word must be found, so without this "palettes de bois" would
# miss "Palettes bois" (PostgreSQL's text search drops the same words).
STOP_WORDS: Final = sorted(
    {
        *("le", "la", "les", "l", "un", "une", "des", "de", "du", "d", "et", "ou", "en", "au", "aux"),
        *("a", "à", "pour", "par", "sur", "avec", "dans"),
        *("the", "an", "of", "and", "or", "for", "to", "in", "on", "with"),
    }
)


def index_settings() -> MeilisearchSettings:
    """Everything the listings index needs set before its first document."""
    return MeilisearchSettings(
        searchable_attributes=list(SEARCHABLE),
        filterable_attributes=list(FILTERABLE),
        sortable_attributes=list(SORTABLE),
        ranking_rules=list(RANKING_RULES),
        stop_words=list(STOP_WORDS),
        typo_tolerance=TypoTolerance(
            enabled=True,
            min_word_size_for_typos=MinWordSizeForTypos(
                one_typo=ONE_TYPO_MIN_LETTERS, two_typos=TWO_TYPOS_MIN_LETTERS
            ),
        ),
        faceting=Faceting(max_values_per_facet=MAX_VALUES_PER_FACET, sort_facet_values_by={"*": "count"}),
        pagination=Pagination(max_total_hits=MAX_TOTAL_HITS),
        localized_attributes=[
            LocalizedAttributes(
                locales=list(LOCALES),
                attribute_patterns=["title", "description", "category_labels", "organisation_name"],
            )
        ],
    )


async def ensure_index(client: AsyncClient, uid: str, *, timeout_ms: int = TASK_TIMEOUT_MS) -> None:
    """Create the index if missing, then apply the settings and wait until they are in force.

    Raises when Meilisearch refuses either step (a failed task is an error, never ignored)."""
    if await client.get_raw_index(uid) is None:
        # `create_index` waits for the creation task and then reads the index back, which fails
        # loudly if the creation failed (other than by a concurrent creation, which is fine).
        await client.create_index(uid, primary_key=PRIMARY_KEY, timeout_in_ms=timeout_ms)
    task = await client.index(uid).update_settings(index_settings())
    await wait(client, task, timeout_ms=timeout_ms)
