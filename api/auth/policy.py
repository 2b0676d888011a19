"""Who may do what: every authorization rule of the API, in one place.

Services call exactly one of these before they act; the rule raises the problem the caller gets:
401 when no identity was given but one is needed, 404 when the caller may not even know that the
thing exists, 403 when it may know but not act. Facts that live in the database (a membership's
status, say) are loaded by the service and passed in, so the rules stay readable and testable.
"""

from __future__ import annotations

import uuid
from typing import Literal

from api.auth.principal import Principal, User
from api.errors import ForbiddenError, NotFoundError, UnauthorizedError
from search.query import Viewer

MembershipStatus = Literal["pending", "active", "suspended", "rejected"]


def authenticated(principal: Principal) -> User:
    if principal.user is None:
        raise UnauthorizedError(
            "this operation needs a bearer token",
            headers={"WWW-Authenticate": 'Bearer realm="symbiose"'},
        )
    return principal.user


def platform_admin(principal: Principal) -> User:
    user = authenticated(principal)
    if not user.is_platform_admin:
        raise ForbiddenError("only a platform administrator may do this")
    return user


def network_operator(principal: Principal, network_id: uuid.UUID) -> User:
    """Operators of the network, and platform administrators."""
    user = authenticated(principal)
    if not (principal.operates(network_id) or user.is_platform_admin):
        raise ForbiddenError("only an operator of this network may do this")
    return user


def acting_organisation(principal: Principal, *, admin: bool = False) -> uuid.UUID:
    """The organisation named by X-Organisation-ID, in which the caller holds a role."""
    authenticated(principal)
    if principal.acting_organisation_id is None:
        raise ForbiddenError("send X-Organisation-ID to say which of your organisations you act for")
    if admin and principal.acting_role != "admin":
        raise ForbiddenError("only an administrator of your organisation may do this")
    return principal.acting_organisation_id


def organisation_visible(
    principal: Principal, organisation_id: uuid.UUID, *, public: bool, operated: bool
) -> None:
    """An organisation is seen by everyone once active in a network (`public`); before that by its
    own people, by operators of a network it applied to (`operated`) and by platform admins."""
    if public or operated or principal.role_in(organisation_id) is not None or principal.is_platform_admin:
        return
    raise NotFoundError("no such organisation")


def organisation_admin(principal: Principal, organisation_id: uuid.UUID, *, visible: bool) -> User:
    user = authenticated(principal)
    if principal.role_in(organisation_id) == "admin":
        return user
    if not visible:
        raise NotFoundError("no such organisation")
    raise ForbiddenError("only an administrator of this organisation may do this")


def organisation_member(principal: Principal, organisation_id: uuid.UUID, *, visible: bool) -> User:
    user = authenticated(principal)
    if principal.role_in(organisation_id) is not None or user.is_platform_admin:
        return user
    if not visible:
        raise NotFoundError("no such organisation")
    raise ForbiddenError("only people of this organisation may see this")


def network_members_view(
    principal: Principal, network_id: uuid.UUID, acting_status: MembershipStatus | None
) -> Literal["all", "active"]:
    """Operators see every membership; active members see the active members' public profiles."""
    user = authenticated(principal)
    if principal.operates(network_id) or user.is_platform_admin:
        return "all"
    if principal.acting_organisation_id is None:
        raise ForbiddenError("send X-Organisation-ID: only members of this network see its members")
    if acting_status != "active":
        raise ForbiddenError(
            "your organisation's membership of this network is suspended"
            if acting_status == "suspended"
            else "only active members of this network see its members"
        )
    return "active"


def membership_visible(principal: Principal, network_id: uuid.UUID, organisation_id: uuid.UUID) -> None:
    """A membership is seen by the network's operators and by the member organisation's people."""
    if principal.operates(network_id) or principal.is_platform_admin:
        return
    if principal.role_in(organisation_id) is not None:
        return
    authenticated(principal)
    raise NotFoundError("no such membership")


def listing_author(principal: Principal, membership_status: MembershipStatus | None) -> uuid.UUID:
    """Listings are written by the people of the acting organisation, in a network it has joined."""
    organisation_id = acting_organisation(principal)
    if membership_status == "suspended":
        raise ForbiddenError("your organisation's membership of this network is suspended")
    if membership_status not in ("active", "pending"):
        raise ForbiddenError("your organisation is not a member of this network")
    return organisation_id


def listing_owner(principal: Principal, owner_id: uuid.UUID, *, visible: bool) -> uuid.UUID:
    """Only the owning organisation's people change a listing; others learn at most that it exists."""
    authenticated(principal)
    if principal.acting_organisation_id == owner_id and principal.acting_role is not None:
        return owner_id
    if not visible:
        raise NotFoundError("no such listing")
    raise ForbiddenError("only the organisation that published this listing may change it")


def listing_editable(membership_status: MembershipStatus | None) -> None:
    """A suspended member still reads its listings but changes none of them until reinstated."""
    if membership_status == "suspended":
        raise ForbiddenError("your organisation's membership of this network is suspended")


def listing_can_publish(membership_status: MembershipStatus | None) -> None:
    if membership_status == "suspended":
        raise ForbiddenError("your organisation's membership of this network is suspended")
    if membership_status != "active":
        raise ForbiddenError("your organisation's membership of this network is not active yet")


def transfer_requester(principal: Principal, membership_status: MembershipStatus | None) -> uuid.UUID:
    """Transfers are asked (or proposed) for the acting organisation, an active member of the network."""
    organisation_id = acting_organisation(principal)
    if membership_status == "suspended":
        raise ForbiddenError("your organisation's membership of this network is suspended")
    if membership_status != "active":
        raise ForbiddenError("only active members of this network exchange resources in it")
    return organisation_id


def transfer_roles(
    principal: Principal,
    *,
    network_id: uuid.UUID,
    giver_id: uuid.UUID,
    taker_id: uuid.UUID,
) -> list[str]:
    """The caller's roles in a transfer (giver, taker, operator; see `api.transfers.lifecycle`); 404
    when it has none, since a transfer is seen only by its two parties and the network's operators."""
    authenticated(principal)
    roles: list[str] = []
    acting = principal.acting_organisation_id
    for party, organisation_id in (("giver", giver_id), ("taker", taker_id)):
        if acting is not None and acting == organisation_id and principal.acting_role is not None:
            roles.append(party)
    if principal.operates(network_id) or principal.is_platform_admin:
        roles.append("operator")
    if not roles:
        raise NotFoundError("no such transfer")
    return roles


def transfer_actor(roles: list[str], permitted: set[str], action: str) -> str:
    """The role in which the caller takes `action`; 403 when only the other party (or an operator) may."""
    for role in roles:
        if role in permitted:
            return role
    who = " or ".join(sorted(permitted))
    raise ForbiddenError(f"only the {who} of this transfer may {action} it")


def impact_view(
    principal: Principal, network_id: uuid.UUID, acting_status: MembershipStatus | None
) -> Literal["network", "organisation"]:
    """Operators see every transfer's impact; an active member its own, and the network's total."""
    user = authenticated(principal)
    if principal.operates(network_id) or user.is_platform_admin:
        return "network"
    if principal.acting_organisation_id is None:
        raise ForbiddenError("send X-Organisation-ID: members see their own impact in this network")
    if acting_status != "active":
        raise ForbiddenError(
            "your organisation's membership of this network is suspended"
            if acting_status == "suspended"
            else "only active members of this network see its impact"
        )
    return "organisation"


def search_viewer(principal: Principal, member_of: frozenset[uuid.UUID]) -> Viewer:
    """Whose eyes a search looks through. Everyone sees the public listings of active members; a
    signed-in caller also sees every published listing of the networks its acting organisation is an
    active member of (`member_of`) and of the networks it operates. Nothing a caller sends widens it."""
    if principal.user is None:
        return Viewer()
    return Viewer(networks=member_of | principal.operator_networks)


def reservation_requester(principal: Principal, membership_status: MembershipStatus | None) -> uuid.UUID:
    """Services are booked for the acting organisation, an active member of the listing's network."""
    organisation_id = acting_organisation(principal)
    if membership_status == "suspended":
        raise ForbiddenError("your organisation's membership of this network is suspended")
    if membership_status != "active":
        raise ForbiddenError("only active members of this network book its services")
    return organisation_id


def reservation_roles(
    principal: Principal, *, network_id: uuid.UUID, provider_id: uuid.UUID, requester_id: uuid.UUID
) -> list[str]:
    """The caller's roles in a reservation (see `api.reservations.lifecycle`); 404 when it has none,
    since a reservation is seen only by its two parties and the network's operators."""
    authenticated(principal)
    roles: list[str] = []
    acting = principal.acting_organisation_id
    if acting is not None and principal.acting_role is not None:
        roles += [
            role
            for role, party in (("requester", requester_id), ("provider", provider_id))
            if party == acting
        ]
    if principal.operates(network_id) or principal.is_platform_admin:
        roles.append("operator")
    if not roles:
        raise NotFoundError("no such reservation")
    return roles


def reservation_actor(roles: list[str], permitted: set[str], action: str) -> str:
    """The role in which the caller takes `action`; 403 when only the other party (or an operator) may."""
    for role in roles:
        if role in permitted:
            return role
    who = " or ".join(sorted(permitted))
    raise ForbiddenError(f"only the {who} of this reservation may {action} it")


def reservation_provider_active(membership_status: MembershipStatus | None) -> None:
    """Capacity is committed only by a provider that is an active member, as booking needs one."""
    if membership_status == "suspended":
        raise ForbiddenError("your organisation's membership of this network is suspended")
    if membership_status != "active":
        raise ForbiddenError("only active members of this network commit their services")


def flows_of_network(principal: Principal, network_id: uuid.UUID) -> User:
    """A network's flows (and synergies) are followed by its operators."""
    return network_operator(principal, network_id)


def flows_of_organisation(
    principal: Principal, organisation_id: uuid.UUID, member_of: frozenset[uuid.UUID], *, visible: bool
) -> frozenset[uuid.UUID] | None:
    """Who sees an organisation's flows: its own people (all of them: None), and the operators of the
    networks it is a member of (the flows in those networks, returned); nobody else."""
    user = authenticated(principal)
    if principal.role_in(organisation_id) is not None or user.is_platform_admin:
        return None
    operated = member_of & principal.operator_networks
    if operated:
        return frozenset(operated)
    if not visible:
        raise NotFoundError("no such organisation")
    raise ForbiddenError("only the organisation's people and its networks' operators see its flows")


def flow_visible(principal: Principal, network_id: uuid.UUID, organisation_id: uuid.UUID) -> User:
    """A flow is confidential: the organisation's people and the network's operators see it; for
    anyone else it does not exist."""
    user = authenticated(principal)
    if principal.role_in(organisation_id) is not None or principal.operates(network_id):
        return user
    if user.is_platform_admin:
        return user
    raise NotFoundError("no such flow")


def flow_writer(
    principal: Principal, network_id: uuid.UUID, membership_status: MembershipStatus | None
) -> None:
    """Operators record any member's flows; an organisation's people its own, unless suspended."""
    if principal.operates(network_id) or principal.is_platform_admin:
        return
    if membership_status == "suspended":
        raise ForbiddenError("your organisation's membership of this network is suspended")
    if membership_status not in ("active", "pending"):
        raise ForbiddenError("your organisation is not a member of this network")


def synergy_roles(
    principal: Principal, network_id: uuid.UUID, organisation_ids: list[uuid.UUID]
) -> list[str]:
    """`operator` for the network's operators, `party` for the people of an involved organisation;
    404 for anyone else, since a synergy is confidential."""
    authenticated(principal)
    roles: list[str] = []
    if any(principal.role_in(o) is not None for o in organisation_ids):
        roles.append("party")
    if principal.operates(network_id) or principal.is_platform_admin:
        roles.append("operator")
    if not roles:
        raise NotFoundError("no such synergy")
    return roles
