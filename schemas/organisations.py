"""Organisations (members of networks), their staff and invitations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

import msgspec

from schemas.base import Input, Schema
from schemas.networks import Description, Latitude, Longitude, Name
from schemas.types import SHORT_TEXT_PATTERN, URL_PATTERN

Siret = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{14}(?![\s\S])",
        description="French establishment number: 14 digits with a valid Luhn checksum",
        examples=["73282932000074"],
    ),
]
NafCode = Annotated[str, msgspec.Meta(pattern=r"^[0-9]{2}\.[0-9]{2}[A-Z](?![\s\S])", examples=["38.32Z"])]
Role = Literal["admin", "staff"]
ShortText = Annotated[str, msgspec.Meta(max_length=200, pattern=SHORT_TEXT_PATTERN)]
Email = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[^@\s\x00-\x1f\x7f-\x9f]+@[^@\s\x00-\x1f\x7f-\x9f]+\.[^@\s\x00-\x1f\x7f-\x9f]+(?![\s\S])",
        max_length=254,
    ),
]
Website = Annotated[str, msgspec.Meta(pattern=URL_PATTERN, max_length=500)]
Postcode = Annotated[str, msgspec.Meta(max_length=16, pattern=SHORT_TEXT_PATTERN)]


class Organisation(Schema):
    id: uuid.UUID
    name: str
    siret: str
    naf_code: str | None
    legal_form: str | None
    is_ess: bool
    description: str
    website: str | None
    address_line: str
    postcode: str
    city: str
    country: str
    latitude: float | None
    longitude: float | None
    version: int
    created_at: datetime
    updated_at: datetime


class OrganisationCreate(Input):
    name: Name
    siret: Siret
    naf_code: NafCode | None = None
    legal_form: ShortText | None = None
    is_ess: bool = False
    description: Description = ""
    website: Website | None = None
    address_line: ShortText = ""
    postcode: Postcode = ""
    city: ShortText = ""
    country: Annotated[str, msgspec.Meta(pattern=r"^[A-Z]{2}(?![\s\S])")] = "FR"
    latitude: Latitude | None = None
    longitude: Longitude | None = None


class OrganisationUpdate(Input):
    name: Name | msgspec.UnsetType = msgspec.UNSET
    naf_code: NafCode | msgspec.UnsetType | None = msgspec.UNSET
    legal_form: ShortText | msgspec.UnsetType | None = msgspec.UNSET
    is_ess: bool | msgspec.UnsetType = msgspec.UNSET
    description: Description | msgspec.UnsetType = msgspec.UNSET
    website: Website | msgspec.UnsetType | None = msgspec.UNSET
    address_line: ShortText | msgspec.UnsetType = msgspec.UNSET
    postcode: Postcode | msgspec.UnsetType = msgspec.UNSET
    city: ShortText | msgspec.UnsetType = msgspec.UNSET
    latitude: Latitude | msgspec.UnsetType | None = msgspec.UNSET
    longitude: Longitude | msgspec.UnsetType | None = msgspec.UNSET


class StaffMember(Schema):
    user_id: uuid.UUID
    email: str | None
    name: str | None
    role: Role
    since: datetime


class InvitationCreate(Input):
    email: Email
    role: Role = "staff"


class Invitation(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID
    email: str
    role: Role
    expires_at: datetime
    accepted_at: datetime | None = None
    token: str | None = None
    """The secret to hand to the invitee; shown only in the answer that creates the invitation."""


class InvitationAccept(Input):
    token: Annotated[str, msgspec.Meta(min_length=16, max_length=200, pattern=SHORT_TEXT_PATTERN)]
