"""Pooling candidates: members sharing a need, from SQL; Python scores and explains each group.

- *by zone*: two or more organisations of one zone (the listing's, else the membership's) with input
  flows or published needs of the same service category: one synergy with all of them.
- *by radius*: members outside any zone do the same with those within `pooling_radius_km` of them;
  each such need anchors the group of its neighbours, and only the largest groups are kept (a group
  inside another is not proposed).
- *staff sharing*: input flows of the staff category (`staff_category`) carry the months when staff
  is needed; two organisations whose seasons barely meet (they share fewer than half the months of
  the shorter one) pair into one synergy. All-year needs have no season to complement.
"""

from __future__ import annotations

import uuid
from typing import Any

from api.db.pool import Connection
from api.synergies import scoring
from api.synergies.candidate import ACTIVE_MEMBERS, Candidate, digest, parse_items
from api.synergies.scoring import Scoring, component
from schemas.synergies import SynergyExplanation

# $1 the network, $2 the staff category.
_NEEDS = f"""
WITH {ACTIVE_MEMBERS},
needs AS (
    SELECT 'flow' AS source, f.id, f.version, f.organisation_id, f.category_id, a.zone_id,
           f.latitude, f.longitude
    FROM flows f JOIN active a USING (organisation_id) JOIN categories c ON c.id = f.category_id
    WHERE f.network_id = $1 AND f.direction = 'input' AND c.nature = 'service'
    UNION ALL
    SELECT 'listing', l.id, l.version, l.organisation_id, l.category_id, coalesce(l.zone_id, a.zone_id),
           l.latitude, l.longitude
    FROM listings l JOIN active a USING (organisation_id)
    WHERE l.network_id = $1 AND l.direction = 'need' AND l.status = 'published' AND l.nature = 'service'
),
pooled AS (
    SELECT * FROM needs WHERE category_id <> $2 AND left(category_id, length($2) + 1) <> $2 || '.'
)"""  # noqa: S608 (constant SQL)

BY_ZONE = (
    _NEEDS
    + """
SELECT d.zone_id, z.name AS zone_name, d.category_id,
       array_agg(d.source || ':' || d.id || ':' || d.version ORDER BY d.source, d.id) AS items,
       array_agg(DISTINCT d.organisation_id) AS organisations,
       max(earth_distance(ll_to_earth(z.latitude, z.longitude), ll_to_earth(d.latitude, d.longitude))) / 1000
           AS km
FROM pooled d JOIN zones z ON z.id = d.zone_id
GROUP BY d.zone_id, z.name, d.category_id
HAVING count(DISTINCT d.organisation_id) >= 2
"""
)

BY_RADIUS = (
    _NEEDS  # noqa: S608 (constant SQL)
    + """,
loose AS (
    SELECT *, ll_to_earth(latitude, longitude) AS site, source || ':' || id || ':' || version AS item
    FROM pooled WHERE zone_id IS NULL
),
around AS (
    SELECT a.category_id, array_agg(b.item ORDER BY b.item) AS items,
           array_agg(DISTINCT b.organisation_id) AS organisations
    FROM loose a
    JOIN loose b ON b.category_id = a.category_id AND earth_box(a.site, $3) @> b.site
                AND earth_distance(a.site, b.site) <= $3
    GROUP BY a.source, a.id, a.category_id
    HAVING count(DISTINCT b.organisation_id) >= 2
),
groups AS (SELECT DISTINCT category_id, items, organisations FROM around)
SELECT g.*,
       (SELECT max(earth_distance(x.site, y.site)) FROM loose x, loose y
         WHERE x.item = ANY(g.items) AND y.item = ANY(g.items)) / 1000 AS km
FROM groups g
WHERE NOT EXISTS (
    SELECT 1 FROM groups h WHERE h.category_id = g.category_id AND h.items @> g.items AND h.items <> g.items
)
"""
)

STAFF_PAIRS = f"""
WITH {ACTIVE_MEMBERS},
staff_flows AS (
    SELECT f.id, f.version, f.organisation_id, f.latitude, f.longitude, f.months
    FROM flows f JOIN active a USING (organisation_id)
    WHERE f.network_id = $1 AND f.direction = 'input'
      AND (f.category_id = $2 OR left(f.category_id, length($2) + 1) = $2 || '.')
      AND cardinality(f.months) BETWEEN 1 AND 11
      AND EXISTS (SELECT 1 FROM categories WHERE id = $2)
),
staff AS (
    SELECT s.organisation_id, array_agg('flow:' || s.id || ':' || s.version ORDER BY s.id) AS items,
           avg(s.latitude) AS latitude, avg(s.longitude) AS longitude,
           (SELECT array_agg(DISTINCT m ORDER BY m) FROM staff_flows t, unnest(t.months) m
             WHERE t.organisation_id = s.organisation_id)::int[] AS months
    FROM staff_flows s GROUP BY s.organisation_id
),
pairs AS (
    SELECT a.organisation_id AS a_org, a.items AS a_items, a.months AS a_months,
           b.organisation_id AS b_org, b.items AS b_items, b.months AS b_months,
           earth_distance(ll_to_earth(a.latitude, a.longitude), ll_to_earth(b.latitude, b.longitude))
               AS metres,
           cardinality(ARRAY(SELECT unnest(a.months) INTERSECT SELECT unnest(b.months))) AS shared
    FROM staff a JOIN staff b ON a.organisation_id < b.organisation_id
)
SELECT *, metres / 1000 AS km FROM pairs
WHERE metres <= $3 AND 2 * shared < least(cardinality(a_months), cardinality(b_months))
"""  # noqa: S608 (constant SQL)


def _group(row: Any, config: Scoring, inputs_key: str, where: str) -> Candidate:
    members = len(row["organisations"])
    km = float(row["km"])
    components = [
        component(config, "members", min(1.0, (members - 1) / 4), f"{members} organisations share the need"),
        component(config, "distance", *scoring.distance_fit(config, km)),
    ]
    flows, listings = parse_items(row["items"])
    return Candidate(
        kind="pooling",
        category_id=row["category_id"],
        organisations=sorted(row["organisations"]),
        flows=flows,
        listings=listings,
        inputs_key=inputs_key,
        fingerprint=digest(f"{inputs_key}|{'|'.join(row['items'])}"),
        score=scoring.total(components),
        explanation=SynergyExplanation(
            components=components,
            summary=f"{members} organisations {where} need {row['category_id']}",
            distance_km=round(km, 3),
        ),
    )


def by_zone(row: Any, config: Scoring) -> Candidate:
    """One zone x service category group."""
    return _group(row, config, f"pooling|{row['zone_id']}|{row['category_id']}", f"of {row['zone_name']}")


def by_radius(row: Any, config: Scoring) -> Candidate:
    """One group of neighbours outside any zone; its inputs are its members' needs."""
    unversioned = "|".join(item.rsplit(":", 1)[0] for item in row["items"])
    inputs_key = f"pooling|radius|{row['category_id']}|{digest(unversioned)}"
    return _group(row, config, inputs_key, f"within {config.pooling_radius_km:g} km of each other")


def staff_sharing(row: Any, config: Scoring) -> Candidate:
    """Two organisations whose seasons for staff complement each other."""
    km = float(row["km"])
    components = [
        component(config, "complementarity", *scoring.complementarity(row["a_months"], row["b_months"])),
        component(config, "coverage", *scoring.coverage(row["a_months"], row["b_months"])),
        component(config, "distance", *scoring.distance_fit(config, km)),
    ]
    items = [*row["a_items"], *row["b_items"]]
    flows, _ = parse_items(items)
    inputs_key = f"pooling|staff|{row['a_org']}|{row['b_org']}"
    return Candidate(
        kind="pooling",
        category_id=config.staff_category,
        organisations=[row["a_org"], row["b_org"]],
        flows=flows,
        listings=[],
        inputs_key=inputs_key,
        fingerprint=digest(f"{inputs_key}|{'|'.join(items)}"),
        score=scoring.total(components),
        explanation=SynergyExplanation(
            components=components,
            summary=(
                f"staff needed in months {','.join(map(str, row['a_months']))} by one and "
                f"{','.join(map(str, row['b_months']))} by the other, {km:.1f} km apart: one shared job"
            ),
            distance_km=round(km, 3),
        ),
    )


async def candidates(conn: Connection, network_id: uuid.UUID, config: Scoring) -> list[Candidate]:
    """The network's pooling candidates of the three sorts, as the inputs stand now."""
    staff = config.staff_category
    found = [by_zone(r, config) for r in await conn.fetch(BY_ZONE, network_id, staff)]
    if config.pooling_radius_km > 0:
        rows = await conn.fetch(BY_RADIUS, network_id, staff, config.pooling_radius_km * 1000)
        found += [by_radius(r, config) for r in rows]
    rows = await conn.fetch(STAFF_PAIRS, network_id, staff, config.max_distance_km * 1000)
    return found + [staff_sharing(r, config) for r in rows]
