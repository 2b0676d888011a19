"""SQL for matches: the candidates of one listing, and the synergy that follows a matched pair."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from api.db.pool import Connection
from api.listings.repository import COLUMNS
from api.listings.repository import to_listing as _to_listing
from api.synergies.repository import COLUMNS as SYNERGY_COLUMNS
from api.synergies.repository import to_synergy
from schemas.listings import Listing
from schemas.synergies import Synergy

# Statuses in which a synergy still follows its pair; a match request reuses one of these.
OPEN_STATUSES = ["in_progress", "studied", "potential"]

# What a listing may match ($1, $2 its point, $3 the opposite direction, $7 whether it is a service):
# what search would show the caller ($8 the caller's networks; the first two terms are the predicate
# of the index of migration 0016), of another organisation ($6), within $5 metres, in the same EWC
# chapter when both have a code ($9), in its family (the top-level category $11) and in the category
# filter if any ($10).
_MATCHABLE = """l.status = 'published' AND l.member_active
    AND l.direction = $3
    AND (l.nature = 'service') = $7
    AND earth_box(ll_to_earth($1::float8, $2::float8), $5::float8) @> ll_to_earth(l.latitude, l.longitude)
    AND earth_distance(ll_to_earth($1::float8, $2::float8), ll_to_earth(l.latitude, l.longitude)) <= $5
    AND (l.available_until IS NULL OR l.available_until > now())
    AND (l.available_quantity IS NULL OR l.available_quantity > 0)
    AND (l.visibility = 'public' OR l.network_id = ANY($8::uuid[]))
    AND l.organisation_id <> $6
    AND ($9::text IS NULL OR l.waste_code IS NULL OR left(l.waste_code, 2) = left($9, 2))
    AND (l.category_id = $11 OR starts_with(l.category_id, $11 || '.'))
    AND ($10::text IS NULL OR l.category_id = $10 OR starts_with(l.category_id, $10 || '.'))"""
_SELECTED = f"""{COLUMNS},
    earth_distance(ll_to_earth($1::float8, $2::float8), ll_to_earth(l.latitude, l.longitude)) AS metres"""
# A k-nearest-neighbour walk of listings_matches_idx (direction, category, point).
_NEAREST = "ORDER BY ll_to_earth(l.latitude, l.longitude) <-> ll_to_earth($1::float8, $2::float8) LIMIT $12"
# Each candidate with its kg per unit and CO2e factor, the listing's own ($13 its unit), and the
# synergy still following the pair ($14 the listing's id, $15 its network), if any: its inputs_key
# is detection's, offer first (api/synergies/candidate.py `substitution_key`), in the offer's network.
_FACTORS = """SELECT found.*, found.metres / 1000 AS km,
       coalesce(u.kg_factor::float8, (c.kg_per_unit ->> found.unit)::float8) AS kg_per_unit,
       c.co2e_kg_per_kg::float8 AS co2e_kg_per_kg,
       (SELECT coalesce(su.kg_factor::float8, (sc.kg_per_unit ->> $13)::float8)
        FROM categories sc JOIN units su ON su.code = $13 WHERE sc.id = $4) AS own_kg_per_unit,
       (SELECT sc.co2e_kg_per_kg::float8 FROM categories sc WHERE sc.id = $4) AS own_co2e_kg_per_kg,
       (SELECT s.id FROM synergies s
        WHERE s.network_id = CASE WHEN $3 = 'need' THEN $15::uuid ELSE found.network_id END
          AND s.inputs_key = CASE WHEN $3 = 'need'
                                  THEN 'substitution|listing:' || $14::uuid || '|listing:' || found.id
                                  ELSE 'substitution|listing:' || found.id || '|listing:' || $14::uuid END
          AND s.status IN ('in_progress', 'studied', 'potential')
        ORDER BY array_position(ARRAY['in_progress', 'studied', 'potential'], s.status), s.created_at
        LIMIT 1) AS synergy_id
FROM ({found}) found
JOIN categories c ON c.id = found.category_id
JOIN units u ON u.code = found.unit"""

# The $12 nearest candidates of the listing's own category ($4), walked by the index.
NEAREST_OF_CATEGORY = _FACTORS.format(
    found=f"""SELECT {_SELECTED}, 0 AS tier FROM listings l
    WHERE {_MATCHABLE} AND l.category_id = $4 {_NEAREST}"""
)
# The $12 nearest of the other categories of its family (the top-level category $11), each category
# walked by the index; asked only when its own category has fewer than wanted.
NEAREST_OF_FAMILY = _FACTORS.format(
    found=f"""SELECT n.* FROM categories f
    CROSS JOIN LATERAL (
        SELECT {_SELECTED}, 1 AS tier FROM listings l
        WHERE {_MATCHABLE} AND l.category_id = f.id {_NEAREST}
    ) n
    WHERE (f.id = $11 OR starts_with(f.id, $11 || '.')) AND f.id <> $4
    ORDER BY n.metres, n.id LIMIT $12"""
)
# Whether one listing ($12) is a candidate, by the same rules.
CANDIDATE = _FACTORS.format(
    found=f"""SELECT {_SELECTED}, (l.category_id <> $4)::int AS tier FROM listings l
    WHERE {_MATCHABLE} AND l.id = $12"""
)


@dataclass(frozen=True, slots=True)
class Factors:
    kg_per_unit: float | None
    co2e_kg_per_kg: float | None


@dataclass(frozen=True, slots=True)
class Candidate:
    listing: Listing
    km: float
    factors: Factors
    own_factors: Factors
    """The matched listing's factors and those of the listing it matches."""
    synergy_id: uuid.UUID | None


_EXTRA = ("metres", "tier", "km", "kg_per_unit", "co2e_kg_per_kg", "own_kg_per_unit", "own_co2e_kg_per_kg")


def _candidate(row: Any) -> Candidate:
    fields = dict(row)
    synergy_id = fields.pop("synergy_id")
    km, kg, co2e, own_kg, own_co2e = (fields[k] for k in _EXTRA[2:])
    for name in _EXTRA:
        del fields[name]
    return Candidate(_to_listing(fields), float(km), Factors(kg, co2e), Factors(own_kg, own_co2e), synergy_id)


def candidate_params(
    listing: Listing, *, networks: Sequence[uuid.UUID], metres: float, category: str | None, last: object
) -> list[Any]:
    """The statements' parameters for `listing`; `last` is $12, the limit or the one listing's id."""
    return [
        listing.latitude,
        listing.longitude,
        "need" if listing.direction == "offer" else "offer",
        listing.category_id,
        metres,
        listing.organisation_id,
        listing.nature == "service",
        list(networks),
        listing.waste_code,
        category,
        listing.category_id.split(".")[0],
        last,
        listing.unit,
        listing.id,
        listing.network_id,
    ]


async def candidates(
    conn: Connection,
    listing: Listing,
    *,
    networks: Sequence[uuid.UUID],
    metres: float,
    category: str | None,
    limit: int,
) -> list[Candidate]:
    """The `limit` nearest listings `listing` may match: of its own category, then of its family."""
    params = candidate_params(listing, networks=networks, metres=metres, category=category, last=limit)
    rows = list(await conn.fetch(NEAREST_OF_CATEGORY, *params))
    if len(rows) < limit:
        params[11] = limit - len(rows)
        rows += await conn.fetch(NEAREST_OF_FAMILY, *params)
    return [_candidate(r) for r in rows]


async def candidate(
    conn: Connection, listing: Listing, other_id: uuid.UUID, *, networks: Sequence[uuid.UUID], metres: float
) -> Candidate | None:
    """`other_id` as a candidate of `listing`, or None when it is not one."""
    params = candidate_params(listing, networks=networks, metres=metres, category=None, last=other_id)
    row = await conn.fetchrow(CANDIDATE, *params)
    return None if row is None else _candidate(row)


async def open_synergy_for_update(conn: Connection, network_id: uuid.UUID, inputs_key: str) -> Synergy | None:
    """The synergy following the pair, locked: in progress first, then studied, then potential."""
    row = await conn.fetchrow(
        f"""SELECT {SYNERGY_COLUMNS} FROM synergies s
            WHERE s.network_id = $1 AND s.inputs_key = $2 AND s.status = ANY($3::text[])
            ORDER BY array_position($3::text[], s.status), s.created_at LIMIT 1 FOR UPDATE""",
        network_id,
        inputs_key,
        OPEN_STATUSES,
    )
    return None if row is None else to_synergy(row)


async def synergy_of_exchange(
    conn: Connection, *, transfer_id: uuid.UUID | None = None, reservation_id: uuid.UUID | None = None
) -> uuid.UUID | None:
    synergy_id: uuid.UUID | None = await conn.fetchval(
        """SELECT synergy_id FROM synergy_exchanges
           WHERE transfer_id = $1 OR reservation_id = $2""",
        transfer_id,
        reservation_id,
    )
    return synergy_id
