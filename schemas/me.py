"""The caller's own identity, roles and organisations."""

from __future__ import annotations

import uuid

from schemas.base import Schema
from schemas.organisations import Role


class MyOrganisation(Schema):
    id: uuid.UUID
    name: str
    role: Role


class Me(Schema):
    id: uuid.UUID
    email: str | None
    name: str | None
    is_platform_admin: bool
    organisations: list[MyOrganisation]
    operator_of_networks: list[uuid.UUID]
    acting_organisation_id: uuid.UUID | None
