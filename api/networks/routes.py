"""HTTP routes for networks, zones and operators."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_204_NO_CONTENT

from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RequestValidationError,
    UnauthorizedError,
)
from api.http import IfMatch, LimitQuery, tagged
from api.networks import service
from api.openapi import BEARER, UPDATE_ERRORS, problem_responses
from schemas.networks import Network, NetworkCreate, NetworkUpdate, OperatorGrant, Zone, ZoneCreate
from schemas.pagination import Page


class NetworkController(Controller):
    path = "/v1/networks"
    tags = ("networks",)

    @get(
        "/",
        operation_id="listNetworks",
        summary="List networks",
        responses=problem_responses(RequestValidationError),
    )
    async def list_networks(
        self,
        conn: NamedDependency[Connection],
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[Network]:
        """Every network (territorial programme), public, ordered by slug."""
        return await service.list_networks(conn, cursor=cursor, limit=limit)

    @post(
        "/",
        operation_id="createNetwork",
        summary="Create a network",
        security=BEARER,
        responses=problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError, ConflictError),
    )
    async def create_network(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        data: JSONBody[NetworkCreate],
    ) -> Response[Network]:
        """Create a network. Platform administrators only; the slug must be unused."""
        network = await service.create_network(conn, principal, data)
        return tagged(network, 201, Location=f"{self.path}/{network.id}")

    @get(
        "/{network_id:uuid}",
        operation_id="getNetwork",
        summary="Get a network",
        responses=problem_responses(NotFoundError),
    )
    async def get_network(
        self, conn: NamedDependency[Connection], network_id: FromPath[uuid.UUID]
    ) -> Response[Network]:
        """One network, public; its `ETag` is what `PATCH` expects in `If-Match`."""
        network = await service.get_network(conn, network_id)
        return tagged(network)

    @patch(
        "/{network_id:uuid}",
        operation_id="updateNetwork",
        summary="Update a network",
        security=BEARER,
        responses=problem_responses(*UPDATE_ERRORS),
    )
    async def update_network(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        data: JSONBody[NetworkUpdate],
        if_match: IfMatch = None,
    ) -> Response[Network]:
        """Change a network's name, description or centre. Platform administrators only."""
        network = await service.update_network(conn, principal, network_id, data, if_match)
        return tagged(network)

    @get(
        "/{network_id:uuid}/zones",
        operation_id="listZones",
        summary="List a network's zones",
        responses=problem_responses(RequestValidationError, NotFoundError),
    )
    async def list_zones(
        self,
        conn: NamedDependency[Connection],
        network_id: FromPath[uuid.UUID],
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[Zone]:
        """The business parks, communes and districts of a network, by name. Public."""
        return await service.list_zones(conn, network_id, cursor=cursor, limit=limit)

    @get(
        "/{network_id:uuid}/zones/{zone_id:uuid}",
        operation_id="getZone",
        summary="Get a zone",
        responses=problem_responses(NotFoundError),
    )
    async def get_zone(
        self, conn: NamedDependency[Connection], network_id: FromPath[uuid.UUID], zone_id: FromPath[uuid.UUID]
    ) -> Zone:
        """One zone of a network. Public."""
        return await service.get_zone(conn, network_id, zone_id)

    @post(
        "/{network_id:uuid}/zones",
        operation_id="createZone",
        summary="Add a zone to a network",
        security=BEARER,
        responses=problem_responses(
            RequestValidationError, UnauthorizedError, ForbiddenError, NotFoundError, ConflictError
        ),
    )
    async def create_zone(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        data: JSONBody[ZoneCreate],
    ) -> Response[Zone]:
        """Add a zone (business park, commune...). Operators of the network and platform administrators."""
        zone = await service.create_zone(conn, principal, network_id, data)
        return Response(
            zone, status_code=201, headers={"Location": f"{self.path}/{network_id}/zones/{zone.id}"}
        )

    @post(
        "/{network_id:uuid}/operators",
        operation_id="addNetworkOperator",
        summary="Make a user an operator of a network",
        status_code=HTTP_204_NO_CONTENT,
        security=BEARER,
        responses=problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def add_operator(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        data: JSONBody[OperatorGrant],
    ) -> None:
        """Give a known user the operator role of this network. Platform administrators only."""
        await service.add_operator(conn, principal, network_id, data)
