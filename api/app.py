"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar, Request
from litestar.di import Provide
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.plugins.problem_details import ProblemDetailsPlugin

from api.auth.principal import BearerTokenMiddleware, provide_principal
from api.auth.routes import LocalIssuerController, MeController
from api.auth.tokens import LocalIssuer, RemoteKeySource, TokenVerifier
from api.categories.routes import CategoryController, UnitController, WasteCodeController
from api.db.idempotency import forget_expired_keys
from api.db.migrations import check_schema
from api.db.periodic import periodic
from api.db.pool import Pool, create_pool, provide_transaction
from api.errors import exception_handlers, problem_details_config
from api.health.routes import HealthController
from api.http import cursor_key_in, use_cursor_key
from api.imports.routes import ImportController
from api.inputs import BoundedTypesSchemaPlugin, InputRequest, check_request, type_decoders
from api.listings.routes import ListingController, OrganisationListingController
from api.listings.service import expire_due
from api.memberships.routes import MembershipController, NetworkMembershipController
from api.networks.routes import NetworkController
from api.observability import RequestContext, logging_config
from api.openapi import docs_assets_router, openapi_config
from api.organisations.routes import InvitationController, OrganisationController
from api.reservations.routes import ListingReservationController, ReservationController
from api.reservations.service import SWEEP_BATCH, sweep_due
from api.search.routes import SearchController
from api.search.service import provide_viewer
from api.settings import Settings
from api.transfers.routes import (
    ListingTransferController,
    NetworkImpactController,
    TransferController,
)
from search.factory import create_backend
from search.postgres.repository import forget_old_changes

logger = logging.getLogger(__name__)


def create_app(settings: Settings) -> Litestar:
    """Build the Litestar application. `settings.database_url` must be set (see `api.cli`)."""
    if settings.database_url is None:
        raise ValueError("create_app needs a database URL; the CLI starts the embedded server first")
    dsn = settings.database_url
    use_cursor_key(cursor_key_in(settings.key_dir))

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncGenerator[None, None]:
        pool = await create_pool(
            dsn, min_size=settings.database_pool_min_size, max_size=settings.database_pool_max_size
        )
        try:
            async with pool.acquire() as conn:
                await check_schema(conn)
            app.state.pool = pool
            _install_token_verifier(app, settings)
            app.state.search = await create_backend(settings, pool)
            try:
                if settings.sweep_interval_seconds == 0:
                    yield
                    return
                async with (
                    periodic(settings.sweep_interval_seconds, lambda: _expire_listings(pool)),
                    periodic(settings.sweep_interval_seconds, lambda: _sweep_reservations(pool)),
                    periodic(settings.sweep_interval_seconds, lambda: _forget_keys(pool)),
                ):
                    yield
            finally:
                await app.state.search.close()
        finally:
            await pool.close()

    return Litestar(
        route_handlers=[
            HealthController,
            LocalIssuerController,
            MeController,
            NetworkController,
            NetworkMembershipController,
            MembershipController,
            OrganisationController,
            InvitationController,
            ListingController,
            OrganisationListingController,
            ImportController,
            CategoryController,
            UnitController,
            WasteCodeController,
            ListingTransferController,
            TransferController,
            NetworkImpactController,
            SearchController,
            ListingReservationController,
            ReservationController,
            docs_assets_router(),
        ],
        dependencies={
            "conn": Provide(provide_transaction),
            "principal": Provide(provide_principal),
            "viewer": Provide(provide_viewer),
        },
        middleware=[_anonymous_rate_limit(settings).middleware, BearerTokenMiddleware()],
        lifespan=[database],
        plugins=[ProblemDetailsPlugin(problem_details_config()), BoundedTypesSchemaPlugin()],
        request_class=InputRequest,
        before_request=check_request,
        type_decoders=type_decoders(),
        exception_handlers=exception_handlers(),
        openapi_config=openapi_config(),
        logging_config=logging_config(settings.log_level),
        debug=False,
    )


async def _expire_listings(pool: Pool) -> None:
    async with pool.acquire() as conn, conn.transaction():
        count = await expire_due(conn)
    if count:
        logger.info("expired %d listings", count)


async def _forget_keys(pool: Pool) -> None:
    """Idempotency-Keys past their day, and the search change log past its hour."""
    async with pool.acquire() as conn:
        await forget_expired_keys(conn)
        await forget_old_changes(conn)


async def _sweep_reservations(pool: Pool) -> None:
    """Move due reservations, one batch per transaction, until none is left. Every action already
    applies what the clock made due, so this only keeps stored statuses (lists, search) fresh."""
    total = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            moved = await sweep_due(conn)
        total += moved
        if moved < SWEEP_BATCH:
            break
    if total:
        logger.info("moved %d due reservations", total)


def _install_token_verifier(app: Litestar, settings: Settings) -> None:
    """One verifier for both issuers: an external OpenID provider, or the service's own keys."""
    if settings.oidc_issuer is not None:
        keys: RemoteKeySource | LocalIssuer = RemoteKeySource(settings.oidc_issuer)
        issuer = settings.oidc_issuer
        app.state.local_issuer = None
    else:
        local = LocalIssuer(settings.public_url, settings.oidc_audience, settings.key_dir)
        keys, issuer = local, local.issuer
        app.state.local_issuer = local
    app.state.token_verifier = TokenVerifier(
        issuer, settings.oidc_audience, keys, settings.oidc_leeway_seconds
    )


async def _is_anonymous(request: Request[Any, Any, Any]) -> bool:
    # async on purpose: Litestar runs a plain function in a worker thread, on every request.
    return "authorization" not in request.headers


def _anonymous_rate_limit(settings: Settings) -> RateLimitConfig:
    """Requests without a token are limited per client address; authenticated ones are not."""
    return RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_anonymous_per_minute),
        exclude=["/health", "/docs", "/docs-assets"],
        check_throttle_handler=_is_anonymous,
    )


def create_asgi(settings: Settings) -> RequestContext:
    """The application as served: request ids and access logs around every response."""
    return RequestContext(create_app(settings))
