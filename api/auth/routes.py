"""The caller's identity, and the local issuer's discovery documents."""

from __future__ import annotations

from typing import Any

from litestar import Controller, Request, get
from litestar.datastructures import State
from litestar.di import NamedDependency

from api.auth import policy, repository
from api.auth.principal import Principal
from api.auth.tokens import LocalIssuer
from api.db.pool import Connection
from api.errors import ForbiddenError, NotFoundError, UnauthorizedError
from api.openapi import BEARER, problem_responses
from schemas.me import Me, MyOrganisation


class MeController(Controller):
    path = "/v1/me"
    tags = ("identity",)

    @get(
        "/",
        operation_id="getMe",
        summary="Who am I",
        security=BEARER,
        responses=problem_responses(UnauthorizedError, ForbiddenError),
    )
    async def me(self, conn: NamedDependency[Connection], principal: NamedDependency[Principal]) -> Me:
        """The caller's user, organisations with roles, and networks they operate."""
        user = policy.authenticated(principal)
        names = await repository.organisation_names(conn, list(principal.organisation_roles))
        return Me(
            id=user.id,
            email=user.email,
            name=user.name,
            is_platform_admin=user.is_platform_admin,
            organisations=sorted(
                (
                    MyOrganisation(id=o, name=names.get(o, ""), role=r)
                    for o, r in principal.organisation_roles.items()
                ),
                key=lambda o: o.name,
            ),
            operator_of_networks=sorted(principal.operator_networks),
            acting_organisation_id=principal.acting_organisation_id,
        )


def _local_issuer(request: Request[Any, Any, State]) -> LocalIssuer:
    issuer = request.app.state.local_issuer
    if not isinstance(issuer, LocalIssuer):
        raise NotFoundError("this service uses an external identity provider")
    return issuer


class LocalIssuerController(Controller):
    """Published only when the service is its own issuer (no OIDC_ISSUER configured)."""

    path = "/.well-known"
    tags = ("identity",)

    @get(
        "/openid-configuration",
        operation_id="getOpenIdConfiguration",
        summary="OpenID discovery document of the local issuer",
        responses=problem_responses(NotFoundError),
    )
    async def discovery(self, request: Request[Any, Any, State]) -> dict[str, Any]:
        """Where the local issuer publishes its keys; 404 when an external provider is configured."""
        return _local_issuer(request).discovery_document(str(request.base_url))

    @get(
        "/jwks.json",
        operation_id="getJwks",
        summary="Public keys of the local issuer",
        responses=problem_responses(NotFoundError),
    )
    async def jwks(self, request: Request[Any, Any, State]) -> dict[str, Any]:
        """The JSON Web Key Set that verifies tokens minted by `symbiose token`."""
        return _local_issuer(request).jwks()
