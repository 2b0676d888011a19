"""Rules for organisations joining networks and operators deciding on them."""

from __future__ import annotations

import uuid

from api.auth import policy
from api.auth.principal import Principal
from api.db import outbox
from api.db.pool import Connection
from api.errors import NotFoundError, RequestValidationError
from api.http import decode_cursor, encode_cursor
from api.lifecycle import Transition
from api.memberships import lifecycle, repository
from api.networks.service import get_network
from schemas.memberships import (
    MemberProfile,
    Membership,
    MembershipApprove,
    MembershipDecision,
    MembershipRequest,
    MembershipStatus,
)
from schemas.pagination import Page

ALL_STATUSES: list[str] = ["pending", "active", "suspended", "rejected"]


async def _check_zone(conn: Connection, network_id: uuid.UUID, zone_id: uuid.UUID | None) -> None:
    if zone_id is not None and not await repository.zone_in_network(conn, network_id, zone_id):
        raise RequestValidationError(
            "zone_id is not a zone of this network",
            extra={"errors": [{"path": "body.zone_id", "message": "unknown zone", "source": "body"}]},
        )


async def _record(
    conn: Connection,
    membership_id: uuid.UUID,
    step: Transition[MembershipStatus],
    actor_user_id: uuid.UUID,
    reason: str | None,
) -> Membership:
    await repository.insert_event(
        conn, membership_id, step.action, step.from_status, step.to_status, actor_user_id, reason
    )
    await outbox.emit(conn, "membership.changed", membership_id, {"status": step.to_status})
    membership = await repository.get(conn, membership_id)
    assert membership is not None
    return membership


async def request_to_join(
    conn: Connection, principal: Principal, network_id: uuid.UUID, data: MembershipRequest
) -> Membership:
    """The acting organisation asks to join the network; an operator then decides."""
    await get_network(conn, network_id)
    organisation_id = policy.acting_organisation(principal, admin=True)
    user = policy.authenticated(principal)
    await _check_zone(conn, network_id, data.zone_id)
    existing = await repository.find(conn, network_id, organisation_id, for_update=True)
    step = lifecycle.MEMBERSHIP.step(existing.status if existing else None, "request", "member")
    if existing is None:
        membership_id = await repository.insert_pending(
            conn, network_id, organisation_id, data.zone_id, data.message, user.id
        )
        if membership_id is None:  # a concurrent request won the race
            raise lifecycle.IllegalTransitionError("this organisation has just asked to join this network")
    else:
        membership_id = existing.id
        await repository.set_status(
            conn,
            membership_id,
            "pending",
            decided_by=None,
            reason=None,
            zone_id=data.zone_id,
            message=data.message,
        )
    return await _record(conn, membership_id, step, user.id, None)


async def _visible(
    conn: Connection, principal: Principal, membership_id: uuid.UUID, *, lock: bool
) -> Membership:
    membership = await repository.get(conn, membership_id, for_update=lock)
    if membership is None:
        policy.authenticated(principal)
        raise NotFoundError("no such membership")
    policy.membership_visible(principal, membership.network_id, membership.organisation_id)
    return membership


async def get_membership(conn: Connection, principal: Principal, membership_id: uuid.UUID) -> Membership:
    return await _visible(conn, principal, membership_id, lock=False)


async def decide(
    conn: Connection,
    principal: Principal,
    membership_id: uuid.UUID,
    action: str,
    data: MembershipDecision,
) -> Membership:
    """Apply an operator's decision (approve, reject, suspend, reinstate): the step `MEMBERSHIP` allows
    from the membership's status (409 otherwise), recorded with its event. Every decision comes here."""
    membership = await _visible(conn, principal, membership_id, lock=True)
    user = policy.network_operator(principal, membership.network_id)
    step = lifecycle.MEMBERSHIP.step(membership.status, action, "operator")
    zone_id = data.zone_id if isinstance(data, MembershipApprove) else None
    await _check_zone(conn, membership.network_id, zone_id)
    await repository.set_status(
        conn, membership_id, step.to_status, decided_by=user.id, reason=data.reason, zone_id=zone_id
    )
    return await _record(conn, membership_id, step, user.id, data.reason)


def _after(cursor: str | None) -> tuple[str, uuid.UUID] | None:
    if cursor is None:
        return None
    name, raw_id = decode_cursor(cursor, 2)
    try:
        return str(name), uuid.UUID(str(raw_id))
    except ValueError:
        decode_cursor("", 2)  # raises the invalid-cursor problem
        raise


async def list_memberships(
    conn: Connection,
    principal: Principal,
    network_id: uuid.UUID,
    status: MembershipStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[Membership]:
    """Every membership of a network, for its operators (filter by status)."""
    await get_network(conn, network_id)
    policy.network_operator(principal, network_id)
    statuses: list[str] = [status] if status else ALL_STATUSES
    rows = await repository.list_for_network(
        conn, network_id, statuses, after=_after(cursor), limit=limit + 1
    )
    last = rows[limit - 1] if len(rows) > limit else None
    return Page(
        items=rows[:limit], next_cursor=encode_cursor(last.organisation_name, last.id) if last else None
    )


async def list_members(
    conn: Connection, principal: Principal, network_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[MemberProfile]:
    """Members' public profiles: active ones for members, every status for operators."""
    await get_network(conn, network_id)
    acting_status = (
        await repository.status_of(conn, network_id, principal.acting_organisation_id)
        if principal.acting_organisation_id
        else None
    )
    view = policy.network_members_view(principal, network_id, acting_status)
    statuses = ALL_STATUSES if view == "all" else ["active"]
    rows = await repository.list_member_profiles(
        conn, network_id, statuses, after=_after(cursor), limit=limit + 1
    )
    last = rows[limit - 1] if len(rows) > limit else None
    return Page(
        items=rows[:limit], next_cursor=encode_cursor(last.name, last.organisation_id) if last else None
    )
