"""Rules for networks, zones and operators."""

from __future__ import annotations

import uuid

import msgspec

from api.auth import policy
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import ConflictError, NotFoundError, RequestValidationError
from api.http import check_if_match, decode_cursor, encode_cursor
from api.networks import repository
from schemas.networks import Network, NetworkCreate, NetworkUpdate, OperatorGrant, Zone, ZoneCreate
from schemas.pagination import Page


async def list_networks(conn: Connection, *, cursor: str | None, limit: int) -> Page[Network]:
    """Networks are public: anyone may list them, ordered by slug."""
    after = decode_cursor(cursor, 1)[0] if cursor else None
    rows = await repository.list_networks(conn, after_slug=after, limit=limit + 1)
    next_cursor = encode_cursor(rows[limit - 1].slug) if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)


async def get_network(conn: Connection, network_id: uuid.UUID) -> Network:
    network = await repository.get_network(conn, network_id)
    if network is None:
        raise NotFoundError("no such network")
    return network


async def create_network(conn: Connection, principal: Principal, data: NetworkCreate) -> Network:
    policy.platform_admin(principal)
    network = await repository.insert_network(conn, data)
    if network is None:
        raise ConflictError(f"a network with slug {data.slug!r} exists already")
    return network


async def update_network(
    conn: Connection, principal: Principal, network_id: uuid.UUID, data: NetworkUpdate, if_match: str | None
) -> Network:
    policy.platform_admin(principal)
    network = await repository.get_network(conn, network_id, for_update=True)
    if network is None:
        raise NotFoundError("no such network")
    check_if_match(if_match, network.version)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    return await repository.update_network(conn, network_id, changes)


async def list_zones(
    conn: Connection, network_id: uuid.UUID, *, cursor: str | None, limit: int
) -> Page[Zone]:
    """A network's zones are public, ordered by name (unique in the network)."""
    await get_network(conn, network_id)
    after = decode_cursor(cursor, 1)[0] if cursor else None
    rows = await repository.list_zones(conn, network_id, after_name=after, limit=limit + 1)
    next_cursor = encode_cursor(rows[limit - 1].name) if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)


async def get_zone(conn: Connection, network_id: uuid.UUID, zone_id: uuid.UUID) -> Zone:
    zone = await repository.get_zone(conn, network_id, zone_id)
    if zone is None:
        raise NotFoundError("no such zone in this network")
    return zone


async def create_zone(
    conn: Connection, principal: Principal, network_id: uuid.UUID, data: ZoneCreate
) -> Zone:
    await get_network(conn, network_id)
    policy.network_operator(principal, network_id)
    zone = await repository.insert_zone(conn, network_id, data)
    if zone is None:
        raise ConflictError(f"this network already has a zone named {data.name!r}")
    return zone


async def add_operator(
    conn: Connection, principal: Principal, network_id: uuid.UUID, data: OperatorGrant
) -> None:
    await get_network(conn, network_id)
    policy.platform_admin(principal)
    if not await repository.user_exists(conn, data.user_id):
        raise RequestValidationError(
            "user_id names no known user (a user is known once they have called the API)",
            extra={"errors": [{"path": "body.user_id", "message": "unknown user", "source": "body"}]},
        )
    await repository.add_operator(conn, network_id, data.user_id)
