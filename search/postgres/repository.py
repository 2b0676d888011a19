"""The SQL of the PostgreSQL search backend: one statement for the page's ids, the total and the
facet counts, one for the hits' rows.

Statements are assembled from the constant fragments below; every value travels as a `$n`
parameter. Visibility is part of every statement and depends on the viewer's networks alone.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final

from api.db.pool import Connection
from schemas.search import FacetName
from search.postgres.text import TYPO_MIN_LETTERS
from search.query import SearchQuery, Viewer

EARTH_RADIUS_KM: Final = 6371.0088

# What a search may ever show: published, unexpired, not exhausted, of an organisation that is an
# active member of the listing's network (`member_active`, kept by triggers in the transaction that
# changes a membership, migration 0010: a suspension hides its listings in the same commit), public
# or in one of the viewer's networks. `{viewer}` is the networks parameter. The first two terms are
# the predicate of the search indexes.
VISIBLE: Final = """l.status = 'published' AND l.member_active
    AND (l.available_until IS NULL OR l.available_until > now())
    AND (l.available_quantity IS NULL OR l.available_quantity > 0)
    AND (l.visibility = 'public' OR (l.visibility = 'network' AND l.network_id = ANY({viewer}::uuid[])))"""
# The same for a viewer of no network (anonymous): an equality the facets index can range-scan.
VISIBLE_PUBLIC: Final = VISIBLE.replace(
    "(l.visibility = 'public' OR (l.visibility = 'network' AND l.network_id = ANY({viewer}::uuid[])))",
    "l.visibility = 'public'",
)

# The query words ({words}, a text[]) as one tsquery: each word matches its French stem, its English
# stem, itself (as a prefix when it is the last word) and, from 5 letters, the words of the
# vocabulary one edit away; words combine with AND.
TSQUERY: Final = f"""SELECT string_agg('(' || t.term || ')', ' & ' ORDER BY t.i)::tsquery AS query
    FROM (
        SELECT w.i, array_to_string(array_remove(ARRAY[
            plainto_tsquery('symbiose_fr', w.word)::text,
            plainto_tsquery('symbiose_en', w.word)::text,
            CASE WHEN w.i = cardinality({{words}}::text[])
                 THEN to_tsquery('symbiose_simple', w.word || ':*')::text
                 ELSE plainto_tsquery('symbiose_simple', w.word)::text END,
            (SELECT string_agg(array_to_string(array_remove(ARRAY[
                        plainto_tsquery('symbiose_fr', s.word)::text,
                        plainto_tsquery('symbiose_simple', s.word)::text], ''), ' | '), ' | ')
             FROM search_words s
             WHERE char_length(w.folded) >= {TYPO_MIN_LETTERS}
               AND s.word % w.folded AND levenshtein(s.word, w.folded) <= 1)
        ], ''), ' | ') AS term
        FROM (SELECT u.word, u.i, symbiose_unaccent(u.word) AS folded
              FROM unnest({{words}}::text[]) WITH ORDINALITY AS u(word, i)) w
    ) t"""

# The same expansion, one term a word (TSQUERY is these terms in parentheses joined by " & "): the
# term of a word depends only on the word, whether it is the last one, and the typo vocabulary.
TERMS: Final = TSQUERY.replace(
    "string_agg('(' || t.term || ')', ' & ' ORDER BY t.i)::tsquery AS query",
    "array_agg(t.term ORDER BY t.i) AS terms",
)
assert TERMS != TSQUERY


def tsquery_of(terms: Sequence[str]) -> str:
    """The tsquery TSQUERY builds from `terms`, as the text it casts to `tsquery`."""
    return " & ".join(f"({term})" for term in terms)


# Each facet: the value it counts, and its filter with `{p}` for the parameter.
FACET_VALUE: Final[dict[FacetName, str]] = {
    "direction": "l.direction",
    "nature": "l.nature",
    "category": "l.category_id",
    "network": "l.network_id::text",
    "zone": "l.zone_id::text",
    "organisation": "l.organisation_id::text",
    "condition": "l.condition",
    "price": "CASE WHEN l.price_kind = 'free' THEN 'free' ELSE 'paid' END",
    "ess": "l.organisation_ess::text",
    "hazardous": "l.hazardous::text",
}
FACET_FILTER: Final[dict[FacetName, str]] = {
    "direction": "l.direction = ANY({p}::text[])",
    "nature": "l.nature = ANY({p}::text[])",
    # A category matches itself and every category below it (ids are dotted paths).
    "category": """EXISTS (SELECT 1 FROM unnest({p}::text[]) AS c(id)
                   WHERE l.category_id = c.id OR starts_with(l.category_id, c.id || '.'))""",
    "network": "l.network_id = ANY({p}::uuid[])",
    "zone": "l.zone_id = ANY({p}::uuid[])",
    "organisation": "l.organisation_id = ANY({p}::uuid[])",
    "condition": "l.condition = ANY({p}::text[])",
    "price": "(CASE WHEN l.price_kind = 'free' THEN 'free' ELSE 'paid' END) = ANY({p}::text[])",
    "ess": "l.organisation_ess = {p}::boolean",
    "hazardous": "l.hazardous = {p}::boolean",
}
# What `quantity_at_least` and the quantity sort compare: an offer's available quantity, a need's
# quantity, a service's capacity.
AMOUNT: Final = "coalesce(l.available_quantity, l.quantity, l.capacity)"
DISTANCE_KM: Final = f"""(2 * {EARTH_RADIUS_KM} * asin(least(1, sqrt(
    sin(radians(l.latitude - {{lat}}::float8) / 2) ^ 2
    + cos(radians({{lat}}::float8)) * cos(radians(l.latitude))
      * sin(radians(l.longitude - {{lon}}::float8) / 2) ^ 2))))"""
# earth_distance's sphere is 6378.168 km, a little larger than ours, so this box holds the circle.
IN_BOX: Final = """earth_box(ll_to_earth({lat}::float8, {lon}::float8), {metres}::float8)
    @> ll_to_earth(l.latitude, l.longitude)"""
ORDER: Final = {
    "relevance": "b.rank DESC, b.published_at DESC NULLS LAST, b.id DESC",
    "newest": "b.published_at DESC NULLS LAST, b.id DESC",
    "distance": "b.distance_km ASC, b.id ASC",
    "quantity": "b.amount DESC NULLS LAST, b.published_at DESC NULLS LAST, b.id DESC",
}
HIT_COLUMNS: Final = """l.id, l.organisation_id, o.name AS organisation_name, l.network_id, l.zone_id,
    l.direction, l.nature, l.category_id, l.title, l.description, l.unit, l.quantity,
    l.available_quantity, l.capacity, l.price_kind, l.price_cents, l.currency, l.condition,
    l.waste_code, l.hazardous, o.is_ess AS ess, l.visibility, l.latitude, l.longitude,
    l.available_from, l.available_until, l.published_at"""


def visible(p: Params, viewer: Viewer) -> str:
    if not viewer.networks:
        return VISIBLE_PUBLIC
    return VISIBLE.format(viewer=p.add(list(viewer.networks)))


class Params:
    """Positional parameters, numbered as they are added."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def facet_filters(query: SearchQuery) -> dict[FacetName, Any]:
    """The facet fields this query filters on, with the parameter value of each."""
    lists: dict[FacetName, Sequence[Any]] = {
        "direction": query.direction,
        "nature": query.nature,
        "category": query.category,
        "network": query.network,
        "zone": query.zone,
        "organisation": query.organisation,
        "condition": query.condition,
        "price": query.price,
    }
    found: dict[FacetName, Any] = {name: list(values) for name, values in lists.items() if values}
    if query.ess is not None:
        found["ess"] = query.ess
    if query.hazardous is not None:
        found["hazardous"] = query.hazardous
    return found


@dataclass
class Summary:
    ids: list[uuid.UUID]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)
    tsquery: str | None = None


def _summary_sql(query: SearchQuery, viewer: Viewer, words: list[str]) -> tuple[str, list[Any]]:
    p = Params()
    ctes: list[str] = []
    columns = ["l.id", "l.published_at"]
    where = [visible(p, viewer)]
    if words:
        ctes.append(f"q AS MATERIALIZED ({TSQUERY.format(words=p.add(words))})")
        # A scalar subquery (one value for the whole statement), not a join: a plain condition
        # each GIN index of the visibility OR can take.
        where.append("l.search_document @@ (SELECT query FROM q)")
        # Relevance: title matches first, then newest. A match test on the title's small inline
        # vector is nearly free; ts_rank cost 1.3 us a row (16 ms of 12 600 matches) for an order
        # the next key mostly decides anyway.
        columns.append("l.search_title @@ (SELECT query FROM q) AS rank")
    else:
        columns.append("false AS rank")
    if query.near is not None:
        lat, lon = p.add(query.near.latitude), p.add(query.near.longitude)
        distance = DISTANCE_KM.format(lat=lat, lon=lon)
        columns.append(f"{distance} AS distance_km")
        if query.radius_km is not None:
            # The box is a little larger than the circle (see IN_BOX) and uses the GiST index.
            where.append(IN_BOX.format(lat=lat, lon=lon, metres=p.add(query.radius_km * 1001.2)))
            where.append(f"{distance} <= {p.add(query.radius_km)}::float8")
    if query.sort == "quantity":
        columns.append(f"{AMOUNT} AS amount")
    if query.available_on is not None:
        day = p.add(query.available_on)
        start, end = (
            f"({day}::date::timestamp AT TIME ZONE 'UTC')",
            f"(({day}::date + 1)::timestamp AT TIME ZONE 'UTC')",
        )
        where.append(
            f"""(l.available_from IS NULL OR l.available_from < {end})
            AND (l.available_until IS NULL OR l.available_until > {start})"""
        )
    if query.quantity_at_least is not None:
        where.append(f"{AMOUNT} >= {p.add(query.quantity_at_least)}::numeric")
    # A filter on a facet that is also counted becomes a column, so that the facet's own counts can
    # leave it out (disjunctive facets); every other filter goes straight into WHERE.
    matched: list[FacetName] = []
    for name, value in facet_filters(query).items():
        condition = FACET_FILTER[name].format(p=p.add(value))
        if name in query.facets:
            columns.append(f"({condition}) AS m_{name}")
            matched.append(name)
        else:
            where.append(condition)
    for name in query.facets:
        columns.append(f"{FACET_VALUE[name]} AS f_{name}")

    def all_but(excluded: str | None) -> str:
        kept = [f"b.m_{m}" for m in matched if m != excluded]
        return " AND ".join(kept) if kept else "true"

    # With text, the matches (found through the GIN index, then read from the heap) are kept
    # once for the three readers below. Without, each reader scans for itself: the page of ids
    # walks the published_at index and stops at the page, the counts read the covering index.
    materialized = "MATERIALIZED" if words else "NOT MATERIALIZED"
    ctes.append(
        f"""base AS {materialized} (
            SELECT {", ".join(columns)}
            FROM listings l
            WHERE {" AND ".join(where)})"""
    )
    outputs = [
        f"""ARRAY(SELECT b.id FROM base b WHERE {all_but(None)} ORDER BY {ORDER[query.sort]}
             LIMIT {p.add(query.hits_per_page)} OFFSET {p.add(query.offset)}) AS ids""",
        "(SELECT query::text FROM q) AS tsquery" if words else "NULL::text AS tsquery",
    ]
    # The total and every facet's counts in one pass over the matches: the matches are first
    # counted per combination of facet values and filter outcomes (one hash lookup a row, a few
    # hundred groups), then those groups are summed per facet with one grouping set each and the
    # empty set for the total. A facet counts the rows that pass every filter but its own, hence
    # one filtered sum per facet.
    facets = list(dict.fromkeys(query.facets))
    keys = [*(f"b.f_{name}" for name in facets), *(f"b.m_{name}" for name in matched)]
    combos = f"SELECT {', '.join([*keys, 'count(*) AS n'])} FROM base b"
    if keys:
        combos += f" GROUP BY {', '.join(keys)}"
    sets = ["()", *(f"(b.f_{name})" for name in facets)]
    which = "".join(f" WHEN grouping(b.f_{name}) = 0 THEN {i}" for i, name in enumerate(facets))
    facet = f"CASE{which} ELSE -1 END" if facets else "-1"
    value = (
        "CASE" + "".join(f" WHEN grouping(b.f_{n}) = 0 THEN b.f_{n}" for n in facets) + " END"
        if facets
        else "NULL::text"
    )
    count = "".join(
        f" WHEN grouping(b.f_{n}) = 0 THEN coalesce(sum(b.n) FILTER (WHERE {all_but(n)}), 0)::bigint"
        for n in facets
    )
    everything = f"coalesce(sum(b.n) FILTER (WHERE {all_but(None)}), 0)::bigint"
    count = f"CASE{count} ELSE {everything} END" if facets else everything
    outputs.append(
        f"""(SELECT json_agg(json_build_array(x.facet, x.value, x.n))
             FROM (SELECT {facet} AS facet, {value} AS value, {count} AS n
                   FROM ({combos}) AS b GROUP BY GROUPING SETS ({", ".join(sets)})) AS x
             WHERE x.facet < 0 OR (x.value IS NOT NULL AND x.n > 0)) AS counts"""
    )
    return f"WITH {', '.join(ctes)} SELECT {', '.join(outputs)}", p.values


async def summary(conn: Connection, query: SearchQuery, viewer: Viewer, words: list[str]) -> Summary:
    """The page's ids in order, the exact total and the facet counts."""
    sql, values = _summary_sql(query, viewer, words)
    row = await conn.fetchrow(sql, *values)
    assert row is not None  # an aggregate-only SELECT always returns its one row
    names = list(dict.fromkeys(query.facets))
    facets: dict[str, dict[str, int]] = {name: {} for name in names}
    total = 0
    for facet, value, count in row["counts"]:
        if facet < 0:
            total = count
        else:
            facets[names[facet]][value] = count
    for name, counts in facets.items():  # most frequent first, then by value
        facets[name] = dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return Summary(list(row["ids"]), total, facets, row["tsquery"])


# The page's hits as JSON objects built by PostgreSQL, decoded straight into `SearchHit`s: times in
# UTC with a `Z`. Highlights are marked in Python (search/postgres/highlight.py).
_HIT_JSON: Final = """'id', l.id, 'organisation_id', l.organisation_id, 'organisation_name', o.name,
    'network_id', l.network_id, 'zone_id', l.zone_id, 'direction', l.direction, 'nature', l.nature,
    'category_id', l.category_id, 'title', l.title, 'description', l.description, 'unit', l.unit,
    'quantity', l.quantity, 'available_quantity', l.available_quantity, 'capacity', l.capacity,
    'price_kind', l.price_kind, 'price_cents', l.price_cents, 'currency', l.currency,
    'condition', l.condition, 'waste_code', l.waste_code, 'hazardous', l.hazardous, 'ess', o.is_ess,
    'visibility', l.visibility, 'latitude', l.latitude, 'longitude', l.longitude,
    'available_from', {from_}, 'available_until', {until}, 'published_at', {published}"""
_UTC: Final = """to_char({column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')"""
HIT_JSON: Final = _HIT_JSON.format(
    from_=_UTC.format(column="l.available_from"),
    until=_UTC.format(column="l.available_until"),
    published=_UTC.format(column="l.published_at"),
)


async def hits_json(conn: Connection, ids: list[uuid.UUID], query: SearchQuery, viewer: Viewer) -> bytes:
    """The rows of the page's hits as one JSON array in the order of `ids` (`[]` without ids),
    visibility checked again: this statement sees a later snapshot than the one that chose them."""
    if not ids:
        return b"[]"
    p = Params()
    encoded: bytes = await conn.fetchval(
        f"SELECT convert_to(({hits_json_sql(p, ids, query, viewer)}), 'UTF8')", *p.values
    )
    return encoded


def hits_json_sql(p: Params, ids: list[uuid.UUID], query: SearchQuery, viewer: Viewer) -> str:
    """The statement of `hits_json`, its parameters added to `p` (it can be a scalar subquery)."""
    pairs = [HIT_JSON]
    ids_param = p.add(ids)
    where = visible(p, viewer)
    if query.near is not None:
        distance = DISTANCE_KM.format(lat=p.add(query.near.latitude), lon=p.add(query.near.longitude))
        pairs.append(f"'distance_km', {distance}")
    objects = f"json_agg(json_build_object({', '.join(pairs)}) ORDER BY page.position)"
    return f"""SELECT coalesce({objects}, '[]')::text
        FROM unnest({ids_param}::uuid[]) WITH ORDINALITY AS page(id, position)
        JOIN listings l ON l.id = page.id
        JOIN organisations o ON o.id = l.organisation_id
        WHERE {where}"""


# The result cache's reads and upkeep (search/postgres/cache.py, migration 0011).
GENERATION_SQL: Final = "SELECT value, now() FROM search_generation"
# Read before the result is computed (see `Catalogue`).
CATALOGUE_SQL: Final = """SELECT g.value, (
        SELECT min(l.available_until) FROM listings l
        WHERE l.status = 'published' AND l.available_until > now()) AS next_expiry
    FROM search_generation g"""
# $1 the entry's generation, $2 the generation read now, $3 the words. The changes are matched against
# the tsquery as it is now: the typo vocabulary only grows, and a word new to it arrives with the
# listings that contain it, which are changes since the entry and match the widened tsquery.
UNTOUCHED_SQL: Final = f"""WITH q AS MATERIALIZED ({TSQUERY.format(words="$3")})
    SELECT g.changes_kept_after <= $1
       AND NOT EXISTS (
           SELECT 1 FROM search_changes c
           WHERE c.generation > $1 AND c.generation <= $2
             AND (c.document IS NULL OR c.document @@ (SELECT query FROM q)))
    FROM search_generation g"""
# The change log is kept this long: a result older than that is computed again.
CHANGES_KEPT: Final = timedelta(hours=1)
_FORGET_CHANGES: Final = """WITH gone AS (
        DELETE FROM search_changes WHERE logged_at < clock_timestamp() - $1::interval RETURNING generation)
    UPDATE search_generation
    SET changes_kept_after = greatest(changes_kept_after, (SELECT max(generation) FROM gone))
    WHERE EXISTS (SELECT 1 FROM gone)
    RETURNING (SELECT count(*) FROM gone)"""


async def untouched(conn: Connection, since: int, generation: int, words: list[str]) -> bool:
    """Whether no change after generation `since`, up to `generation`, can touch the result of a
    search of `words` (see search/postgres/cache.py)."""
    found: bool | None = await conn.fetchval(UNTOUCHED_SQL, since, generation, words)
    return bool(found)


async def forget_old_changes(conn: Connection, kept: timedelta = CHANGES_KEPT) -> int:
    """Delete the change log older than `kept`; results older than that are computed again."""
    deleted: int | None = await conn.fetchval(_FORGET_CHANGES, kept)
    return deleted or 0
