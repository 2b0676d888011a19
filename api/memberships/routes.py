"""HTTP routes for memberships of organisations in networks."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from api.actions import LOCATION, Action, with_actions
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import ForbiddenError, NotFoundError, RequestValidationError, UnauthorizedError
from api.http import LimitQuery
from api.memberships import service
from api.memberships.lifecycle import MEMBERSHIP, IllegalTransitionError
from api.openapi import BEARER, problem_responses
from schemas.memberships import (
    MemberProfile,
    Membership,
    MembershipApprove,
    MembershipReinstate,
    MembershipReject,
    MembershipRequest,
    MembershipStatus,
    MembershipSuspend,
)
from schemas.pagination import Page


class NetworkMembershipController(Controller):
    path = "/v1/networks/{network_id:uuid}"
    tags = ("memberships",)

    @post(
        "/memberships",
        operation_id="requestMembership",
        summary="Ask to join a network",
        security=BEARER,
        response_headers=[LOCATION],
        responses=problem_responses(
            RequestValidationError, UnauthorizedError, ForbiddenError, NotFoundError, IllegalTransitionError
        ),
    )
    async def request_membership(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        data: JSONBody[MembershipRequest],
    ) -> Response[Membership]:
        """The organisation named by `X-Organisation-ID` asks to join (its administrators only). A rejected
        organisation may ask again; otherwise an existing membership is a 409."""
        membership = await service.request_to_join(conn, principal, network_id, data)
        return Response(membership, status_code=201, headers={"Location": f"/v1/memberships/{membership.id}"})

    @get(
        "/memberships",
        operation_id="listMemberships",
        summary="List a network's memberships",
        security=BEARER,
        responses=problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def list_memberships(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        status: FromQuery[MembershipStatus | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[Membership]:
        """Every membership with its status, by organisation name. Operators of the network only."""
        return await service.list_memberships(conn, principal, network_id, status, cursor, limit)

    @get(
        "/members",
        operation_id="listMembers",
        summary="List a network's members",
        security=BEARER,
        responses=problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def list_members(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[MemberProfile]:
        """Public profiles of the active members, for members acting through an active membership
        (`X-Organisation-ID`); operators see every organisation that applied, whatever its status."""
        return await service.list_members(conn, principal, network_id, cursor, limit)


async def _decide(
    conn: Connection,
    principal: Principal,
    membership_id: uuid.UUID,
    action: str,
    data: msgspec.Struct | None,
    if_match: str | None,
) -> Response[Membership]:
    assert isinstance(data, MembershipApprove | MembershipReject | MembershipSuspend | MembershipReinstate)
    return Response(await service.decide(conn, principal, membership_id, action, data))


_OPERATORS = "Operators of the network only."
ACTIONS = {
    "approve": Action(
        "Approve a membership",
        f"A pending organisation becomes an active member; `zone_id` sets its zone. {_OPERATORS}",
        MembershipApprove,
    ),
    "reject": Action(
        "Reject a membership",
        f"Refuse a pending request; the organisation may ask again. {_OPERATORS}",
        MembershipReject,
    ),
    "suspend": Action(
        "Suspend a membership",
        f"An active member stops publishing and exchanging until reinstated. {_OPERATORS}",
        MembershipSuspend,
    ),
    "reinstate": Action(
        "Reinstate a membership",
        f"A suspended member becomes active again. {_OPERATORS}",
        MembershipReinstate,
    ),
}


@with_actions(MEMBERSHIP, ACTIONS, answer=Membership, act=_decide)
class MembershipController(Controller):
    path = "/v1/memberships"
    tags = ("memberships",)

    @get(
        "/{membership_id:uuid}",
        operation_id="getMembership",
        summary="Get a membership",
        security=BEARER,
        responses=problem_responses(UnauthorizedError, NotFoundError),
    )
    async def get_membership(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        membership_id: FromPath[uuid.UUID],
    ) -> Membership:
        """Seen by the network's operators and by the member organisation's people."""
        return await service.get_membership(conn, principal, membership_id)
