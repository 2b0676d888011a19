"""Detection: candidate synergies come from SQL (category and waste-code joins, a geographic bound);
Python only scores and explains them, then records the new ones.

A candidate's `fingerprint` is its inputs with their versions (flows and listings bump `version` on
every change), its `inputs_key` the same without versions. A fingerprint is proposed once per network
(unique in PostgreSQL), whatever became of it: dismissed proposals are not proposed again until an
input changes. When inputs change, a still `potential` synergy on the same inputs is refreshed in
place (new score and fingerprint); one being studied or carried out is left alone; a dismissed,
abandoned or realised one gets a new proposal beside it.
"""

from __future__ import annotations

import uuid
from typing import Any

import msgspec

from api.auth import policy
from api.auth.principal import Principal
from api.db import outbox
from api.db.pool import Connection
from api.networks.service import get_network
from api.synergies import pooling, scoring
from api.synergies.candidate import (
    ACTIVE_MEMBERS,
    Candidate,
    split,
    substitution_fingerprint,
    substitution_key,
)
from api.synergies.lifecycle import SYNERGY
from api.synergies.scoring import Scoring, component
from schemas.synergies import DetectionResult, SynergyExplanation

__all__ = ["Candidate", "candidates", "detect", "detect_for", "propose", "substitution"]

_ACTIVE = ACTIVE_MEMBERS

# One walk of flows_supply_idx or listings_supply_idx (migration detection_speed): the $3 supplies
# nearest the demand `d` among those of {category} whose waste code (or '') is {key} the demand's,
# within $2 metres, of another active member ($1 the network). The cube distance the walk orders
# by grows with earth_distance, so the walk's order is detection's (nearest, then id on a tie).
_FLOWS = """SELECT 'flow' AS source, f.id, f.version, f.organisation_id, f.category_id, f.waste_code,
           f.quantity, f.unit, f.period::text AS period, f.months::int[] AS months, f.destination,
           earth_distance(ll_to_earth(f.latitude, f.longitude), d.site) AS metres
    FROM flows f
    WHERE f.network_id = $1 AND f.direction = 'output' AND f.category_id = {category}
      AND coalesce(f.waste_code, '') {key} d.waste_key
      AND earth_box(d.site, $2) @> ll_to_earth(f.latitude, f.longitude)
      AND earth_distance(ll_to_earth(f.latitude, f.longitude), d.site) <= $2
      AND f.organisation_id <> d.organisation_id AND f.organisation_id <> ALL (d.inactive)
      AND (f.waste_code IS NULL OR d.waste_code IS NULL OR left(f.waste_code, 2) = left(d.waste_code, 2))
    ORDER BY ll_to_earth(f.latitude, f.longitude) <-> d.site, f.id LIMIT $3"""
_LISTINGS = """SELECT 'listing', l.id, l.version, l.organisation_id, l.category_id, l.waste_code,
           l.available_quantity, l.unit, NULL, '{{}}'::int[], NULL,
           earth_distance(ll_to_earth(l.latitude, l.longitude), d.site)
    FROM listings l
    WHERE l.network_id = $1 AND l.direction = 'offer' AND l.status = 'published' AND l.member_active
      AND l.nature <> 'service' AND l.category_id = {category}
      AND coalesce(l.waste_code, '') {key} d.waste_key{guard}
      AND earth_box(d.site, $2) @> ll_to_earth(l.latitude, l.longitude)
      AND earth_distance(ll_to_earth(l.latitude, l.longitude), d.site) <= $2
      AND l.organisation_id <> d.organisation_id AND l.available_quantity > 0
      AND (l.waste_code IS NULL OR d.waste_code IS NULL OR left(l.waste_code, 2) = left(d.waste_code, 2))
    ORDER BY ll_to_earth(l.latitude, l.longitude) <-> d.site, l.id LIMIT $3"""


# A walk of listings_supply_idx for a (category, waste key) no offer has still visits dozens of pages
# (the GiST does not separate its text keys well): on 100 000 listings most walks of the first tier
# find nothing. This check, against the keys of the offers hashed once per statement, needs no Var
# of the walk, so PostgreSQL runs it before the walk (a one-time filter) and skips the walk.
_OFFER_KEYS = """
      AND ({category}, d.waste_key) IN (SELECT o.category_id, coalesce(o.waste_code, '') FROM listings o
          WHERE o.network_id = $1 AND o.direction = 'offer' AND o.status = 'published' AND o.member_active
            AND o.nature <> 'service')"""


def _nearest(category: str, key: str) -> str:
    """The $3 nearest output flows and the $3 nearest offers: the best $3 are among them."""
    guard = _OFFER_KEYS.format(category=category) if key == "=" else ""
    listings = _LISTINGS.format(category=category, key=key, guard=guard)
    return f"""SELECT * FROM (({_FLOWS.format(category=category, key=key)})
        UNION ALL ({listings})) n"""  # noqa: S608 (constant SQL)


def _same_category(key: str) -> str:
    return f"SELECT * FROM ({_nearest('d.category_id', key)}) n ORDER BY metres, id LIMIT $3"  # noqa: S608 (constant SQL)


def _other_categories(key: str) -> str:
    """The other categories of the demand's root, each walked, merged."""
    return f"""SELECT n.* FROM categories c CROSS JOIN LATERAL ({_nearest("c.id", key)}) n
        WHERE split_part(c.id, '.', 1) = d.root AND c.id <> d.category_id AND c.nature <> 'service'
        ORDER BY n.metres, n.id LIMIT $3"""  # noqa: S608 (constant SQL)


# The best $3 supplies of each demand: the same category first, then the same waste code, then the
# nearest. The four tiers are asked in that order and PostgreSQL's Append runs its branches in
# order, so the LIMIT stops as soon as the first tiers have $3: most demands walk two indexes once.
# Flows belong to members (a foreign key), so a flow's organisation is active unless it is one of the
# network's few inactive members.
SUBSTITUTIONS = f"""
WITH {_ACTIVE},
demand AS (
    SELECT 'flow' AS source, f.id, f.version, f.organisation_id, f.category_id, f.waste_code, f.quantity,
           f.unit, f.period, f.months::int[] AS months, ll_to_earth(f.latitude, f.longitude) AS site
    FROM flows f JOIN active a USING (organisation_id) JOIN categories c ON c.id = f.category_id
    WHERE f.network_id = $1 AND f.direction = 'input' AND c.nature <> 'service'
    UNION ALL
    SELECT 'listing', l.id, l.version, l.organisation_id, l.category_id, l.waste_code, l.quantity,
           l.unit, NULL, '{{}}'::int[], ll_to_earth(l.latitude, l.longitude)
    FROM listings l JOIN active a USING (organisation_id)
    WHERE l.network_id = $1 AND l.direction = 'need' AND l.status = 'published' AND l.nature <> 'service'
),
keyed AS (
    SELECT *, coalesce(waste_code, '') AS waste_key, split_part(category_id, '.', 1) AS root,
           (SELECT coalesce(array_agg(organisation_id), '{{}}') FROM memberships
             WHERE network_id = $1 AND status <> 'active') AS inactive
    FROM demand
)
SELECT s.source AS s_source, s.id AS s_id, s.version AS s_version, s.organisation_id AS s_org,
       s.category_id AS s_category, s.waste_code AS s_waste, s.quantity AS s_quantity, s.unit AS s_unit,
       s.period AS s_period, s.months AS s_months, s.destination AS s_destination,
       d.source AS d_source, d.id AS d_id, d.version AS d_version, d.organisation_id AS d_org,
       d.category_id AS d_category, d.waste_code AS d_waste, d.quantity AS d_quantity, d.unit AS d_unit,
       d.period AS d_period, d.months AS d_months, s.metres / 1000 AS km,
       coalesce(us.kg_factor::float8, (cs.kg_per_unit ->> s.unit)::float8) AS s_kg_per_unit,
       coalesce(ud.kg_factor::float8, (cd.kg_per_unit ->> d.unit)::float8) AS d_kg_per_unit,
       cs.co2e_kg_per_kg::float8 AS co2e_kg_per_kg
FROM keyed d
CROSS JOIN LATERAL (
    SELECT * FROM (
        ({_same_category("=")}) UNION ALL ({_same_category("<>")})
        UNION ALL ({_other_categories("=")}) UNION ALL ({_other_categories("<>")})
    ) tiers LIMIT $3
) s
JOIN categories cs ON cs.id = s.category_id
JOIN categories cd ON cd.id = d.category_id
JOIN units us ON us.code = s.unit
JOIN units ud ON ud.code = d.unit
"""  # noqa: S608 (constant SQL)


def _keys(row: Any) -> tuple[str, str]:
    """(inputs_key, fingerprint) of one pair from the SQL above, without scoring it."""
    inputs_key = substitution_key(f"{row['s_source']}:{row['s_id']}", f"{row['d_source']}:{row['d_id']}")
    return inputs_key, substitution_fingerprint(inputs_key, row["s_version"], row["d_version"])


def substitution(row: Any, config: Scoring) -> Candidate:
    """Score one supply x demand pair from the SQL above."""
    km = float(row["km"])
    s_kg = scoring.yearly_kg(row["s_quantity"], row["s_period"], row["s_kg_per_unit"])
    d_kg = scoring.yearly_kg(row["d_quantity"], row["d_period"], row["d_kg_per_unit"])
    if s_kg is not None and d_kg is not None:
        supply, demand, note = s_kg, d_kg, "kg"
    elif row["s_unit"] == row["d_unit"]:
        supply = float(row["s_quantity"]) * scoring.PERIODS_PER_YEAR[row["s_period"]]
        demand = float(row["d_quantity"]) * scoring.PERIODS_PER_YEAR[row["d_period"]]
        note = row["s_unit"]
    else:
        supply = demand = None  # type: ignore[assignment]
        note = f"{row['s_unit']} and {row['d_unit']}"
    mass = min(s_kg, d_kg) if s_kg is not None and d_kg is not None else None
    transport_value, transport_detail, transport_kg = scoring.transport_fit(km, mass, row["co2e_kg_per_kg"])
    parts = [
        ("category", *scoring.category_fit(row["s_category"], row["d_category"])),
        ("waste_code", *scoring.waste_code_fit(row["s_waste"], row["d_waste"])),
        ("quantity", *scoring.quantity_fit(supply, demand, note)),
        ("months", *scoring.months_fit(row["s_months"], row["d_months"])),
        ("distance", *scoring.distance_fit(config, km)),
        ("hierarchy", *scoring.hierarchy_gain(row["s_destination"])),
        ("transport", transport_value, transport_detail),
    ]
    components = [component(config, name, value, detail) for name, value, detail in parts]
    score = scoring.total(components)
    s_ref, d_ref = f"{row['s_source']}:{row['s_id']}", f"{row['d_source']}:{row['d_id']}"
    inputs_key, fingerprint = _keys(row)
    flows, listings = split([(row["s_source"], row["s_id"]), (row["d_source"], row["d_id"])])
    return Candidate(
        kind="substitution",
        category_id=row["s_category"],
        organisations=[row["s_org"], row["d_org"]],
        flows=flows,
        listings=listings,
        inputs_key=inputs_key,
        fingerprint=fingerprint,
        score=score,
        explanation=SynergyExplanation(
            components=components,
            summary=f"{row['s_category']} from {s_ref} to {d_ref}, {km:.1f} km apart",
            distance_km=round(km, 3),
            mass_kg_per_year=None if mass is None else round(mass, 3),
            transport_co2e_kg_per_year=None if transport_kg is None else round(transport_kg, 3),
        ),
    )


Lead = tuple[str, str, Any]
"""(inputs_key, fingerprint, what scores it): an unscored substitution row, or a pooling Candidate."""


async def _leads(conn: Connection, network_id: uuid.UUID, config: Scoring) -> list[Lead]:
    pairs = await conn.fetch(
        SUBSTITUTIONS, network_id, config.max_distance_km * 1000, config.candidates_per_demand
    )
    leads: list[Lead] = [(*_keys(r), r) for r in pairs]
    return leads + [
        (c.inputs_key, c.fingerprint, c) for c in await pooling.candidates(conn, network_id, config)
    ]


def _scored(lead: Lead, config: Scoring) -> Candidate:
    source = lead[2]
    return source if isinstance(source, Candidate) else substitution(source, config)


async def candidates(conn: Connection, network_id: uuid.UUID, config: Scoring) -> list[Candidate]:
    """Every candidate of the network as the inputs stand now, scored and explained."""
    return [_scored(lead, config) for lead in await _leads(conn, network_id, config)]


def _array(ids: list[uuid.UUID]) -> str:
    """A uuid[] as its text literal: arrays of arrays of any length go through `unnest` as text."""
    return "{" + ",".join(map(str, ids)) + "}"


def _columns(batch: list[Candidate]) -> list[list[Any]]:
    """The candidates' values column by column, for `unnest`. The explanation is sent as text so it
    works on any connection, with or without a jsonb codec (the demo loader's)."""
    return [
        [c.fingerprint for c in batch],
        [c.score for c in batch],
        [msgspec.json.encode(c.explanation).decode() for c in batch],
        [_array(c.organisations) for c in batch],
        [_array(c.flows) for c in batch],
        [_array(c.listings) for c in batch],
    ]


_REFRESH = """
UPDATE synergies s SET fingerprint = u.fingerprint, score = u.score, explanation = u.explanation::jsonb,
       organisation_ids = u.organisations::uuid[], flow_ids = u.flows::uuid[],
       listing_ids = u.listings::uuid[], version = s.version + 1, updated_at = now()
FROM unnest($1::uuid[], $2::text[], $3::float8[], $4::text[], $5::text[], $6::text[], $7::text[])
     AS u (id, fingerprint, score, explanation, organisations, flows, listings)
WHERE s.id = u.id"""
_PROPOSE = """
WITH created AS (
    INSERT INTO synergies (network_id, kind, category_id, fingerprint, score, explanation, organisation_ids,
                           flow_ids, listing_ids, inputs_key)
    SELECT $1, u.kind, u.category_id, u.fingerprint, u.score, u.explanation::jsonb, u.organisations::uuid[],
           u.flows::uuid[], u.listings::uuid[], u.inputs_key
    FROM unnest($2::text[], $3::text[], $4::text[], $5::float8[], $6::text[], $7::text[], $8::text[],
                $9::text[], $10::text[])
         AS u (kind, category_id, fingerprint, score, explanation, organisations, flows, listings, inputs_key)
    ON CONFLICT (network_id, fingerprint) DO NOTHING
    RETURNING id, kind
),
events AS (
    INSERT INTO synergy_events (synergy_id, action, to_status)
    SELECT id, $11, 'potential' FROM created
)
SELECT id, kind FROM created"""


async def propose(
    conn: Connection, network_id: uuid.UUID, batch: list[Candidate], action: str = "propose"
) -> list[Any]:
    """Insert `batch` as potential synergies, each with its lifecycle event (`action`: detection's
    `propose`, a match's `match`); rows (id, kind) of those whose fingerprint was new."""
    return list(
        await conn.fetch(
            _PROPOSE,
            network_id,
            [c.kind for c in batch],
            [c.category_id for c in batch],
            *_columns(batch),
            [c.inputs_key for c in batch],
            action,
        )
    )


async def detect(conn: Connection, network_id: uuid.UUID, config: Scoring | None = None) -> DetectionResult:
    """Propose the network's new candidates (see the module docstring); also what the sweep runs.

    Set-based: one statement refreshes the potential synergies whose inputs changed, one proposes
    the new ones with their events, whatever their number."""
    config = config or scoring.current()
    found = await _leads(conn, network_id, config)
    known = await conn.fetch(
        "SELECT id, status, fingerprint, inputs_key FROM synergies WHERE network_id = $1 FOR UPDATE",
        network_id,
    )
    fingerprints = {r["fingerprint"] for r in known}
    by_inputs: dict[str, list[Any]] = {}
    for r in known:
        by_inputs.setdefault(r["inputs_key"], []).append(r)
    SYNERGY.step(None, "propose", "system")
    refreshed: list[tuple[uuid.UUID, Lead]] = []
    new: dict[str, Lead] = {}
    already = 0
    # Only what is written is scored: a re-run over unchanged inputs scores nothing.
    for lead in found:
        inputs_key, fingerprint, _ = lead
        same = by_inputs.get(inputs_key, [])
        potential = next((r for r in same if r["status"] == "potential"), None)
        if fingerprint in fingerprints or fingerprint in new:
            already += 1
        elif potential is not None:
            refreshed.append((potential["id"], lead))
            already += 1
        elif any(r["status"] in ("studied", "in_progress") for r in same):
            already += 1
        else:
            new[fingerprint] = lead
    if refreshed:
        batch = [_scored(lead, config) for _, lead in refreshed]
        await conn.execute(_REFRESH, [i for i, _ in refreshed], *_columns(batch))
    rows: list[Any] = []
    if new:
        batch = [_scored(lead, config) for lead in new.values()]
        rows = await propose(conn, network_id, batch)
        already += len(batch) - len(rows)  # a concurrent run proposed those first
    if rows:
        await outbox.emit(conn, "synergies.proposed", network_id, {"proposed": len(rows)})
    kinds = [r["kind"] for r in rows]
    return DetectionResult(
        proposed=len(rows),
        substitutions=kinds.count("substitution"),
        poolings=kinds.count("pooling"),
        already_known=already,
        synergy_ids=[r["id"] for r in rows],
    )


async def detect_for(conn: Connection, principal: Principal, network_id: uuid.UUID) -> DetectionResult:
    """The API entry point: operators of the network run detection."""
    await get_network(conn, network_id)
    policy.flows_of_network(principal, network_id)
    result = await detect(conn, network_id)
    await conn.execute(
        """INSERT INTO synergy_detection_runs (network_id, ran_at) VALUES ($1, now())
           ON CONFLICT (network_id) DO UPDATE SET ran_at = now()""",
        network_id,
    )
    return result
