"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager
from typing import Any, cast

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.middleware.base import DefineMiddleware
from litestar.plugins.problem_details import ProblemDetailsPlugin
from litestar.types import ASGIApp, Middleware
from stripe import StripeClient
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from api import metrics
from api.admission import Admission
from api.auth.principal import provide_principal
from api.auth.routes import LocalIssuerController, MeController
from api.auth.tokens import LOCAL_MINT_ADVICE, LocalIssuer, RemoteKeySource, TokenVerifier
from api.categories.routes import CategoryController, UnitController, WasteCodeController
from api.db.idempotency import forget_expired_keys
from api.db.migrations import check_schema
from api.db.periodic import periodic
from api.db.pool import (
    STATEMENT_TIMEOUT_S,
    Pool,
    create_pool,
    provide_transaction,
    unavailable_handlers,
)
from api.errors import exception_handlers, problem_details_config
from api.events.routes import EventController
from api.events.service import prune as prune_events
from api.flows.routes import FlowController, NetworkFlowController, OrganisationFlowController
from api.health.routes import HealthController
from api.http import cursor_key_in, use_cursor_key
from api.imports.routes import ImportController
from api.inputs import BoundedTypesSchemaPlugin, InputRequest, check_request, type_decoders
from api.limits import JSON_MAX_BODY_BYTES
from api.listings.routes import ListingController, OrganisationListingController
from api.listings.service import expire_due
from api.matches.routes import MatchController
from api.memberships.routes import MembershipController, NetworkMembershipController
from api.networks.routes import NetworkController
from api.observability import RequestContext, logging_config
from api.openapi import ContractPlugin, docs_assets_router, openapi_config
from api.organisations.routes import InvitationController, OrganisationController
from api.payments.routes import (
    NetworkFeesController,
    NetworkPaymentsController,
    PaymentAccountController,
    ReservationPaymentController,
    StripeWebhookController,
    TransferPaymentController,
)
from api.payments.stripe_client import create_stripe, provide_stripe
from api.payments.webhooks import cancel_requested, reconcile
from api.ratelimit import UNLIMITED_PATHS, RateLimits
from api.reservations.routes import ListingReservationController, ReservationController
from api.reservations.service import SWEEP_BATCH, sweep_due
from api.search.routes import SearchController
from api.search.service import provide_viewer
from api.security import DocsPolicy, SecurityHeaders
from api.settings import Settings
from api.synergies import scoring
from api.synergies.nightly import detect_due
from api.synergies.routes import NetworkSynergyController, OrganisationSynergyController, SynergyController
from api.transfers.routes import (
    ListingTransferController,
    NetworkImpactController,
    TransferController,
    provide_payment_hours,
)
from api.transfers.service import expire_all_unpaid
from api.webhooks.routes import WebhookEndpointController
from api.webhooks.worker import running as webhook_worker
from search.factory import create_backend
from search.postgres.repository import forget_old_changes

logger = logging.getLogger(__name__)

RATE_LIMIT_EXEMPT = tuple(UNLIMITED_PATHS)
# Response headers a browser frontend may read (CORS hides the others).
EXPOSED_HEADERS = [
    "ETag",
    "Location",
    "X-Request-ID",
    "Idempotent-Replayed",
    "Retry-After",
    "RateLimit-Limit",
    "RateLimit-Remaining",
    "RateLimit-Reset",
    "RateLimit-Policy",
]


def create_app(settings: Settings) -> Litestar:
    """Build the Litestar application. `settings.database_url` must be set (see `api.cli`)."""
    if settings.database_url is None:
        raise ValueError("create_app needs a database URL; the CLI starts the embedded server first")
    dsn = settings.database_url
    use_cursor_key(cursor_key_in(settings.key_dir))
    scoring.configure(
        settings.synergy_weights,
        settings.synergy_half_distance_km,
        settings.synergy_max_distance_km,
        settings.synergy_pooling_radius_km,
        settings.synergy_staff_category,
    )

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncGenerator[None, None]:
        pool = await create_pool(
            dsn,
            min_size=settings.database_pool_min_size,
            max_size=settings.database_pool_max_size,
            statement_timeout_s=STATEMENT_TIMEOUT_S,
        )
        try:
            async with pool.acquire() as conn:
                await check_schema(conn)
            app.state.pool = pool
            _install_token_verifier(app, settings)
            app.state.search = await create_backend(settings, pool)
            made = create_stripe(settings)
            app.state.stripe = made[0] if made else None
            metrics.watch(pool, app.state.search)
            try:
                if settings.sweep_interval_seconds == 0:
                    yield
                    return
                async with (
                    periodic(
                        settings.sweep_interval_seconds, lambda: _expire_listings(pool), "expire_listings"
                    ),
                    periodic(
                        settings.sweep_interval_seconds,
                        lambda: _sweep_reservations(pool, app.state.stripe),
                        "reservations",
                    ),
                    periodic(settings.sweep_interval_seconds, lambda: _forget_keys(pool), "forget_keys"),
                    periodic(
                        settings.sweep_interval_seconds,
                        lambda: _prune_events(pool, settings.event_retention_days),
                        "prune_events",
                    ),
                    # Each network once a day; the other runs find none due.
                    periodic(
                        settings.sweep_interval_seconds, lambda: _detect_synergies(pool), "detect_synergies"
                    ),
                    _webhook_worker(pool, settings),
                ):
                    yield
            finally:
                metrics.unwatch()
                await app.state.search.close()
                if made is not None:
                    await made[1].close_async()  # type: ignore[no-untyped-call]
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
            EventController,
            WebhookEndpointController,
            ListingReservationController,
            ReservationController,
            PaymentAccountController,
            NetworkFeesController,
            NetworkPaymentsController,
            ReservationPaymentController,
            TransferPaymentController,
            StripeWebhookController,
            NetworkFlowController,
            OrganisationFlowController,
            FlowController,
            NetworkSynergyController,
            OrganisationSynergyController,
            SynergyController,
            MatchController,
            docs_assets_router(),
            metrics.MetricsController,
        ],
        dependencies={
            "conn": Provide(provide_transaction),
            "principal": Provide(provide_principal),
            "viewer": Provide(provide_viewer),
            "stripe": Provide(provide_stripe, sync_to_thread=False),
            "payment_hours": Provide(provide_payment_hours, sync_to_thread=False),
        },
        middleware=_middleware(settings),
        lifespan=[database],
        state=State(
            {
                "payments_configured": settings.payments_configured,
                "webhook_allow_insecure": settings.webhook_allow_insecure,
                "stripe_webhook_secret": settings.stripe_webhook_secret,
                "transfer_payment_hours": settings.transfer_payment_hours,
                "stripe": None,
            }
        ),
        request_max_body_size=JSON_MAX_BODY_BYTES,
        plugins=[
            ProblemDetailsPlugin(problem_details_config()),
            ContractPlugin(RATE_LIMIT_EXEMPT),
            BoundedTypesSchemaPlugin(),
        ],
        cors_config=cors_config(settings),
        exception_handlers={**exception_handlers(), **unavailable_handlers()},
        request_class=InputRequest,
        before_request=check_request,
        type_decoders=type_decoders(),
        openapi_config=openapi_config(),
        logging_config=logging_config(settings.log_level, settings.log_format),
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


@asynccontextmanager
async def _webhook_worker(pool: Pool, settings: Settings) -> AsyncGenerator[None, None]:
    if not settings.webhook_worker_in_process:
        yield
        return
    async with webhook_worker(pool, allow_insecure=settings.webhook_allow_insecure):
        yield


async def _detect_synergies(pool: Pool) -> None:
    await detect_due(pool)


async def _prune_events(pool: Pool, retention_days: int) -> None:
    async with pool.acquire() as conn:
        await prune_events(conn, retention_days)


async def _sweep_reservations(pool: Pool, stripe_client: StripeClient | None = None) -> None:
    """Move due reservations, one batch per transaction, until none is left. Every action already
    applies what the clock made due, so this only keeps stored statuses (lists, search) fresh.
    Then cancel the transfers unpaid past their deadline, apply what Stripe says of the payments
    awaited (a lost webhook's effect) and cancel at Stripe the PaymentIntents of reservations that
    expired or were cancelled unpaid, and of transfers cancelled or expired unpaid."""
    total = 0
    while True:
        async with pool.acquire() as conn, conn.transaction():
            moved = await sweep_due(conn)
        total += moved
        if moved < SWEEP_BATCH:
            break
    async with pool.acquire() as conn:
        await expire_all_unpaid(conn)
    await reconcile(pool, stripe_client)
    await cancel_requested(pool, stripe_client)
    if total:
        logger.info("moved %d due reservations", total)


def _install_token_verifier(app: Litestar, settings: Settings) -> None:
    """One verifier for both issuers: an external OpenID provider, or the service's own keys."""
    if settings.oidc_issuer is not None:
        keys: RemoteKeySource | LocalIssuer = RemoteKeySource(settings.oidc_issuer)
        issuer = settings.oidc_issuer
        app.state.local_issuer = None
    else:
        local = LocalIssuer.from_settings(settings)
        keys, issuer = local, local.issuer
        app.state.local_issuer = local
    app.state.token_verifier = TokenVerifier(
        issuer,
        settings.oidc_audience,
        keys,
        settings.oidc_leeway_seconds,
        hint=None if settings.oidc_issuer is not None else LOCAL_MINT_ADVICE,
    )


def _middleware(settings: Settings) -> list[Middleware]:
    """Outermost first. The trusted proxies name the client before `Admission` rate-limits it."""
    proxies: list[Middleware] = []
    if settings.trusted_proxy_list:
        proxies.append(DefineMiddleware(_trust_proxies, trusted=settings.trusted_proxy_list))
    return [
        metrics.RequestMetrics,
        *proxies,
        DefineMiddleware(Admission, limits=RateLimits(settings), timeout_s=settings.request_timeout_seconds),
        DocsPolicy,
    ]


def _trust_proxies(app: ASGIApp, trusted: list[str]) -> ASGIApp:
    """uvicorn's `X-Forwarded-For` handling (rightmost untrusted hop), for the configured proxies."""
    return cast("ASGIApp", ProxyHeadersMiddleware(cast("Any", app), trusted_hosts=trusted))


def cors_config(settings: Settings) -> CORSConfig | None:
    """CORS for the origins of `CORS_ALLOW_ORIGINS`; none listed, no CORS headers at all. Credentials
    (cookies, `Authorization` with `credentials: "include"`) only for origins listed by name: `*`
    lets any site read public answers, never with a user's credentials."""
    origins = settings.cors_origins
    if not origins:
        return None
    return CORSConfig(
        allow_origins=list(origins),
        allow_credentials="*" not in origins,
        expose_headers=EXPOSED_HEADERS,
    )


def create_asgi(settings: Settings) -> RequestContext:
    """The application as served: request ids, security headers and access logs around every
    response."""
    return RequestContext(create_app(settings), SecurityHeaders(settings))
