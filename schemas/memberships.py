"""Memberships of organisations in networks."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from schemas.base import Input, Schema
from schemas.types import LONG_TEXT_PATTERN

Message = Annotated[str, msgspec.Meta(max_length=2000, pattern=LONG_TEXT_PATTERN)]

MembershipStatus = Literal["pending", "active", "suspended", "rejected"]
MembershipAction = Literal["approve", "reject", "suspend", "reinstate"]
DecisionReason = Message


class Membership(Schema):
    id: uuid.UUID
    network_id: uuid.UUID
    organisation_id: uuid.UUID
    organisation_name: str
    zone_id: uuid.UUID | None
    status: MembershipStatus
    message: str
    reason: str | None
    decided_at: datetime | None
    created_at: datetime
    updated_at: datetime


class MembershipRequest(Input):
    zone_id: uuid.UUID | None = None
    message: Message = ""


# One request Struct per operator decision; every field is optional, so each may be sent without a body.


class MembershipApprove(Input):
    reason: DecisionReason | None = None
    zone_id: uuid.UUID | None = None
    """The member's zone in the network (kept when absent)."""


class MembershipReject(Input):
    reason: DecisionReason | None = None


class MembershipSuspend(Input):
    reason: DecisionReason | None = None


class MembershipReinstate(Input):
    reason: DecisionReason | None = None


MembershipDecision = MembershipApprove | MembershipReject | MembershipSuspend | MembershipReinstate
"""What `api.memberships.service.decide` reads; each route takes its own one."""


class MemberProfile(Schema):
    """What members of a network see of each other."""

    organisation_id: uuid.UUID
    name: str
    naf_code: str | None
    is_ess: bool
    description: str
    city: str
    zone_id: uuid.UUID | None
    website: str | None
    status: MembershipStatus
    """Always `active` for members; operators also see pending, suspended and rejected ones."""
