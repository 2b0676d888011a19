"""SQL for matches: the candidates of one listing, and the synergy that follows a matched pair."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import msgspec

from api.db.pool import Connection
from api.listings.repository import COLUMNS
from api.listings.repository import to_listing as _to_listing
from api.synergies.repository import COLUMNS as SYNERGY_COLUMNS
from api.synergies.repository import to_synergy
from schemas.listings import Listing
from schemas.synergies import Synergy, SynergyExplanation

# Statuses in which a synergy still follows its pair; a match request reuses one of these.
OPEN_STATUSES = ["in_progress", "studied", "potential"]

# The candidates of one listing ($1-$4: its point, direction and category family). A candidate is
# what search would show the caller ($8 the caller's networks; the first two terms are the predicate
# of the partial GiST index on ll_to_earth, which the earth_box bound reads), of the opposite
# direction and the same nature (services with services), in the same top-level category, in the
# same EWC chapter when both have a code, within $5 metres, of another organisation ($6). The best
# $11 by category, then waste code, then distance (detection's order) are scored in Python.
CANDIDATES = f"""
SELECT {COLUMNS}, p.metres / 1000 AS km,
       coalesce(u.kg_factor::float8, (c.kg_per_unit ->> l.unit)::float8) AS kg_per_unit,
       c.co2e_kg_per_kg::float8 AS co2e_kg_per_kg
FROM listings l
CROSS JOIN LATERAL (
    SELECT earth_distance(ll_to_earth($1::float8, $2::float8), ll_to_earth(l.latitude, l.longitude)) AS metres
) p
JOIN categories c ON c.id = l.category_id
JOIN units u ON u.code = l.unit
WHERE l.status = 'published' AND l.member_active
  AND earth_box(ll_to_earth($1::float8, $2::float8), $5::float8) @> ll_to_earth(l.latitude, l.longitude)
  AND p.metres <= $5
  AND l.direction = $3
  AND (l.category_id = $4 OR starts_with(l.category_id, $4 || '.'))
  AND (l.nature = 'service') = $7
  AND (l.available_until IS NULL OR l.available_until > now())
  AND (l.available_quantity IS NULL OR l.available_quantity > 0)
  AND (l.visibility = 'public' OR l.network_id = ANY($8::uuid[]))
  AND l.organisation_id <> $6
  AND ($9::text IS NULL OR l.waste_code IS NULL OR left(l.waste_code, 2) = left($9, 2))
  AND ($10::text IS NULL OR l.category_id = $10 OR starts_with(l.category_id, $10 || '.'))
  AND ($12::uuid IS NULL OR l.id = $12)
ORDER BY l.category_id = $13 DESC, l.waste_code IS NOT DISTINCT FROM $9 DESC, p.metres, l.id
LIMIT $11
"""


@dataclass(frozen=True, slots=True)
class Candidate:
    listing: Listing
    km: float
    kg_per_unit: float | None
    co2e_kg_per_kg: float | None


@dataclass(frozen=True, slots=True)
class Factors:
    kg_per_unit: float | None
    co2e_kg_per_kg: float | None


def _candidate(row: Any) -> Candidate:
    fields = dict(row)
    km, kg, co2e = fields.pop("km"), fields.pop("kg_per_unit"), fields.pop("co2e_kg_per_kg")
    return Candidate(_to_listing(fields), float(km), kg, co2e)


async def factors(conn: Connection, listing: Listing) -> Factors:
    """A listing's kg per unit and CO2e avoided per kg (from its unit and category)."""
    row = await conn.fetchrow(
        """SELECT coalesce(u.kg_factor::float8, (c.kg_per_unit ->> $2)::float8) AS kg_per_unit,
                  c.co2e_kg_per_kg::float8 AS co2e_kg_per_kg
           FROM categories c JOIN units u ON u.code = $2 WHERE c.id = $1""",
        listing.category_id,
        listing.unit,
    )
    return Factors(None, None) if row is None else Factors(row["kg_per_unit"], row["co2e_kg_per_kg"])


async def candidates(
    conn: Connection,
    listing: Listing,
    *,
    networks: Sequence[uuid.UUID],
    metres: float,
    category: str | None,
    limit: int,
    only: uuid.UUID | None = None,
) -> list[Candidate]:
    rows = await conn.fetch(
        CANDIDATES,
        listing.latitude,
        listing.longitude,
        "need" if listing.direction == "offer" else "offer",
        listing.category_id.split(".")[0],
        metres,
        listing.organisation_id,
        listing.nature == "service",
        list(networks),
        listing.waste_code,
        category,
        limit,
        only,
        listing.category_id,
    )
    return [_candidate(r) for r in rows]


async def open_synergies(conn: Connection, pairs: Sequence[tuple[uuid.UUID, str]]) -> dict[str, uuid.UUID]:
    """The synergy still following each (network, inputs_key) pair, by inputs_key."""
    if not pairs:
        return {}
    rows = await conn.fetch(
        """SELECT DISTINCT ON (s.inputs_key) s.inputs_key, s.id FROM synergies s
           JOIN unnest($1::uuid[], $2::text[]) AS p(network_id, inputs_key)
             ON s.network_id = p.network_id AND s.inputs_key = p.inputs_key
           WHERE s.status = ANY($3::text[])
           ORDER BY s.inputs_key, array_position($3::text[], s.status), s.created_at""",
        [n for n, _ in pairs],
        [k for _, k in pairs],
        OPEN_STATUSES,
    )
    return {r["inputs_key"]: r["id"] for r in rows}


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


async def insert_synergy(
    conn: Connection,
    *,
    network_id: uuid.UUID,
    category_id: str,
    organisations: list[uuid.UUID],
    listings: list[uuid.UUID],
    score: float,
    explanation: SynergyExplanation,
    fingerprint: str,
    inputs_key: str,
) -> uuid.UUID | None:
    """A new potential substitution synergy; None when that fingerprint was proposed already."""
    synergy_id: uuid.UUID | None = await conn.fetchval(
        """INSERT INTO synergies (network_id, kind, category_id, organisation_ids, listing_ids, score,
               explanation, fingerprint, inputs_key)
           VALUES ($1, 'substitution', $2, $3, $4, $5, $6::jsonb, $7, $8)
           ON CONFLICT (network_id, fingerprint) DO NOTHING RETURNING id""",
        network_id,
        category_id,
        organisations,
        listings,
        score,
        msgspec.to_builtins(explanation),
        fingerprint,
        inputs_key,
    )
    return synergy_id


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
