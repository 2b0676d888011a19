"""The application factory."""

from __future__ import annotations

import logging
from collections.abc import AsyncGenerator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.plugins.problem_details import ProblemDetailsPlugin

from api.db.migrations import check_schema
from api.db.pool import create_pool
from api.errors import exception_handlers, problem_details_config
from api.health.routes import HealthController
from api.observability import RequestContext, logging_config
from api.openapi import docs_assets_router, openapi_config
from api.settings import Settings

logger = logging.getLogger(__name__)


def create_app(settings: Settings) -> Litestar:
    """Build the Litestar application. `settings.database_url` must be set (see `api.cli`)."""
    if settings.database_url is None:
        raise ValueError("create_app needs a database URL; the CLI starts the embedded server first")
    dsn = settings.database_url

    @asynccontextmanager
    async def database(app: Litestar) -> AsyncGenerator[None, None]:
        pool = await create_pool(
            dsn, min_size=settings.database_pool_min_size, max_size=settings.database_pool_max_size
        )
        try:
            async with pool.acquire() as conn:
                await check_schema(conn)
            app.state.pool = pool
            yield
        finally:
            await pool.close()

    return Litestar(
        route_handlers=[HealthController, docs_assets_router()],
        lifespan=[database],
        plugins=[ProblemDetailsPlugin(problem_details_config())],
        exception_handlers=exception_handlers(),
        openapi_config=openapi_config(),
        logging_config=logging_config(settings.log_level),
        debug=False,
    )


def create_asgi(settings: Settings) -> RequestContext:
    """The application as served: request ids and access logs around every response."""
    return RequestContext(create_app(settings))
