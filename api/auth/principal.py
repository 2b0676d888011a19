"""Who is asking: the bearer token's user, their roles, and the organisation they act for."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Annotated, Literal

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi.spec import Example, OpenAPIType
from litestar.params import HeaderParameter
from litestar.types import Scope

from api.auth import repository
from api.auth.tokens import KeyUnavailableError, TokenError, TokenVerifier, VerifiedToken
from api.db.pool import Connection
from api.errors import ForbiddenError, RequestValidationError, ServiceUnavailableError, UnauthorizedError

OrganisationRole = Literal["admin", "staff"]
ORGANISATION_HEADER = "x-organisation-id"
ORGANISATION_HEADER_BYTES = ORGANISATION_HEADER.encode()

UUID_PATTERN = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
# A parameter of `provide_principal`, so every operation that resolves the caller documents it. A
# string with a UUID pattern, not `format: uuid`: generated clients then type it `UUID` and put it
# into the request as it is, which an HTTP library refuses (it takes only strings).
ActingOrganisation = Annotated[
    str | None,
    HeaderParameter(
        name="X-Organisation-ID",
        required=False,
        schema_extra={"one_of": None, "type": OpenAPIType.STRING, "pattern": UUID_PATTERN},
        examples=[Example(value="0b5c6d7e-8f90-4a1b-9c2d-3e4f5a6b7c8d")],
        description="The organisation you act for, one you are a member of (see `GET /v1/me`). Member "
        "actions need it; without it you act as yourself (operator, platform administrator).",
    ),
]


class InvalidTokenError(UnauthorizedError):
    slug, title_text = "invalid-token", "The bearer token was refused"


@dataclass(frozen=True, slots=True)
class User:
    id: uuid.UUID
    email: str | None
    name: str | None
    is_platform_admin: bool


@dataclass(frozen=True, slots=True)
class Principal:
    """The caller of one request. `user` is None for anonymous callers."""

    user: User | None = None
    organisation_roles: dict[uuid.UUID, OrganisationRole] = field(default_factory=dict)
    operator_networks: frozenset[uuid.UUID] = frozenset()
    acting_organisation_id: uuid.UUID | None = None

    @property
    def is_platform_admin(self) -> bool:
        return self.user is not None and self.user.is_platform_admin

    @property
    def acting_role(self) -> OrganisationRole | None:
        if self.acting_organisation_id is None:
            return None
        return self.organisation_roles.get(self.acting_organisation_id)

    def role_in(self, organisation_id: uuid.UUID) -> OrganisationRole | None:
        return self.organisation_roles.get(organisation_id)

    def operates(self, network_id: uuid.UUID) -> bool:
        return network_id in self.operator_networks


ANONYMOUS = Principal()


async def judge_token(scope: Scope) -> VerifiedToken | None:
    """The bearer token of a request, verified; None without one. A token, when sent, must be valid
    on every route, public ones included; it needs no database (the `principal` dependency turns
    it into a user). Raises the refusal (401, or 503 when the issuer's keys cannot be fetched);
    `api.admission` answers it once the rate limit has counted the request."""
    header: bytes | None = None
    acting = False
    for name, value in scope["headers"]:
        if name == b"authorization":
            header = value if header is None else header
        elif name == ORGANISATION_HEADER_BYTES:
            acting = acting or bool(value)
    if header is None:
        if acting:
            raise UnauthorizedError("X-Organisation-ID needs a bearer token saying who you are")
        return None
    scheme, _, token = header.decode("latin-1").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _invalid("the Authorization header must be `Bearer <token>`")
    verifier: TokenVerifier = scope["litestar_app"].state.token_verifier
    try:
        return await verifier.verify(token.strip())
    except TokenError as exc:
        raise _invalid(str(exc)) from exc
    except KeyUnavailableError as exc:
        raise ServiceUnavailableError(
            "the identity provider's keys cannot be fetched; retry shortly"
        ) from exc


async def provide_principal(
    request: Request[object, object, State],
    conn: NamedDependency[Connection],
    acting_organisation: ActingOrganisation = None,
) -> Principal:
    """Resolve the caller. A user seen for the first time is created from the token's claims."""
    verified: VerifiedToken | None = request.state.get("verified_token")
    if verified is None:
        return ANONYMOUS
    row = await repository.load_user(conn, verified.issuer, verified.subject, verified.email, verified.name)
    user = User(row["id"], row["email"], row["name"], row["is_platform_admin"])
    roles: dict[uuid.UUID, OrganisationRole] = dict(zip(row["org_ids"], row["org_roles"], strict=True))
    principal = Principal(user, roles, frozenset(row["operator_networks"]))
    if acting_organisation is None:
        return principal
    try:
        organisation_id = uuid.UUID(acting_organisation)
    except ValueError:
        message = "must be the id (a UUID) of one of your organisations, as GET /v1/me lists them"
        raise RequestValidationError(
            f"header.x-organisation-id: {message}",
            extra={"errors": [{"path": "header.x-organisation-id", "message": message, "source": "header"}]},
        ) from None
    if organisation_id not in roles:
        raise ForbiddenError("X-Organisation-ID names an organisation you are not a member of")
    return Principal(user, roles, principal.operator_networks, organisation_id)


def _invalid(message: str) -> InvalidTokenError:
    return InvalidTokenError(
        message, headers={"WWW-Authenticate": f'Bearer error="invalid_token", error_description="{message}"'}
    )
