"""SQL for memberships and their events."""

from __future__ import annotations

import uuid

import msgspec

from api.db.pool import Connection
from schemas.memberships import MemberProfile, Membership, MembershipStatus

_SELECT = """SELECT m.id, m.network_id, m.organisation_id, o.name AS organisation_name, m.zone_id, m.status,
    m.message, m.reason, m.decided_at, m.created_at, m.updated_at
    FROM memberships m JOIN organisations o ON o.id = m.organisation_id"""


async def get(conn: Connection, membership_id: uuid.UUID, *, for_update: bool = False) -> Membership | None:
    lock = " FOR UPDATE OF m" if for_update else ""
    row = await conn.fetchrow(f"{_SELECT} WHERE m.id = $1{lock}", membership_id)
    return None if row is None else msgspec.convert(dict(row), Membership)


async def find(
    conn: Connection, network_id: uuid.UUID, organisation_id: uuid.UUID, *, for_update: bool = False
) -> Membership | None:
    lock = " FOR UPDATE OF m" if for_update else ""
    row = await conn.fetchrow(
        f"{_SELECT} WHERE m.network_id = $1 AND m.organisation_id = $2{lock}", network_id, organisation_id
    )
    return None if row is None else msgspec.convert(dict(row), Membership)


async def status_of(
    conn: Connection, network_id: uuid.UUID, organisation_id: uuid.UUID
) -> MembershipStatus | None:
    status: MembershipStatus | None = await conn.fetchval(
        "SELECT status FROM memberships WHERE network_id = $1 AND organisation_id = $2",
        network_id,
        organisation_id,
    )
    return status


async def zone_in_network(conn: Connection, network_id: uuid.UUID, zone_id: uuid.UUID) -> bool:
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM zones WHERE id = $1 AND network_id = $2)", zone_id, network_id
        )
    )


async def insert_pending(
    conn: Connection,
    network_id: uuid.UUID,
    organisation_id: uuid.UUID,
    zone_id: uuid.UUID | None,
    message: str,
    requested_by: uuid.UUID,
) -> uuid.UUID | None:
    """The new membership's id, or None when the organisation already has one in this network."""
    membership_id: uuid.UUID | None = await conn.fetchval(
        """INSERT INTO memberships (network_id, organisation_id, zone_id, status, message, requested_by)
           VALUES ($1, $2, $3, 'pending', $4, $5) ON CONFLICT (network_id, organisation_id) DO NOTHING
           RETURNING id""",
        network_id,
        organisation_id,
        zone_id,
        message,
        requested_by,
    )
    return membership_id


async def set_status(
    conn: Connection,
    membership_id: uuid.UUID,
    status: MembershipStatus,
    *,
    decided_by: uuid.UUID | None,
    reason: str | None,
    zone_id: uuid.UUID | None,
    message: str | None = None,
) -> None:
    await conn.execute(
        """UPDATE memberships SET status = $2, decided_by = $3,
               decided_at = CASE WHEN $3::uuid IS NULL THEN NULL ELSE now() END,
               reason = $4, zone_id = COALESCE($5, zone_id), message = COALESCE($6, message),
               version = version + 1, updated_at = now()
           WHERE id = $1""",
        membership_id,
        status,
        decided_by,
        reason,
        zone_id,
        message,
    )


async def insert_event(
    conn: Connection,
    membership_id: uuid.UUID,
    action: str,
    from_status: MembershipStatus | None,
    to_status: MembershipStatus,
    actor_user_id: uuid.UUID,
    reason: str | None,
) -> None:
    await conn.execute(
        """INSERT INTO membership_events
               (membership_id, action, from_status, to_status, actor_user_id, reason)
           VALUES ($1, $2, $3, $4, $5, $6)""",
        membership_id,
        action,
        from_status,
        to_status,
        actor_user_id,
        reason,
    )


async def list_for_network(
    conn: Connection,
    network_id: uuid.UUID,
    statuses: list[str],
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> list[Membership]:
    rows = await conn.fetch(
        f"""{_SELECT} WHERE m.network_id = $1 AND m.status = ANY($2::text[])
            AND ($3::text IS NULL OR (o.name, m.id) > ($3, $4::uuid))
            ORDER BY o.name, m.id LIMIT $5""",
        network_id,
        statuses,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [msgspec.convert(dict(r), Membership) for r in rows]


async def list_member_profiles(
    conn: Connection,
    network_id: uuid.UUID,
    statuses: list[str],
    *,
    after: tuple[str, uuid.UUID] | None,
    limit: int,
) -> list[MemberProfile]:
    rows = await conn.fetch(
        """SELECT o.id AS organisation_id, o.name, o.naf_code, o.is_ess, o.description, o.city, m.zone_id,
                  o.website, m.status
           FROM memberships m JOIN organisations o ON o.id = m.organisation_id
           WHERE m.network_id = $1 AND m.status = ANY($2::text[])
             AND ($3::text IS NULL OR (o.name, o.id) > ($3, $4::uuid))
           ORDER BY o.name, o.id LIMIT $5""",
        network_id,
        statuses,
        after[0] if after else None,
        after[1] if after else None,
        limit,
    )
    return [msgspec.convert(dict(r), MemberProfile) for r in rows]
