"""Rules for organisations, their staff and invitations."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from datetime import UTC, datetime, timedelta

import msgspec

from api.auth import policy
from api.auth import repository as users
from api.auth.principal import Principal
from api.db import outbox
from api.db.pool import Connection
from api.errors import ConflictError, ForbiddenError, NotFoundError, RequestValidationError
from api.http import check_if_match
from api.organisations import repository
from api.organisations.repository import OrganisationFacts
from api.organisations.siret import siret_valid
from schemas.organisations import (
    Invitation,
    InvitationAccept,
    InvitationCreate,
    Organisation,
    OrganisationCreate,
    OrganisationUpdate,
    StaffMember,
)

INVITATION_LIFETIME = timedelta(days=14)


class InvitationGoneError(ConflictError):
    slug, title_text = "invitation-gone", "The invitation can no longer be used"


def _field_error(path: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        f"{path}: {message}", extra={"errors": [{"path": path, "message": message, "source": "body"}]}
    )


def _check_point(latitude: float | None, longitude: float | None) -> None:
    if (latitude is None) != (longitude is None):
        raise _field_error("body.latitude", "give both latitude and longitude, or neither")


async def create_organisation(
    conn: Connection, principal: Principal, data: OrganisationCreate
) -> Organisation:
    """Register an organisation; its creator becomes its first administrator."""
    user = policy.authenticated(principal)
    if not siret_valid(data.siret):
        raise _field_error("body.siret", "not a valid SIRET (its Luhn checksum fails)")
    _check_point(data.latitude, data.longitude)
    organisation = await repository.insert_organisation(conn, data)
    if organisation is None:
        raise ConflictError(f"an organisation with SIRET {data.siret} is registered already")
    await users.grant_organisation_role(conn, organisation.id, user.id, "admin")
    return organisation


async def _facts(
    conn: Connection, principal: Principal, organisation_id: uuid.UUID, *, for_update: bool = False
) -> OrganisationFacts:
    facts = await repository.get_facts(
        conn, organisation_id, principal.operator_networks, for_update=for_update
    )
    if facts is None:
        raise NotFoundError("no such organisation")
    return facts


async def organisation_visibility(
    conn: Connection, principal: Principal, organisation_id: uuid.UUID, *, for_update: bool = False
) -> tuple[OrganisationFacts, bool]:
    """The organisation's facts and whether `principal` may see it (`policy.organisation_visible`:
    active in a network, or the caller's own, applied to a network the caller operates, or seen by a
    platform admin); 404 when there is no such organisation. Features that act on an
    organisation's behalf (its flows, synergies, payment account, staff) pass `visible` to their
    policy check, so a caller who may not see the organisation gets the same 404 as for none;
    `for_update` locks the organisation's row until the transaction ends."""
    facts = await _facts(conn, principal, organisation_id, for_update=for_update)
    try:
        policy.organisation_visible(principal, organisation_id, public=facts.public, operated=facts.operated)
    except NotFoundError:
        return facts, False
    return facts, True


async def get_organisation(
    conn: Connection, principal: Principal, organisation_id: uuid.UUID
) -> Organisation:
    facts = await _facts(conn, principal, organisation_id)
    policy.organisation_visible(principal, organisation_id, public=facts.public, operated=facts.operated)
    return facts.organisation


async def update_organisation(
    conn: Connection,
    principal: Principal,
    organisation_id: uuid.UUID,
    data: OrganisationUpdate,
    if_match: str | None,
) -> Organisation:
    facts, visible = await organisation_visibility(conn, principal, organisation_id, for_update=True)
    policy.organisation_admin(principal, organisation_id, visible=visible)
    current = facts.organisation
    check_if_match(if_match, current.version)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    latitude = changes.get("latitude", current.latitude)
    longitude = changes.get("longitude", current.longitude)
    _check_point(latitude, longitude)
    updated = await repository.update_organisation(conn, organisation_id, changes)
    # Its name and ESS flag are in every one of its listings' search documents.
    await outbox.emit(conn, "organisation.changed", organisation_id, {"version": updated.version})
    return updated


async def list_staff(conn: Connection, principal: Principal, organisation_id: uuid.UUID) -> list[StaffMember]:
    _, visible = await organisation_visibility(conn, principal, organisation_id)
    policy.organisation_member(principal, organisation_id, visible=visible)
    return await repository.list_staff(conn, organisation_id)


def _token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def invite(
    conn: Connection, principal: Principal, organisation_id: uuid.UUID, data: InvitationCreate
) -> Invitation:
    """Invite someone by email; the answer carries the one-time token to send them."""
    _, visible = await organisation_visibility(conn, principal, organisation_id)
    user = policy.organisation_admin(principal, organisation_id, visible=visible)
    token = secrets.token_urlsafe(32)
    invitation = await repository.insert_invitation(
        conn,
        organisation_id,
        data.email.strip().lower(),
        data.role,
        _token_hash(token),
        user.id,
        datetime.now(UTC) + INVITATION_LIFETIME,
    )
    return msgspec.structs.replace(invitation, token=token)


async def get_invitation(
    conn: Connection, principal: Principal, organisation_id: uuid.UUID, invitation_id: uuid.UUID
) -> Invitation:
    """An invitation of the organisation, without its token, for the organisation's administrators."""
    _, visible = await organisation_visibility(conn, principal, organisation_id)
    policy.organisation_admin(principal, organisation_id, visible=visible)
    invitation = await repository.get_invitation(conn, organisation_id, invitation_id)
    if invitation is None:
        raise NotFoundError("no such invitation of this organisation")
    return invitation


async def accept_invitation(conn: Connection, principal: Principal, data: InvitationAccept) -> Invitation:
    """Join the inviting organisation with the invited role. The token works once, before it expires."""
    user = policy.authenticated(principal)
    row = await repository.get_invitation_for_update(conn, _token_hash(data.token))
    if row is None:
        raise NotFoundError("no invitation has this token")
    if row["accepted_at"] is not None:
        raise InvitationGoneError("this invitation has been accepted already")
    if row["expired"]:
        raise InvitationGoneError("this invitation has expired; ask for a new one")
    if user.email is not None and user.email.strip().lower() != row["email"]:
        raise ForbiddenError("this invitation was sent to another email address")
    existing = await repository.role_of(conn, row["organisation_id"], user.id)
    if existing != "admin":  # accepting a staff invitation never demotes an administrator
        await users.grant_organisation_role(conn, row["organisation_id"], user.id, row["role"])
    return await repository.accept_invitation(conn, row["id"], user.id)
