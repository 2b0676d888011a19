"""Plain functions that put rows in the test database and mint tokens for them."""

from __future__ import annotations

import itertools
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from api.auth.tokens import LocalIssuer, local_subject
from api.demo.data import siret

_sirens = itertools.count(100000000)


@dataclass(frozen=True)
class Person:
    user_id: uuid.UUID
    email: str
    token: str

    def headers(self, organisation_id: uuid.UUID | None = None) -> dict[str, str]:
        headers = {"authorization": f"Bearer {self.token}"}
        if organisation_id is not None:
            headers["x-organisation-id"] = str(organisation_id)
        return headers


async def person(
    db: asyncpg.Connection, issuer: LocalIssuer, email: str, *, platform_admin: bool = False
) -> Person:
    user_id = await db.fetchval(
        """INSERT INTO users (issuer, subject, email, name, is_platform_admin) VALUES ($1, $2, $3, $4, $5)
           RETURNING id""",
        issuer.issuer,
        local_subject(email),
        email,
        email.split("@")[0],
        platform_admin,
    )
    return Person(user_id, email, issuer.mint(email=email))


async def network(db: asyncpg.Connection, slug: str, *, operators: tuple[Person, ...] = ()) -> uuid.UUID:
    network_id: uuid.UUID = await db.fetchval(
        "INSERT INTO networks (slug, name, latitude, longitude) VALUES ($1, $2, 45.7, 4.85) RETURNING id",
        slug,
        slug.replace("-", " ").title(),
    )
    for operator in operators:
        await db.execute(
            "INSERT INTO network_operators (network_id, user_id) VALUES ($1, $2)",
            network_id,
            operator.user_id,
        )
    return network_id


async def zone(db: asyncpg.Connection, network_id: uuid.UUID, name: str) -> uuid.UUID:
    zone_id: uuid.UUID = await db.fetchval(
        """INSERT INTO zones (network_id, name, kind, latitude, longitude, radius_km)
           VALUES ($1, $2, 'business_park', 45.7, 4.85, 2) RETURNING id""",
        network_id,
        name,
    )
    return zone_id


async def organisation(
    db: asyncpg.Connection, name: str, *, admins: tuple[Person, ...] = (), staff: tuple[Person, ...] = ()
) -> uuid.UUID:
    organisation_id: uuid.UUID = await db.fetchval(
        "INSERT INTO organisations (name, siret, city) VALUES ($1, $2, 'Lyon') RETURNING id",
        name,
        siret(str(next(_sirens))),
    )
    for role, people in (("admin", admins), ("staff", staff)):
        for member in people:
            await db.execute(
                "INSERT INTO organisation_roles (organisation_id, user_id, role) VALUES ($1, $2, $3)",
                organisation_id,
                member.user_id,
                role,
            )
    return organisation_id


async def membership(
    db: asyncpg.Connection, network_id: uuid.UUID, organisation_id: uuid.UUID, status: str = "active"
) -> uuid.UUID:
    membership_id: uuid.UUID = await db.fetchval(
        "INSERT INTO memberships (network_id, organisation_id, status) VALUES ($1, $2, $3) RETURNING id",
        network_id,
        organisation_id,
        status,
    )
    return membership_id


async def snapshot(db: asyncpg.Connection) -> dict[str, str]:
    """A fingerprint of every table's rows, to prove a refused request changed nothing."""
    tables = await db.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename <> 'schema_migrations'"
    )
    result = {}
    for table in tables:
        name = table["tablename"]
        result[name] = await db.fetchval(
            f"SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) FROM \"{name}\" t"
        )
    return result


async def catalogue(db: asyncpg.Connection) -> None:
    """Minimal reference data of our own, so tests do not depend on the shipped taxonomy."""
    await db.execute(
        """INSERT INTO units (code, label_fr, label_en, dimension, kg_factor) VALUES
               ('kg', 'kg', 'kg', 'mass', 1), ('t', 't', 't', 'mass', 1000),
               ('pallet', 'palette', 'pallet', 'count', NULL), ('m2', 'm²', 'm²', 'area', NULL)
           ON CONFLICT (code) DO NOTHING;
           INSERT INTO categories (id, parent_id, label_fr, label_en, nature, default_unit, allowed_units,
                                   kg_per_unit, co2e_kg_per_kg, factor_source) VALUES
               ('testwood', NULL, 'Bois', 'Wood', 'material', 'kg', '{kg,t}', '{}', 0.5, 'test'),
               ('testwood.pallets', 'testwood', 'Palettes', 'Pallets', 'material', 'pallet', '{pallet,kg,t}',
                '{"pallet": 25}', 0.5, 'test'),
               ('teststorage', NULL, 'Stockage', 'Storage', 'service', 'm2', '{m2}', '{}', NULL, NULL)
           ON CONFLICT (id) DO NOTHING;
           INSERT INTO waste_codes (code, chapter, hazardous, description_en) VALUES
               ('15 01 03', '15', false, 'wooden packaging'),
               ('15 01 10', '15', true, 'packaging containing residues of hazardous substances')
           ON CONFLICT (code) DO NOTHING;"""
    )


async def listing(
    db: asyncpg.Connection,
    network_id: uuid.UUID,
    organisation_id: uuid.UUID,
    *,
    status: str = "published",
    visibility: str = "network",
    title: str = "Palettes Europe",
    category_id: str = "testwood.pallets",
    direction: str = "offer",
    capacity: int | str = 200,
) -> uuid.UUID:
    await catalogue(db)
    service = category_id == "teststorage"
    listing_id: uuid.UUID = await db.fetchval(
        """INSERT INTO listings (organisation_id, network_id, direction, category_id, nature, title, unit,
               quantity, available_quantity, capacity, capacity_period, price_kind, latitude, longitude,
               visibility, status)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8, $9, $10, 'free', 45.7, 4.85, $11, $12) RETURNING id""",
        organisation_id,
        network_id,
        direction,
        category_id,
        "service" if service else "material",
        title,
        "m2" if service else "pallet",
        None if service else 40,
        capacity if service else None,
        "month" if service else None,
        visibility,
        status,
    )
    return listing_id


async def transfer(
    db: asyncpg.Connection,
    listing_id: uuid.UUID,
    *,
    taker: uuid.UUID,
    quantity: int = 5,
    status: str = "requested",
) -> uuid.UUID:
    """A transfer of `quantity` from an offer to `taker`, asked by the taker."""
    transfer_id: uuid.UUID = await db.fetchval(
        """INSERT INTO transfers (network_id, listing_id, giver_id, taker_id, initiated_by, category_id, unit,
               waste_code, hazardous, status, requested_quantity)
           SELECT network_id, id, organisation_id, $2, 'taker', category_id, unit, waste_code, hazardous,
                  $3, $4
           FROM listings WHERE id = $1 RETURNING id""",
        listing_id,
        taker,
        status,
        quantity,
    )
    return transfer_id


async def service_listing(
    db: asyncpg.Connection, network_id: uuid.UUID, organisation_id: uuid.UUID, *, capacity: int | str = 3
) -> uuid.UUID:
    """A published offer of storage space (m²), free of charge."""
    return await listing(
        db,
        network_id,
        organisation_id,
        category_id="teststorage",
        title="Entrepôt partagé",
        capacity=capacity,
    )


def hours_from_now(hours: float) -> datetime:
    """A whole-minute instant `hours` from now, in UTC."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    return now + timedelta(hours=hours)


async def reservation(
    db: asyncpg.Connection,
    listing_id: uuid.UUID,
    *,
    requester: uuid.UUID,
    quantity: int | str = 1,
    status: str = "requested",
    start: datetime | None = None,
    end: datetime | None = None,
    expires_at: datetime | None = None,
) -> uuid.UUID:
    """A reservation of `quantity` of a service listing by `requester`, by default tomorrow for 4 hours."""
    start = start or hours_from_now(24)
    end = end or start + timedelta(hours=4)
    if expires_at is None and status in ("requested", "accepted", "awaiting_payment"):
        expires_at = min(datetime.now(UTC) + timedelta(hours=48), start)
    reservation_id: uuid.UUID = await db.fetchval(
        """INSERT INTO reservations (network_id, listing_id, provider_id, requester_id, status, period,
               quantity, unit, price_kind, expires_at, reason, cancelled_by)
           SELECT network_id, id, organisation_id, $2, $3, tstzrange($4, $5, '[)'), $6, unit, price_kind, $7,
                  CASE WHEN $3 = 'cancelled' THEN 'test' END, CASE WHEN $3 = 'cancelled' THEN 'requester' END
           FROM listings WHERE id = $1 RETURNING id""",
        listing_id,
        requester,
        status,
        start,
        end,
        Decimal(str(quantity)),
        expires_at,
    )
    return reservation_id


async def flow(
    db: asyncpg.Connection, network_id: uuid.UUID, organisation_id: uuid.UUID, *, direction: str = "output"
) -> uuid.UUID:
    """A yearly flow of 1 200 pallets of a member, at the offers' site."""
    await catalogue(db)
    flow_id: uuid.UUID = await db.fetchval(
        """INSERT INTO flows (network_id, organisation_id, direction, category_id, quantity, unit, period,
               latitude, longitude)
           VALUES ($1, $2, $3, 'testwood.pallets', 1200, 'pallet', 'year', 45.7, 4.85) RETURNING id""",
        network_id,
        organisation_id,
        direction,
    )
    return flow_id


async def synergy(
    db: asyncpg.Connection,
    network_id: uuid.UUID,
    organisations: list[uuid.UUID],
    *,
    status: str = "potential",
) -> uuid.UUID:
    """A pallet synergy between `organisations`, as detection would have proposed it."""
    await catalogue(db)
    synergy_id: uuid.UUID = await db.fetchval(
        """INSERT INTO synergies (network_id, kind, status, category_id, organisation_ids, score, explanation,
               fingerprint, inputs_key)
           VALUES ($1, 'substitution', $3, 'testwood.pallets', $2, 0.5,
                   '{"components": [], "summary": "test"}', gen_random_uuid()::text, gen_random_uuid()::text)
           RETURNING id""",
        network_id,
        organisations,
        status,
    )
    return synergy_id
