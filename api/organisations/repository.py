"""SQL for organisations, their staff and invitations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from api.db.pool import Connection
from schemas.organisations import Invitation, Organisation, OrganisationCreate, StaffMember

_COLUMNS = """id, name, siret, naf_code, legal_form, is_ess, description, website, address_line, postcode,
    city, country, latitude, longitude, version, created_at, updated_at"""
_UPDATABLE = (
    "name",
    "naf_code",
    "legal_form",
    "is_ess",
    "description",
    "website",
    "address_line",
    "postcode",
    "city",
    "latitude",
    "longitude",
)


class OrganisationFacts(msgspec.Struct, kw_only=True):
    organisation: Organisation
    public: bool
    """Active in at least one network: everyone may see it."""
    operated: bool
    """Has a membership (any status) in one of the networks the caller operates."""


async def insert_organisation(conn: Connection, data: OrganisationCreate) -> Organisation | None:
    """The new organisation, or None when its SIRET is registered already."""
    row = await conn.fetchrow(
        f"""INSERT INTO organisations (name, siret, naf_code, legal_form, is_ess, description, website,
                address_line, postcode, city, country, latitude, longitude)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
            ON CONFLICT (siret) DO NOTHING RETURNING {_COLUMNS}""",
        data.name,
        data.siret,
        data.naf_code,
        data.legal_form,
        data.is_ess,
        data.description,
        data.website,
        data.address_line,
        data.postcode,
        data.city,
        data.country,
        data.latitude,
        data.longitude,
    )
    return None if row is None else _organisation(row)


def _organisation(row: asyncpg.Record) -> Organisation:
    return msgspec.convert({k: row[k] for k in Organisation.__struct_fields__}, Organisation)


async def get_facts(
    conn: Connection,
    organisation_id: uuid.UUID,
    operated_networks: frozenset[uuid.UUID],
    *,
    for_update: bool = False,
) -> OrganisationFacts | None:
    lock = " FOR UPDATE OF o" if for_update else ""
    row = await conn.fetchrow(
        f"""SELECT o.*,
                EXISTS (SELECT 1 FROM memberships m WHERE m.organisation_id = o.id AND m.status = 'active')
                    AS public,
                EXISTS (SELECT 1 FROM memberships m WHERE m.organisation_id = o.id
                        AND m.network_id = ANY($2::uuid[])) AS operated
            FROM organisations o WHERE o.id = $1{lock}""",
        organisation_id,
        list(operated_networks),
    )
    if row is None:
        return None
    return OrganisationFacts(organisation=_organisation(row), public=row["public"], operated=row["operated"])


async def update_organisation(
    conn: Connection, organisation_id: uuid.UUID, changes: dict[str, Any]
) -> Organisation:
    """Apply `changes` (only keys of updatable columns; None sets NULL) and bump the version."""
    columns = [c for c in _UPDATABLE if c in changes]
    assignments = ", ".join(f"{column} = ${index}" for index, column in enumerate(columns, start=2))
    sets = f"{assignments}, " if assignments else ""
    row = await conn.fetchrow(
        f"UPDATE organisations SET {sets}version = version + 1, updated_at = now() "
        f"WHERE id = $1 RETURNING {_COLUMNS}",
        organisation_id,
        *(changes[c] for c in columns),
    )
    assert row is not None
    return _organisation(row)


async def list_staff(conn: Connection, organisation_id: uuid.UUID) -> list[StaffMember]:
    rows = await conn.fetch(
        """SELECT u.id AS user_id, u.email, u.name, r.role, r.created_at AS since
           FROM organisation_roles r JOIN users u ON u.id = r.user_id
           WHERE r.organisation_id = $1 ORDER BY r.role, lower(coalesce(u.name, u.email, '')), u.id""",
        organisation_id,
    )
    return [msgspec.convert(dict(r), StaffMember) for r in rows]


async def insert_invitation(
    conn: Connection,
    organisation_id: uuid.UUID,
    email: str,
    role: str,
    token_sha256: str,
    invited_by: uuid.UUID,
    expires_at: datetime,
) -> Invitation:
    row = await conn.fetchrow(
        """INSERT INTO invitations (organisation_id, email, role, token_sha256, invited_by, expires_at)
           VALUES ($1, $2, $3, $4, $5, $6)
           RETURNING id, organisation_id, email, role, expires_at, accepted_at""",
        organisation_id,
        email,
        role,
        token_sha256,
        invited_by,
        expires_at,
    )
    return msgspec.convert(dict(row), Invitation)  # type: ignore[arg-type]


async def get_invitation(
    conn: Connection, organisation_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation | None:
    row = await conn.fetchrow(
        """SELECT id, organisation_id, email, role, expires_at, accepted_at
           FROM invitations WHERE organisation_id = $1 AND id = $2""",
        organisation_id,
        invitation_id,
    )
    return None if row is None else msgspec.convert(dict(row), Invitation)


async def get_invitation_for_update(conn: Connection, token_sha256: str) -> asyncpg.Record | None:
    return await conn.fetchrow(
        """SELECT id, organisation_id, email, role, expires_at, accepted_at, expires_at < now() AS expired
           FROM invitations WHERE token_sha256 = $1 FOR UPDATE""",
        token_sha256,
    )


async def accept_invitation(conn: Connection, invitation_id: uuid.UUID, user_id: uuid.UUID) -> Invitation:
    row = await conn.fetchrow(
        """UPDATE invitations SET accepted_by = $2, accepted_at = now() WHERE id = $1
           RETURNING id, organisation_id, email, role, expires_at, accepted_at""",
        invitation_id,
        user_id,
    )
    return msgspec.convert(dict(row), Invitation)  # type: ignore[arg-type]


async def role_of(conn: Connection, organisation_id: uuid.UUID, user_id: uuid.UUID) -> str | None:
    role: str | None = await conn.fetchval(
        "SELECT role FROM organisation_roles WHERE organisation_id = $1 AND user_id = $2",
        organisation_id,
        user_id,
    )
    return role
