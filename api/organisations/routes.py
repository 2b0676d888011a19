"""HTTP routes for organisations, their staff and invitations."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody

from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import (
    ConflictError,
    ForbiddenError,
    NotFoundError,
    RequestValidationError,
    UnauthorizedError,
)
from api.http import IfMatch, tagged
from api.openapi import BEARER, UPDATE_ERRORS, problem_responses
from api.organisations import service
from api.organisations.service import InvitationGoneError
from schemas.organisations import (
    Invitation,
    InvitationAccept,
    InvitationCreate,
    Organisation,
    OrganisationCreate,
    OrganisationUpdate,
    StaffMember,
)


class OrganisationController(Controller):
    path = "/v1/organisations"
    tags = ("organisations",)

    @post(
        "/",
        operation_id="createOrganisation",
        summary="Register an organisation",
        security=BEARER,
        responses=problem_responses(RequestValidationError, UnauthorizedError, ConflictError),
    )
    async def create(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        data: JSONBody[OrganisationCreate],
    ) -> Response[Organisation]:
        """Register an organisation by its SIRET (checked, unique). The caller becomes its administrator."""
        organisation = await service.create_organisation(conn, principal, data)
        return tagged(organisation, 201, Location=f"{self.path}/{organisation.id}")

    @get(
        "/{organisation_id:uuid}",
        operation_id="getOrganisation",
        summary="Get an organisation",
        responses=problem_responses(UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def get_organisation(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        organisation_id: FromPath[uuid.UUID],
    ) -> Response[Organisation]:
        """An organisation active in a network is public; before that only its people, the operators of
        networks it applied to and platform administrators see it (others get 404)."""
        organisation = await service.get_organisation(conn, principal, organisation_id)
        return tagged(organisation)

    @patch(
        "/{organisation_id:uuid}",
        operation_id="updateOrganisation",
        summary="Update an organisation",
        security=BEARER,
        responses=problem_responses(*UPDATE_ERRORS),
    )
    async def update(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        organisation_id: FromPath[uuid.UUID],
        data: JSONBody[OrganisationUpdate],
        if_match: IfMatch = None,
    ) -> Response[Organisation]:
        """Change an organisation's profile. Its administrators only; send `If-Match` with its `ETag`."""
        organisation = await service.update_organisation(conn, principal, organisation_id, data, if_match)
        return tagged(organisation)

    @get(
        "/{organisation_id:uuid}/staff",
        operation_id="listStaff",
        summary="List an organisation's people",
        security=BEARER,
        responses=problem_responses(UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def staff(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        organisation_id: FromPath[uuid.UUID],
    ) -> list[StaffMember]:
        """The administrators and staff of an organisation. Seen by its own people only."""
        return await service.list_staff(conn, principal, organisation_id)

    @post(
        "/{organisation_id:uuid}/invitations",
        operation_id="inviteStaff",
        summary="Invite someone to an organisation",
        security=BEARER,
        responses=problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def invite(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        organisation_id: FromPath[uuid.UUID],
        data: JSONBody[InvitationCreate],
    ) -> Response[Invitation]:
        """Invite a person by email as staff or administrator. The answer's `token` is shown once: send it to
        them; they accept it with `POST /v1/invitations/accept`. Administrators only."""
        invitation = await service.invite(conn, principal, organisation_id, data)
        location = f"{self.path}/{organisation_id}/invitations/{invitation.id}"
        return Response(invitation, status_code=201, headers={"Location": location})

    @get(
        "/{organisation_id:uuid}/invitations/{invitation_id:uuid}",
        operation_id="getInvitation",
        summary="Get an invitation",
        security=BEARER,
        responses=problem_responses(UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def get_invitation(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        organisation_id: FromPath[uuid.UUID],
        invitation_id: FromPath[uuid.UUID],
    ) -> Invitation:
        """An invitation and whether it was accepted; its token is never shown again. Administrators only."""
        return await service.get_invitation(conn, principal, organisation_id, invitation_id)


class InvitationController(Controller):
    path = "/v1/invitations"
    tags = ("organisations",)

    @post(
        "/accept",
        operation_id="acceptInvitation",
        summary="Accept an invitation",
        status_code=200,
        security=BEARER,
        responses=problem_responses(
            RequestValidationError, UnauthorizedError, ForbiddenError, NotFoundError, InvitationGoneError
        ),
    )
    async def accept(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        data: JSONBody[InvitationAccept],
    ) -> Invitation:
        """Join the inviting organisation. The caller's email, when the token carries one, must match."""
        return await service.accept_invitation(conn, principal, data)
