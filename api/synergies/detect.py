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
from api.synergies.candidate import ACTIVE_MEMBERS, Candidate, digest, split
from api.synergies.lifecycle import SYNERGY
from api.synergies.scoring import Scoring, component
from schemas.synergies import DetectionResult, SynergyExplanation

__all__ = ["Candidate", "candidates", "detect", "detect_for", "substitution"]

_ACTIVE = ACTIVE_MEMBERS

SUBSTITUTIONS = f"""
WITH {_ACTIVE},
supply AS (
    SELECT 'flow' AS source, f.id, f.version, f.organisation_id, f.category_id, f.waste_code, f.quantity,
           f.unit, f.period, f.latitude, f.longitude, f.months::int[] AS months, f.destination
    FROM flows f JOIN active a USING (organisation_id) JOIN categories c ON c.id = f.category_id
    WHERE f.network_id = $1 AND f.direction = 'output' AND c.nature <> 'service'
    UNION ALL
    SELECT 'listing', l.id, l.version, l.organisation_id, l.category_id, l.waste_code, l.available_quantity,
           l.unit, NULL, l.latitude, l.longitude, '{{}}'::int[], NULL
    FROM listings l JOIN active a USING (organisation_id)
    WHERE l.network_id = $1 AND l.direction = 'offer' AND l.status = 'published' AND l.nature <> 'service'
      AND l.available_quantity > 0
),
demand AS (
    SELECT 'flow' AS source, f.id, f.version, f.organisation_id, f.category_id, f.waste_code, f.quantity,
           f.unit, f.period, f.latitude, f.longitude, f.months::int[] AS months
    FROM flows f JOIN active a USING (organisation_id) JOIN categories c ON c.id = f.category_id
    WHERE f.network_id = $1 AND f.direction = 'input' AND c.nature <> 'service'
    UNION ALL
    SELECT 'listing', l.id, l.version, l.organisation_id, l.category_id, l.waste_code, l.quantity,
           l.unit, NULL, l.latitude, l.longitude, '{{}}'::int[]
    FROM listings l JOIN active a USING (organisation_id)
    WHERE l.network_id = $1 AND l.direction = 'need' AND l.status = 'published' AND l.nature <> 'service'
),
pairs AS (
    SELECT s.source AS s_source, s.id AS s_id, s.version AS s_version, s.organisation_id AS s_org,
           s.category_id AS s_category, s.waste_code AS s_waste, s.quantity AS s_quantity, s.unit AS s_unit,
           s.period AS s_period, s.months AS s_months, s.destination AS s_destination,
           d.source AS d_source, d.id AS d_id, d.version AS d_version, d.organisation_id AS d_org,
           d.category_id AS d_category, d.waste_code AS d_waste, d.quantity AS d_quantity, d.unit AS d_unit,
           d.period AS d_period, d.months AS d_months, p.metres
    FROM supply s
    JOIN demand d
      ON d.organisation_id <> s.organisation_id
     AND split_part(d.category_id, '.', 1) = split_part(s.category_id, '.', 1)
     AND (s.waste_code IS NULL OR d.waste_code IS NULL OR left(s.waste_code, 2) = left(d.waste_code, 2))
    CROSS JOIN LATERAL (
        SELECT earth_distance(ll_to_earth(s.latitude, s.longitude), ll_to_earth(d.latitude, d.longitude))
            AS metres
    ) p
    WHERE p.metres <= $2
),
ranked AS (
    -- The best few supplies of each demand: same category first, then same code, then nearest.
    SELECT *, row_number() OVER (
        PARTITION BY d_source, d_id
        ORDER BY s_category = d_category DESC, s_waste IS NOT DISTINCT FROM d_waste DESC, metres, s_id
    ) AS rank
    FROM pairs
)
SELECT r.*, r.metres / 1000 AS km,
       coalesce(us.kg_factor::float8, (cs.kg_per_unit ->> r.s_unit)::float8) AS s_kg_per_unit,
       coalesce(ud.kg_factor::float8, (cd.kg_per_unit ->> r.d_unit)::float8) AS d_kg_per_unit,
       cs.co2e_kg_per_kg::float8 AS co2e_kg_per_kg
FROM ranked r
JOIN categories cs ON cs.id = r.s_category
JOIN categories cd ON cd.id = r.d_category
JOIN units us ON us.code = r.s_unit
JOIN units ud ON ud.code = r.d_unit
WHERE r.rank <= $3
"""  # noqa: S608 (constant SQL)


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
    inputs_key = f"substitution|{s_ref}|{d_ref}"
    flows, listings = split([(row["s_source"], row["s_id"]), (row["d_source"], row["d_id"])])
    return Candidate(
        kind="substitution",
        category_id=row["s_category"],
        organisations=[row["s_org"], row["d_org"]],
        flows=flows,
        listings=listings,
        inputs_key=inputs_key,
        fingerprint=digest(f"{inputs_key}|{row['s_version']}|{row['d_version']}"),
        score=score,
        explanation=SynergyExplanation(
            components=components,
            summary=f"{row['s_category']} from {s_ref} to {d_ref}, {km:.1f} km apart",
            distance_km=round(km, 3),
            mass_kg_per_year=None if mass is None else round(mass, 3),
            transport_co2e_kg_per_year=None if transport_kg is None else round(transport_kg, 3),
        ),
    )


async def candidates(conn: Connection, network_id: uuid.UUID, config: Scoring) -> list[Candidate]:
    """Every candidate of the network as the inputs stand now, scored and explained."""
    pairs = await conn.fetch(
        SUBSTITUTIONS, network_id, config.max_distance_km * 1000, config.candidates_per_demand
    )
    return [substitution(r, config) for r in pairs] + await pooling.candidates(conn, network_id, config)


async def detect(conn: Connection, network_id: uuid.UUID, config: Scoring | None = None) -> DetectionResult:
    """Propose the network's new candidates (see the module docstring); also what the sweep runs."""
    config = config or scoring.current()
    found = await candidates(conn, network_id, config)
    known = await conn.fetch(
        "SELECT id, status, fingerprint, inputs_key FROM synergies WHERE network_id = $1 FOR UPDATE",
        network_id,
    )
    fingerprints = {r["fingerprint"] for r in known}
    by_inputs: dict[str, list[Any]] = {}
    for r in known:
        by_inputs.setdefault(r["inputs_key"], []).append(r)
    SYNERGY.step(None, "propose", "system")
    created: list[uuid.UUID] = []
    counts = {"substitution": 0, "pooling": 0}
    already = 0
    for candidate in found:
        # Sent as text so it works on any connection, with or without a jsonb codec (the demo loader's).
        explanation = msgspec.json.encode(candidate.explanation).decode()
        if candidate.fingerprint in fingerprints:
            already += 1
            continue
        same = by_inputs.get(candidate.inputs_key, [])
        potential = next((r for r in same if r["status"] == "potential"), None)
        if potential is not None:
            await conn.execute(
                """UPDATE synergies SET fingerprint = $2, score = $3, explanation = $4::text::jsonb,
                       organisation_ids = $5, flow_ids = $6, listing_ids = $7, version = version + 1,
                       updated_at = now() WHERE id = $1""",
                potential["id"],
                candidate.fingerprint,
                candidate.score,
                explanation,
                candidate.organisations,
                candidate.flows,
                candidate.listings,
            )
            already += 1
            continue
        if any(r["status"] in ("studied", "in_progress") for r in same):
            already += 1
            continue
        synergy_id = await conn.fetchval(
            """INSERT INTO synergies (network_id, kind, category_id, organisation_ids, flow_ids, listing_ids,
                   score, explanation, fingerprint, inputs_key)
               VALUES ($1, $2, $3, $4, $5, $6, $7, $8::text::jsonb, $9, $10)
               ON CONFLICT (network_id, fingerprint) DO NOTHING RETURNING id""",
            network_id,
            candidate.kind,
            candidate.category_id,
            candidate.organisations,
            candidate.flows,
            candidate.listings,
            candidate.score,
            explanation,
            candidate.fingerprint,
            candidate.inputs_key,
        )
        if synergy_id is None:  # a concurrent run proposed it first
            already += 1
            continue
        created.append(synergy_id)
        counts[candidate.kind] += 1
    if created:
        await conn.executemany(
            "INSERT INTO synergy_events (synergy_id, action, to_status) VALUES ($1, 'propose', 'potential')",
            [(i,) for i in created],
        )
        await outbox.emit(conn, "synergies.proposed", network_id, {"proposed": len(created)})
    return DetectionResult(
        proposed=len(created),
        substitutions=counts["substitution"],
        poolings=counts["pooling"],
        already_known=already,
        synergy_ids=created,
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
