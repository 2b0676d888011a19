"""Loads the demo network for `symbiose serve --demo`; running it twice changes nothing."""

from __future__ import annotations

import asyncio

import asyncpg

from api.auth import repository as users
from api.auth.tokens import local_subject
from api.db.pool import Connection
from api.demo import data


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
            organisation_id = await conn.fetchval(
                """INSERT INTO organisations (name, siret, naf_code, legal_form, is_ess, description, city,
                       postcode, latitude, longitude, address_line)
                   VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, '')
                   ON CONFLICT (siret) DO UPDATE SET name = EXCLUDED.name RETURNING id""",
                org.name,
                data.siret(org.siren),
                org.naf_code,
                org.legal_form,
                org.is_ess,
                org.description,
                org.city,
                org.postcode,
                org.latitude,
                org.longitude,
            )
            organisation_ids.append(organisation_id)
            status = "pending" if index in data.PENDING else "active"
            await conn.execute(
                """INSERT INTO memberships (network_id, organisation_id, zone_id, status, decided_at)
                   VALUES ($1, $2, $3, $4, CASE WHEN $4 = 'active' THEN now() END)
                   ON CONFLICT (network_id, organisation_id) DO NOTHING""",
                network_id,
                organisation_id,
                zone_ids[org.zone],
                status,
            )
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
    return (
        f"demo network {data.NETWORK['slug']!r}: {len(zone_ids)} zones, "
        f"{len(organisation_ids)} organisations; "
        f"mint a token with `symbiose token --email {operator_email}`"
    )


def load_demo_sync(dsn: str, issuer: str) -> str:
    async def run() -> str:
        conn = await asyncpg.connect(dsn)
        try:
            return await load_demo(conn, issuer)
        finally:
            await conn.close()

    return asyncio.run(run())
