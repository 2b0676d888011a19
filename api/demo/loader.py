"""Loads the demo network for `symbiose serve --demo`; running it twice changes nothing."""

from __future__ import annotations

import asyncio
import random
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from api.auth import repository as users
from api.auth.tokens import local_subject
from api.db.pool import Connection
from api.demo import data, members, services
from api.demo import listings as demo_listings
from api.demo import repository as demo_repository
from api.demo import synergies as demo_synergies
from api.listings import repository, rules
from api.listings.rules import Draft
from schemas.listings import ListingStatus


async def load_demo(conn: Connection, issuer: str) -> str:
    """Load the demo data for the local `issuer`; return a one-line summary."""
    async with conn.transaction():
        network_id = await conn.fetchval(
            """INSERT INTO networks (slug, name, description, latitude, longitude) VALUES ($1, $2, $3, $4, $5)
               ON CONFLICT (slug) DO UPDATE SET name = EXCLUDED.name RETURNING id""",
            *data.NETWORK.values(),
        )
        zone_ids = [
            await conn.fetchval(
                """INSERT INTO zones (network_id, name, kind, latitude, longitude, radius_km)
                   VALUES ($1, $2, $3, $4, $5, $6)
                   ON CONFLICT (network_id, name) DO UPDATE SET kind = EXCLUDED.kind RETURNING id""",
                network_id,
                *zone,
            )
            for zone in data.ZONES
        ]
        organisation_ids = []
        for index, org in enumerate(data.ORGANISATIONS):
            organisation_id = await _organisation(conn, org)
            organisation_ids.append(organisation_id)
            status = "pending" if index in data.PENDING else "active"
            await _membership(conn, network_id, organisation_id, zone_ids[org.zone], status)
        admin_email, admin_name = data.PLATFORM_ADMIN
        await users.upsert_user(
            conn, issuer, local_subject(admin_email), admin_email, admin_name, platform_admin=True
        )
        operator_email, operator_name = data.OPERATOR
        operator_id = await users.upsert_user(
            conn, issuer, local_subject(operator_email), operator_email, operator_name, platform_admin=False
        )
        await users.grant_operator(conn, network_id, operator_id)
        for org_index, email, name in data.ORGANISATION_ADMINS:
            user_id = await users.upsert_user(
                conn, issuer, local_subject(email), email, name, platform_admin=False
            )
            await users.grant_organisation_role(conn, organisation_ids[org_index], user_id, "admin")
        for firm in demo_firms():
            organisation_id = await _organisation(conn, firm)
            organisation_ids.append(organisation_id)
            await _membership(conn, network_id, organisation_id, zone_ids[firm.zone], "active")
        listings = await _listings(conn, network_id, organisation_ids)
        listings += await _shared_services(conn, network_id, organisation_ids)
        reservations = await _reservations(
            conn, network_id, list(await demo_repository.sites(conn, network_id))
        )
        synergies = await demo_synergies.load(conn, network_id, operator_id)
    return (
        f"demo network {data.NETWORK['slug']!r}: {len(zone_ids)} zones, "
        f"{len(organisation_ids)} organisations, {listings} listings, {reservations} reservations, "
        f"{synergies}; "
        f"mint a token with `symbiose token --email {operator_email}`"
    )


def demo_firms() -> list[data.DemoOrganisation]:
    """The further members, with SIRENs and points derived deterministically from their names."""
    firms = []
    for index, (name, naf, form, ess, town, description) in enumerate(members.FIRMS):
        postcode, latitude, longitude, zone = members.TOWNS[town]
        rng = random.Random(name)  # noqa: S311 - demo coordinates, not secrets
        firms.append(
            data.DemoOrganisation(
                name,
                str(400_000_000 + index * 7_919_113 % 500_000_000),
                naf,
                form,
                ess,
                town,
                postcode,
                round(latitude + rng.uniform(-0.012, 0.012), 5),
                round(longitude + rng.uniform(-0.012, 0.012), 5),
                zone,
                description,
            )
        )
    return firms


async def _organisation(conn: Connection, org: data.DemoOrganisation) -> uuid.UUID:
    return await demo_repository.upsert_organisation(conn, org, data.siret(org.siren))


async def _membership(
    conn: Connection, network_id: uuid.UUID, organisation_id: uuid.UUID, zone_id: uuid.UUID, status: str
) -> None:
    await demo_repository.ensure_membership(conn, network_id, organisation_id, zone_id, status)


async def _listings(conn: Connection, network_id: uuid.UUID, organisation_ids: list[uuid.UUID]) -> int:
    """Four to eight listings per active member, checked by the same rules as the API's."""
    if await demo_repository.count_listings(conn, network_id):
        return await demo_repository.count_listings(conn, network_id)
    sites = await demo_repository.sites(conn, network_id)
    templates = demo_listings.TEMPLATES
    refs = await repository.load_references(
        conn,
        network_id,
        sorted({t[1] for t in templates}),
        sorted({t[7] for t in templates if t[7]}),
    )
    rng = random.Random(2026)  # noqa: S311 - reproducible demo data
    rows: list[tuple[Draft, ListingStatus]] = []
    for organisation_id in organisation_ids:
        if organisation_id not in sites:
            continue
        latitude, longitude = sites[organisation_id]
        for template in rng.sample(templates, rng.randint(4, 8)):
            draft = _draft(template, rng, network_id, organisation_id, latitude, longitude)
            draft, errors = rules.check(draft, refs)
            if errors:
                raise ValueError(f"demo listing {template[3]!r} is invalid: {errors}")
            rows.append((draft, "draft" if rng.random() < 0.1 else "published"))
    await repository.insert_with_status(conn, rows, None)
    return len(rows)


async def _shared_services(conn: Connection, network_id: uuid.UUID, organisation_ids: list[uuid.UUID]) -> int:
    """The shared services a new user books (`api.demo.services`), each added once."""
    present = await demo_repository.titles(conn, network_id)
    wanted = [s for s in services.SHARED_SERVICES if (organisation_ids[s[0]], s[3]) not in present]
    if not wanted:
        return 0
    refs = await repository.load_references(conn, network_id, sorted({s[1] for s in wanted}), [])
    sites = await demo_repository.sites(conn, network_id)
    rows: list[tuple[Draft, ListingStatus]] = []
    for index, category, unit, title, description, capacity, period, price_kind, cents in wanted:
        organisation_id = organisation_ids[index]
        latitude, longitude = sites[organisation_id]
        draft = Draft(
            organisation_id=organisation_id,
            network_id=network_id,
            zone_id=None,
            direction="offer",
            category_id=category,
            title=title,
            description=description,
            unit=unit,
            quantity=None,
            capacity=Decimal(capacity),
            capacity_period=period,
            price_kind=price_kind,
            price_cents=cents,
            currency=None if cents is None else "EUR",
            condition=None,
            waste_code=None,
            latitude=latitude,
            longitude=longitude,
            available_from=None,
            available_until=None,
            photos=[],
            visibility="network",
            response_time_hours=24,
        )
        draft, errors = rules.check(draft, refs)
        if errors:
            raise ValueError(f"demo service {title!r} is invalid: {errors}")
        rows.append((draft, "published"))
    await repository.insert_with_status(conn, rows, None)
    return len(rows)


Step = tuple[str, str | None, str, str]
# A handful of bookings of the demo's shared services, one per listing, at each stage; a priced
# service passes through awaiting_payment, as `api/reservations/lifecycle.py` says.
REQUEST: Step = ("request", None, "requested", "requester")
FREE_STAGES: list[list[Step]] = [
    [REQUEST],
    [REQUEST, ("accept", "requested", "accepted", "provider")],
    [
        REQUEST,
        ("accept", "requested", "accepted", "provider"),
        ("confirm", "accepted", "confirmed", "requester"),
    ],
]
PRICED_STAGES: list[list[Step]] = [
    [REQUEST],
    [REQUEST, ("accept", "requested", "awaiting_payment", "provider")],
    [
        REQUEST,
        ("accept", "requested", "awaiting_payment", "provider"),
        ("pay", "awaiting_payment", "confirmed", "system"),
    ],
]


async def _reservations(conn: Connection, network_id: uuid.UUID, members: list[uuid.UUID]) -> int:
    """Six reservations of service offers in the coming weeks, by other active members."""
    if await demo_repository.count_reservations(conn, network_id):
        return await demo_repository.count_reservations(conn, network_id)
    offers = await demo_repository.service_offers(conn, network_id, 6)
    members = sorted(members)
    today = datetime.now(UTC).replace(hour=8, minute=0, second=0, microsecond=0)
    for index, (listing_id, provider_id, priced) in enumerate(offers):
        requester_id = next(m for m in members[index:] + members if m != provider_id)
        start = today + timedelta(days=7 + 3 * index)
        steps = (PRICED_STAGES if priced else FREE_STAGES)[index % 3]
        await demo_repository.insert_reservation(
            conn, listing_id, requester_id, start, start + timedelta(hours=10), steps
        )
    return len(offers)


def _draft(
    template: demo_listings.Template,
    rng: random.Random,
    network_id: uuid.UUID,
    organisation_id: uuid.UUID,
    latitude: float,
    longitude: float,
) -> Draft:
    direction, category, unit, title, description, low, high, waste, price_kind, cents = template
    amount = Decimal(rng.randint(low, high))
    service = category.startswith("services.")
    return Draft(
        organisation_id=organisation_id,
        network_id=network_id,
        zone_id=None,
        direction=direction,
        category_id=category,
        title=title,
        description=description,
        unit=unit,
        quantity=None if service else amount,
        available_quantity=amount if direction == "offer" and not service else None,
        capacity=amount if service else None,
        capacity_period="month" if service else None,
        price_kind=price_kind,
        price_cents=cents if price_kind not in ("free", "negotiable") else None,
        currency="EUR" if price_kind not in ("free", "negotiable") else None,
        condition=None if service else "good",
        waste_code=waste,
        latitude=latitude,
        longitude=longitude,
        available_from=None,
        available_until=None,
        photos=[],
        visibility="public" if rng.random() < 0.4 else "network",
    )


def load_demo_sync(dsn: str, issuer: str) -> str:
    async def run() -> str:
        conn = await asyncpg.connect(dsn)
        try:
            return await load_demo(conn, issuer)
        finally:
            await conn.close()

    return asyncio.run(run())
