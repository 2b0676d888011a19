"""SQL for users and their roles."""

from __future__ import annotations

import uuid

import asyncpg

from api.db.pool import Connection

_ROLES = """
    ARRAY(SELECT organisation_id FROM organisation_roles r WHERE r.user_id = u.id
          ORDER BY organisation_id) AS org_ids,
    ARRAY(SELECT role FROM organisation_roles r WHERE r.user_id = u.id
          ORDER BY organisation_id) AS org_roles,
    ARRAY(SELECT network_id FROM network_operators o WHERE o.user_id = u.id) AS operator_networks
"""
_FIND_USER = f"""
SELECT u.id, u.email, u.name, u.is_platform_admin, {_ROLES}
FROM users u WHERE u.issuer = $1 AND u.subject = $2
"""
_CREATE_USER = f"""
WITH inserted AS (
    INSERT INTO users (issuer, subject, email, name)
    VALUES ($1, $2, $3, $4)
    ON CONFLICT (issuer, subject) DO NOTHING
    RETURNING id, email, name, is_platform_admin
), u AS (
    SELECT id, email, name, is_platform_admin FROM inserted
    UNION ALL
    SELECT id, email, name, is_platform_admin FROM users WHERE issuer = $1 AND subject = $2
    LIMIT 1
)
SELECT u.*, {_ROLES} FROM u
"""


async def load_user(
    conn: Connection, issuer: str, subject: str, email: str | None, name: str | None
) -> asyncpg.Record:
    """The user of (`issuer`, `subject`), created on first sight, with their roles.

    Read first: every authenticated request passes here, and only the first one needs a write."""
    row = await conn.fetchrow(_FIND_USER, issuer, subject)
    if row is None:
        row = await conn.fetchrow(_CREATE_USER, issuer, subject, email, name)
    assert row is not None  # the CTE returns the inserted or the concurrently inserted row
    return row


async def organisation_names(conn: Connection, organisation_ids: list[uuid.UUID]) -> dict[uuid.UUID, str]:
    rows = await conn.fetch("SELECT id, name FROM organisations WHERE id = ANY($1::uuid[])", organisation_ids)
    return {r["id"]: r["name"] for r in rows}


async def upsert_user(
    conn: Connection, issuer: str, subject: str, email: str | None, name: str | None, *, platform_admin: bool
) -> uuid.UUID:
    """Create or update a user ahead of their first request (the `symbiose token` command, demo data)."""
    user_id: uuid.UUID = await conn.fetchval(
        """INSERT INTO users (issuer, subject, email, name, is_platform_admin) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (issuer, subject) DO UPDATE SET
               email = EXCLUDED.email, name = EXCLUDED.name,
               is_platform_admin = users.is_platform_admin OR EXCLUDED.is_platform_admin
           RETURNING id""",
        issuer,
        subject,
        email,
        name,
        platform_admin,
    )
    return user_id


async def grant_organisation_role(
    conn: Connection, organisation_id: uuid.UUID, user_id: uuid.UUID, role: str
) -> None:
    await conn.execute(
        """INSERT INTO organisation_roles (organisation_id, user_id, role) VALUES ($1, $2, $3)
           ON CONFLICT (organisation_id, user_id) DO UPDATE SET role = EXCLUDED.role""",
        organisation_id,
        user_id,
        role,
    )


async def grant_operator(conn: Connection, network_id: uuid.UUID, user_id: uuid.UUID) -> None:
    await conn.execute(
        "INSERT INTO network_operators (network_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING",
        network_id,
        user_id,
    )


async def organisation_exists(conn: Connection, organisation_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval("SELECT EXISTS (SELECT 1 FROM organisations WHERE id = $1)", organisation_id)
    )


async def network_id_by_slug(conn: Connection, slug: str) -> uuid.UUID | None:
    network_id: uuid.UUID | None = await conn.fetchval("SELECT id FROM networks WHERE slug = $1", slug)
    return network_id
