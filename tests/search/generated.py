"""A generated catalogue like the benchmark's (bench/dataset.py: its categories, towns and French
texts), small enough for a test, with what search must leave out mixed in: drafts, expired,
exhausted, a suspended member, listings of a second network."""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg

from bench import dataset


@dataclass(frozen=True)
class Catalogue:
    network: uuid.UUID
    other_network: uuid.UUID
    organisations: list[uuid.UUID]
    zones: list[uuid.UUID]


async def load(db: asyncpg.Connection, *, listings: int, organisations: int, seed: int = 5) -> Catalogue:
    rng = random.Random(seed)
    async with db.transaction():
        await db.execute("DELETE FROM categories; DELETE FROM waste_codes; DELETE FROM units")
        await db.copy_records_to_table(
            "units", records=dataset.UNITS, columns=["code", "label_fr", "label_en", "dimension", "kg_factor"]
        )
        await db.copy_records_to_table(
            "categories",
            records=[
                (
                    c[0],
                    c[1],
                    n,
                    c[2],
                    c[3],
                    c[4],
                    c[5],
                    c[6],
                    dataset._json(c[7]),
                    dataset._dec(c[8]),
                    c[8] and "bench",
                )
                for n, c in enumerate(dataset.CATEGORIES)
            ],
            columns=dataset.CATEGORY_COLUMNS,
        )
        await db.copy_records_to_table(
            "waste_codes",
            records=dataset.WASTE_CODES,
            columns=["code", "chapter", "hazardous", "description_en", "description_fr"],
        )
        networks = [
            await db.fetchval(
                """INSERT INTO networks (slug, name, description, latitude, longitude)
                   VALUES ($1, $1, 'Réseau généré', 45.70, 4.85) RETURNING id""",
                slug,
            )
            for slug in ("gen-a", "gen-b")
        ]
        zones = [
            await db.fetchval(
                """INSERT INTO zones (network_id, name, kind, latitude, longitude, radius_km)
                   VALUES ($1, $2, 'business_park', $3, $4, 3) RETURNING id""",
                networks[0],
                f"Parc de {city}",
                lat,
                lon,
            )
            for city, _, lat, lon in dataset.CITIES[:3]
        ]
        orgs = dataset._organisations(organisations, rng)
        await db.copy_records_to_table("organisations", records=orgs, columns=dataset.ORGANISATION_COLUMNS)
        await db.copy_records_to_table(
            "memberships",
            records=[(networks[0], o[0], "active", datetime.now(UTC)) for o in orgs],
            columns=["network_id", "organisation_id", "status", "decided_at"],
        )
        await db.copy_records_to_table(
            "memberships",
            records=[(networks[1], o[0], "active", datetime.now(UTC)) for o in orgs[: organisations // 2]],
            columns=["network_id", "organisation_id", "status", "decided_at"],
        )
        rows = dataset._listings(listings, networks[0], orgs, zones, rng)
        # A tenth in the second network (no zone there), some hazardous.
        rows = [
            (r[0], r[1], networks[1], None, *r[4:19], rng.random() < 0.1, *r[20:])
            if i % 10 == 0 and r[1] in {o[0] for o in orgs[: organisations // 2]}
            else (*r[:19], rng.random() < 0.1, *r[20:])
            for i, r in enumerate(rows)
        ]
        await db.copy_records_to_table("listings", records=rows, columns=dataset.LISTING_COLUMNS)
    ids = [r[0] for r in rows]
    await db.execute("UPDATE listings SET status = 'draft' WHERE id = ANY($1::uuid[])", ids[1::37])
    await db.execute(
        "UPDATE listings SET available_until = now() - interval '1 day', available_from = now() - interval "
        "'30 days' WHERE id = ANY($1::uuid[])",
        ids[2::41],
    )
    await db.execute(
        """UPDATE listings SET available_quantity = 0
           WHERE available_quantity IS NOT NULL AND id = ANY($1::uuid[])""",
        ids[3::23],
    )
    await db.execute(
        """UPDATE listings SET available_from = now() + interval '20 days'
           WHERE id = ANY($1::uuid[])
             AND (available_until IS NULL OR available_until > now() + interval '21 days')""",
        ids[4::13],
    )
    await db.execute(
        "UPDATE memberships SET status = 'suspended' WHERE organisation_id = $1 AND network_id = $2",
        orgs[1][0],
        networks[0],
    )
    return Catalogue(networks[0], networks[1], [o[0] for o in orgs], zones)  # type: ignore[misc]
