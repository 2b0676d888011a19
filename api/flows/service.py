"""Rules for flows: who records and sees them, and what a valid flow is."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from api.auth import policy
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import NotFoundError, RequestValidationError
from api.flows import repository, rules
from api.http import check_if_match, decode_cursor, encode_cursor
from api.listings.rules import normalise_waste_code
from api.networks.service import get_network
from api.organisations.service import organisation_visibility
from schemas.flows import Flow, FlowCreate, FlowUpdate, NetworkFlowCreate, OrganisationFlowCreate
from schemas.pagination import Page


def _invalid(errors: list[tuple[str, str]]) -> RequestValidationError:
    return RequestValidationError(
        "; ".join(f"{path}: {message}" for path, message in errors),
        extra={"errors": [{"path": p, "message": m, "source": "body"} for p, m in errors]},
    )


async def _checked(conn: Connection, values: dict[str, Any]) -> dict[str, Any]:
    """The flow's values normalised, or a 422 naming every field that is wrong."""
    units = await repository.allowed_units(conn, [values["category_id"]])
    codes = [normalise_waste_code(values["waste_code"])] if values["waste_code"] is not None else []
    known = await repository.known_waste_codes(conn, codes)
    values, errors = rules.check(values, units, known)
    if errors:
        raise _invalid(errors)
    return values


async def _create(
    conn: Connection,
    principal: Principal,
    network_id: uuid.UUID,
    organisation_id: uuid.UUID,
    data: FlowCreate,
) -> Flow:
    user = policy.authenticated(principal)
    status = await repository.membership_status(conn, network_id, organisation_id)
    policy.flow_writer(principal, network_id, status)
    if status is None or status == "rejected":
        raise _invalid([("body", "the organisation is not a member of this network")])
    values = await _checked(conn, msgspec.structs.asdict(data))
    return await repository.insert(conn, network_id, organisation_id, values, user.id)


async def create_network_flow(
    conn: Connection, principal: Principal, network_id: uuid.UUID, data: NetworkFlowCreate
) -> Flow:
    """An operator records a member's flow."""
    await get_network(conn, network_id)
    policy.flows_of_network(principal, network_id)
    if await repository.membership_status(conn, network_id, data.organisation_id) in (None, "rejected"):
        raise _invalid([("body.organisation_id", "is not a member of this network")])
    return await _create(conn, principal, network_id, data.organisation_id, data)


async def create_organisation_flow(
    conn: Connection, principal: Principal, organisation_id: uuid.UUID, data: OrganisationFlowCreate
) -> Flow:
    """The organisation's people (or an operator of the network) record one of its flows."""
    _, visible = await organisation_visibility(conn, principal, organisation_id)
    networks = await repository.member_of(conn, organisation_id)
    policy.flows_of_organisation(principal, organisation_id, networks, visible=visible)
    if data.network_id not in networks:
        raise _invalid([("body.network_id", "the organisation is not a member of this network")])
    return await _create(conn, principal, data.network_id, organisation_id, data)


async def _page(conn: Connection, cursor: str | None, limit: int, **filters: Any) -> Page[Flow]:
    after = None
    if cursor is not None:
        stamp, last = decode_cursor(cursor, 2)
        try:
            after = (datetime.fromisoformat(stamp), uuid.UUID(last))
        except (TypeError, ValueError):
            from api.http import invalid_cursor

            raise invalid_cursor() from None
    items = await repository.page(conn, after=after, limit=limit + 1, **filters)
    next_cursor = None
    if len(items) > limit:
        items = items[:limit]
        next_cursor = encode_cursor(items[-1].created_at.isoformat(), str(items[-1].id))
    return Page(items=items, next_cursor=next_cursor)


async def list_network_flows(
    conn: Connection, principal: Principal, network_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[Flow]:
    """Every flow of the network's members, newest first: for its operators."""
    await get_network(conn, network_id)
    policy.flows_of_network(principal, network_id)
    return await _page(conn, cursor, limit, network_id=network_id, organisation_id=None, networks=None)


async def list_organisation_flows(
    conn: Connection, principal: Principal, organisation_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[Flow]:
    """An organisation's flows: all of them for its people, those of their networks for operators."""
    _, visible = await organisation_visibility(conn, principal, organisation_id)
    networks = await repository.member_of(conn, organisation_id)
    shown = policy.flows_of_organisation(principal, organisation_id, networks, visible=visible)
    return await _page(conn, cursor, limit, network_id=None, organisation_id=organisation_id, networks=shown)


async def get_flow(conn: Connection, principal: Principal, flow_id: uuid.UUID, *, lock: bool = False) -> Flow:
    """A flow, for its organisation's people and its network's operators (404 for anyone else)."""
    policy.authenticated(principal)
    flow = await repository.get(conn, flow_id, for_update=lock)
    if flow is None:
        raise NotFoundError("no such flow")
    policy.flow_visible(principal, flow.network_id, flow.organisation_id)
    return flow


async def update_flow(
    conn: Connection, principal: Principal, flow_id: uuid.UUID, data: FlowUpdate, if_match: str | None
) -> Flow:
    """Change the fields sent; `If-Match` must carry the flow's current ETag."""
    flow = await get_flow(conn, principal, flow_id, lock=True)
    status = await repository.membership_status(conn, flow.network_id, flow.organisation_id)
    policy.flow_writer(principal, flow.network_id, status)
    check_if_match(if_match, flow.version)
    current = {name: getattr(flow, name) for name in repository.FIELDS}
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    values = await _checked(conn, current | changes)
    return await repository.update(conn, flow_id, values)


async def delete_flow(
    conn: Connection, principal: Principal, flow_id: uuid.UUID, if_match: str | None
) -> None:
    """Delete a flow; `If-Match` must carry its current ETag."""
    flow = await get_flow(conn, principal, flow_id, lock=True)
    status = await repository.membership_status(conn, flow.network_id, flow.organisation_id)
    policy.flow_writer(principal, flow.network_id, status)
    check_if_match(if_match, flow.version)
    await repository.delete(conn, flow_id)
