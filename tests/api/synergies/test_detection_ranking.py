"""Detection's per-demand walks of the indexes keep exactly what ranking every pair kept.

`EVERY_PAIR_RANKED` is detection's former statement: every supply x demand pair of a root category
measured, ranked by a window (same category, then same waste code, then nearest, then id) and cut
at `candidates_per_demand`. It is the definition the index walks must reproduce; the park below has
what makes the tiers matter: several categories of one root, codes of one chapter and of another, no
code, sites shared by several supplies (ties broken by id), sites beyond the bound, a suspended
member, drafts and exhausted offers.
"""

from __future__ import annotations

import json
import random
from decimal import Decimal

import asyncpg
import pytest

from api.synergies.candidate import ACTIVE_MEMBERS
from api.synergies.detect import candidates, substitution
from api.synergies.scoring import Scoring
from tests import factories
from tests.api.synergies.conftest import Park

EVERY_PAIR_RANKED = f"""
WITH {ACTIVE_MEMBERS},
supply AS (
    SELECT 'flow' AS source, f.id, f.version, f.organisation_id, f.category_id, f.waste_code, f.quantity,
           f.unit, f.period, f.months::int[] AS months, f.destination,
           ll_to_earth(f.latitude, f.longitude) AS site
    FROM flows f JOIN active a USING (organisation_id) JOIN categories c ON c.id = f.category_id
    WHERE f.network_id = $1 AND f.direction = 'output' AND c.nature <> 'service'
    UNION ALL
    SELECT 'listing', l.id, l.version, l.organisation_id, l.category_id, l.waste_code, l.available_quantity,
           l.unit, NULL, '{{}}'::int[], NULL, ll_to_earth(l.latitude, l.longitude)
    FROM listings l JOIN active a USING (organisation_id)
    WHERE l.network_id = $1 AND l.direction = 'offer' AND l.status = 'published' AND l.nature <> 'service'
      AND l.available_quantity > 0
),
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
ranked AS (
    -- The best few supplies of each demand: same category first, then same code, then nearest. Only
    -- the keys are ranked (every pair of a root category passes here); the rows are joined back after.
    SELECT s.source AS s_source, s.id AS s_id, d.source AS d_source, d.id AS d_id, p.metres,
           row_number() OVER (
               PARTITION BY d.source, d.id
               ORDER BY s.category_id = d.category_id DESC,
                        s.waste_code IS NOT DISTINCT FROM d.waste_code DESC, p.metres, s.id
           ) AS rank
    FROM supply s
    JOIN demand d
      ON d.organisation_id <> s.organisation_id
     AND split_part(d.category_id, '.', 1) = split_part(s.category_id, '.', 1)
     AND (s.waste_code IS NULL OR d.waste_code IS NULL OR left(s.waste_code, 2) = left(d.waste_code, 2))
    CROSS JOIN LATERAL (SELECT earth_distance(s.site, d.site) AS metres) p
    WHERE p.metres <= $2
)
SELECT r.s_source, r.s_id, s.version AS s_version, s.organisation_id AS s_org, s.category_id AS s_category,
       s.waste_code AS s_waste, s.quantity AS s_quantity, s.unit AS s_unit, s.period AS s_period,
       s.months AS s_months, s.destination AS s_destination,
       r.d_source, r.d_id, d.version AS d_version, d.organisation_id AS d_org, d.category_id AS d_category,
       d.waste_code AS d_waste, d.quantity AS d_quantity, d.unit AS d_unit, d.period AS d_period,
       d.months AS d_months, r.metres, r.rank, r.metres / 1000 AS km,
       coalesce(us.kg_factor::float8, (cs.kg_per_unit ->> s.unit)::float8) AS s_kg_per_unit,
       coalesce(ud.kg_factor::float8, (cd.kg_per_unit ->> d.unit)::float8) AS d_kg_per_unit,
       cs.co2e_kg_per_kg::float8 AS co2e_kg_per_kg
FROM ranked r
JOIN supply s ON s.source = r.s_source AND s.id = r.s_id
JOIN demand d ON d.source = r.d_source AND d.id = r.d_id
JOIN categories cs ON cs.id = s.category_id
JOIN categories cd ON cd.id = d.category_id
JOIN units us ON us.code = s.unit
JOIN units ud ON ud.code = d.unit
WHERE r.rank <= $3
"""


SITES = [(45.70, 4.85), (45.70, 4.85), (45.71, 4.86), (45.75, 4.80), (45.69, 4.87), (46.70, 4.85)]
"""The first two are one site: supplies there tie on distance. The last is beyond 100 km."""
CATEGORIES = ["testwood.pallets", "testwood.pallets", "testwood.offcuts", "testwood"]
CODES = [None, None, "15 01 03", "15 01 10", "17 01 07"]


async def _populate(db: asyncpg.Connection, park: Park, rng: random.Random) -> None:
    await db.execute(
        """INSERT INTO categories (id, parent_id, label_fr, label_en, nature, default_unit, allowed_units,
                                   kg_per_unit, co2e_kg_per_kg, factor_source)
           VALUES ('testwood.offcuts', 'testwood', 'Chutes', 'Offcuts', 'material', 'kg', '{kg,t}', '{}',
                   0.5, 'test')
           ON CONFLICT (id) DO NOTHING;
           INSERT INTO waste_codes (code, chapter, hazardous, description_en)
           VALUES ('17 01 07', '17', false, 'mixtures of concrete') ON CONFLICT (code) DO NOTHING"""
    )
    suspended = await factories.organisation(db, "Suspended")
    await factories.membership(db, park.network, suspended, "suspended")
    members = [park.carpenter, park.packer, park.other, suspended]
    for _ in range(70):
        latitude, longitude = rng.choice(SITES)
        await db.execute(
            """INSERT INTO flows (network_id, organisation_id, direction, category_id, waste_code, quantity,
                   unit, period, latitude, longitude, months, destination)
               VALUES ($1, $2, $3, $4, $5, $6, 'kg', $7, $8, $9, $10, $11)""",
            park.network,
            rng.choice(members),
            rng.choice(["input", "output", "output"]),
            rng.choice(CATEGORIES),
            rng.choice(CODES),
            Decimal(rng.randint(1, 900)),
            rng.choice(["week", "month", "year"]),
            latitude,
            longitude,
            sorted(rng.sample(range(1, 13), rng.randint(1, 12))) if rng.random() < 0.4 else [],
            rng.choice([None, "landfill", "recycling"]),
        )
    for _ in range(70):
        latitude, longitude = rng.choice(SITES)
        direction = rng.choice(["offer", "offer", "need"])
        quantity = Decimal(rng.randint(1, 900))
        await db.execute(
            """INSERT INTO listings (organisation_id, network_id, direction, category_id, nature, title, unit,
                   quantity, available_quantity, price_kind, waste_code, latitude, longitude, status)
               VALUES ($1, $2, $3, $4, 'material', 'Bois', 'kg', $5, $6, 'free', $7, $8, $9, $10)""",
            rng.choice(members),
            park.network,
            direction,
            rng.choice(CATEGORIES),
            quantity,
            (quantity if rng.random() < 0.85 else Decimal(0)) if direction == "offer" else None,
            rng.choice(CODES),
            latitude,
            longitude,
            rng.choice(["published", "published", "published", "draft"]),
        )
    await db.execute("ANALYZE flows; ANALYZE listings")


@pytest.mark.parametrize("seed", [1, 2])
async def test_the_walks_keep_the_candidates_that_ranking_every_pair_kept(
    db: asyncpg.Connection, park: Park, seed: int
) -> None:
    await db.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    await _populate(db, park, random.Random(seed))
    for per_demand in (1, 3, 5):
        config = Scoring(candidates_per_demand=per_demand)
        ranked = await db.fetch(EVERY_PAIR_RANKED, park.network, config.max_distance_km * 1000, per_demand)
        expected = sorted((substitution(r, config) for r in ranked), key=lambda c: c.inputs_key)
        found = sorted(
            (c for c in await candidates(db, park.network, config) if c.kind == "substitution"),
            key=lambda c: c.inputs_key,
        )
        assert found == expected
        # What the park is for: tiers past the first, ties at the cut, and enough pairs to cut.
        assert any(r["s_category"] != r["d_category"] for r in ranked)
        assert any(r["s_waste"] != r["d_waste"] and r["s_category"] == r["d_category"] for r in ranked)
        assert len({(r["d_source"], r["d_id"]) for r in ranked}) > 10
    every_pair = await db.fetch(EVERY_PAIR_RANKED, park.network, 100_000.0, 1_000)
    distances = [(r["d_id"], r["metres"]) for r in every_pair]
    assert len(distances) != len(set(distances))  # supplies at one distance from a demand: ties on id
