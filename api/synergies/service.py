"""Rules for synergies: who sees them, how the funnel moves, notes and linked exchanges."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from api.auth import policy
from api.auth.principal import Principal
from api.db import outbox
from api.db.pool import Connection
from api.errors import ConflictError, ForbiddenError, NotFoundError, RequestValidationError
from api.flows import repository as flows
from api.http import check_if_match, decode_cursor, encode_cursor, invalid_cursor
from api.networks.service import get_network
from api.organisations.service import organisation_visibility
from api.synergies import repository
from api.synergies.lifecycle import SYNERGY
from schemas.pagination import Page
from schemas.synergies import (
    Synergy,
    SynergyAbandon,
    SynergyExchangeCreate,
    SynergyNote,
    SynergyNoteCreate,
    SynergyOutcomeCreate,
    SynergyStatus,
    SynergyStep,
)


class ExchangeTakenError(ConflictError):
    slug, title_text = "exchange-linked", "This exchange already carries out a synergy"


class NotStartedError(ConflictError):
    slug, title_text = "synergy-not-started", "Exchanges are linked to a synergy in progress"


class NotUnderwayError(ConflictError):
    slug, title_text = "synergy-not-underway", "Outcomes are declared for a synergy in progress or realised"


class NotPoolingError(ConflictError):
    slug, title_text = "synergy-not-pooling", "Outcomes are declared for pooling synergies"


def _with_actions(synergy: Synergy, roles: list[str]) -> Synergy:
    actions = [a for role in roles for a in SYNERGY.allowed_actions(synergy.status, role)]
    return msgspec.structs.replace(synergy, allowed_actions=list(dict.fromkeys(actions)))


async def _visible(
    conn: Connection, principal: Principal, synergy_id: uuid.UUID, *, lock: bool = False
) -> tuple[Synergy, list[str]]:
    policy.authenticated(principal)
    synergy = await repository.get(conn, synergy_id, for_update=lock)
    if synergy is None:
        raise NotFoundError("no such synergy")
    roles = policy.synergy_roles(principal, synergy.network_id, synergy.organisation_ids)
    return synergy, roles


async def get_synergy(conn: Connection, principal: Principal, synergy_id: uuid.UUID) -> Synergy:
    """A synergy with its history, notes and exchanges, for the network's operators and the people of
    the organisations involved; 404 for anyone else."""
    synergy, roles = await _visible(conn, principal, synergy_id)
    return _with_actions(await repository.details(conn, synergy), roles)


async def act(
    conn: Connection,
    principal: Principal,
    synergy_id: uuid.UUID,
    action: str,
    data: msgspec.Struct | None,
    if_match: str | None,
) -> Synergy:
    """Move a synergy along the funnel (the table in `api.synergies.lifecycle`): operators only."""
    user = policy.authenticated(principal)
    synergy, roles = await _visible(conn, principal, synergy_id, lock=True)
    if "operator" not in roles:
        raise ForbiddenError(f"only an operator of the network may {action} a synergy")
    if if_match is not None:
        check_if_match(if_match, synergy.version)
    step = SYNERGY.step(synergy.status, action, "operator")
    reason = data.reason if isinstance(data, SynergyAbandon) else None
    note = data.note if isinstance(data, SynergyStep | SynergyAbandon) else None
    await repository.set_status(
        conn,
        synergy.id,
        step.to_status,
        abandon_reason=reason,
        abandon_note=note if reason is not None else None,
    )
    await repository.insert_event(
        conn, synergy.id, action, synergy.status, step.to_status, user.id, reason=reason, note=note
    )
    await outbox.emit(conn, "synergy.changed", synergy.id, {"status": step.to_status, "action": action})
    return await get_synergy(conn, principal, synergy.id)


async def add_note(
    conn: Connection, principal: Principal, synergy_id: uuid.UUID, data: SynergyNoteCreate
) -> SynergyNote:
    """Operators and the people of an involved organisation (written for the one they act for, or
    their first involved one) add a note."""
    user = policy.authenticated(principal)
    synergy, roles = await _visible(conn, principal, synergy_id)
    organisation = _speaking_for(principal, synergy, roles)
    return await repository.insert_note(conn, synergy.id, organisation, user.id, data.body)


def _speaking_for(principal: Principal, synergy: Synergy, roles: list[str]) -> uuid.UUID | None:
    """The involved organisation a party writes for: the one they act for, or their first involved one."""
    if "party" not in roles:
        return None
    mine = [o for o in synergy.organisation_ids if principal.role_in(o) is not None]
    acting = principal.acting_organisation_id
    return acting if acting in mine else mine[0]


async def declare_outcome(
    conn: Connection, principal: Principal, synergy_id: uuid.UUID, data: SynergyOutcomeCreate
) -> Synergy:
    """Operators and the people of the organisations involved declare what a pooling synergy achieved
    (euros, km, shared jobs); the first outcome of one in progress realises it."""
    user = policy.authenticated(principal)
    synergy, roles = await _visible(conn, principal, synergy_id, lock=True)
    figures = ("euros_saved_cents", "km_saved", "shared_jobs")
    if all(getattr(data, name) is None for name in figures):
        message = "give at least one of euros_saved_cents, km_saved, shared_jobs"
        raise RequestValidationError(
            message,
            extra={
                "errors": [{"path": f"body.{name}", "message": message, "source": "body"} for name in figures]
            },
        )
    if synergy.kind != "pooling":
        raise NotPoolingError("a substitution's impact is counted from its linked transfers")
    if synergy.status not in ("in_progress", "realised"):
        raise NotUnderwayError(f"start the synergy first; it is {synergy.status}")
    await repository.insert_outcome(conn, synergy.id, data, user.id, _speaking_for(principal, synergy, roles))
    if synergy.status == "in_progress":
        step = SYNERGY.step(synergy.status, "realise", "system")
        await repository.set_status(conn, synergy.id, step.to_status)
        await repository.insert_event(
            conn, synergy.id, "realise", synergy.status, step.to_status, user.id, note="outcome declared"
        )
        await outbox.emit(
            conn, "synergy.changed", synergy.id, {"status": step.to_status, "action": "realise"}
        )
    return await get_synergy(conn, principal, synergy.id)


async def link_exchange(
    conn: Connection, principal: Principal, synergy_id: uuid.UUID, data: SynergyExchangeCreate
) -> Synergy:
    """An operator links a transfer or reservation of the network that carries the synergy out; an
    exchange already completed realises it at once."""
    user = policy.authenticated(principal)
    synergy, roles = await _visible(conn, principal, synergy_id, lock=True)
    if "operator" not in roles:
        raise ForbiddenError("only an operator of the network links exchanges to a synergy")
    if (data.transfer_id is None) == (data.reservation_id is None):
        message = "name exactly one of transfer_id and reservation_id"
        raise RequestValidationError(
            message,
            extra={
                "errors": [
                    {"path": "body.transfer_id", "message": message, "source": "body"},
                    {"path": "body.reservation_id", "message": message, "source": "body"},
                ]
            },
        )
    field = "body.transfer_id" if data.transfer_id is not None else "body.reservation_id"
    facts = await repository.exchange_facts(
        conn, transfer_id=data.transfer_id, reservation_id=data.reservation_id
    )
    if facts is None or facts[0] != synergy.network_id:
        message = "is not an exchange of this synergy's network"
        raise RequestValidationError(
            f"{field}: {message}", extra={"errors": [{"path": field, "message": message, "source": "body"}]}
        )
    if synergy.status != "in_progress":
        raise NotStartedError(f"start the synergy first; it is {synergy.status}")
    if facts[2] or not await repository.link_exchange(
        conn, synergy.id, transfer_id=data.transfer_id, reservation_id=data.reservation_id, created_by=user.id
    ):
        raise ExchangeTakenError("it is linked to a synergy already")
    if facts[1] == "completed":
        step = SYNERGY.step(synergy.status, "realise", "system")
        await repository.set_status(conn, synergy.id, step.to_status)
        await repository.insert_event(conn, synergy.id, "realise", synergy.status, step.to_status, None)
    return await get_synergy(conn, principal, synergy.id)


def _after(cursor: str | None) -> tuple[datetime, uuid.UUID] | None:
    if cursor is None:
        return None
    stamp, last = decode_cursor(cursor, 2)
    try:
        return datetime.fromisoformat(stamp), uuid.UUID(last)
    except (TypeError, ValueError):
        raise invalid_cursor() from None


async def _page(
    conn: Connection, principal: Principal, cursor: str | None, limit: int, **filters: Any
) -> Page[Synergy]:
    items = await repository.page(conn, after=_after(cursor), limit=limit + 1, **filters)
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        next_cursor = encode_cursor(items[-1].created_at.isoformat(), str(items[-1].id))
    shown = [
        _with_actions(s, policy.synergy_roles(principal, s.network_id, s.organisation_ids)) for s in items
    ]
    return Page(items=shown, next_cursor=next_cursor)


async def list_network_synergies(
    conn: Connection,
    principal: Principal,
    network_id: uuid.UUID,
    status: SynergyStatus | None,
    kind: str | None,
    cursor: str | None,
    limit: int,
) -> Page[Synergy]:
    """Every synergy of the network, newest first: for its operators."""
    await get_network(conn, network_id)
    policy.flows_of_network(principal, network_id)
    return await _page(
        conn,
        principal,
        cursor,
        limit,
        network_id=network_id,
        organisation_id=None,
        status=status,
        kind=kind,
        networks=None,
    )


async def list_organisation_synergies(
    conn: Connection,
    principal: Principal,
    organisation_id: uuid.UUID,
    status: SynergyStatus | None,
    cursor: str | None,
    limit: int,
) -> Page[Synergy]:
    """The synergies an organisation is involved in: for its people, and for the operators of its
    networks (those of the networks they operate)."""
    _, visible = await organisation_visibility(conn, principal, organisation_id)
    networks = await flows.member_of(conn, organisation_id)
    shown = policy.flows_of_organisation(principal, organisation_id, networks, visible=visible)
    return await _page(
        conn,
        principal,
        cursor,
        limit,
        network_id=None,
        organisation_id=organisation_id,
        status=status,
        kind=None,
        networks=shown,
    )
