"""Liveness and readiness probes for orchestrators and load balancers."""

from __future__ import annotations

import asyncio

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec

from api.db.pool import get_pool
from schemas.health import ComponentCheck, Liveness, Readiness
from search.backend import SearchBackend

READINESS_TIMEOUT_S = 2.0


class HealthController(Controller):
    path = "/health"
    tags = ("health",)

    @get("/live", operation_id="getLiveness", summary="Liveness")
    async def live(self) -> Liveness:
        """Answers as long as the process serves requests; checks no dependency."""
        return Liveness()

    @get(
        "/ready",
        operation_id="getReadiness",
        summary="Readiness",
        responses={503: ResponseSpec(Readiness, description="A dependency does not answer")},
    )
    async def ready(self, state: State) -> Response[Readiness]:
        """Answers 200 when PostgreSQL and the search backend answer within two seconds, else 503 with
        the failing checks. The search check's `lag` counts committed changes the backend does not
        show yet (always 0 for the PostgreSQL backend, which reads the tables)."""
        checks = [await _check_database(state), await _check_search(state)]
        ok = all(c.ok for c in checks)
        return Response(
            Readiness(status="ready" if ok else "unavailable", checks=checks), status_code=200 if ok else 503
        )


async def _check_database(state: State) -> ComponentCheck:
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_S), get_pool(state).acquire() as conn:
            await conn.fetchval("SELECT 1")
    except Exception as exc:  # any failure means "not ready"; the detail says which
        return ComponentCheck(name="postgresql", ok=False, detail=type(exc).__name__)
    return ComponentCheck(name="postgresql", ok=True)


async def _check_search(state: State) -> ComponentCheck:
    backend: SearchBackend = state.search
    try:
        async with asyncio.timeout(READINESS_TIMEOUT_S):
            health = await backend.health()
    except Exception as exc:  # a backend that cannot even say how it is, is not ready
        return ComponentCheck(name=f"search:{backend.name}", ok=False, detail=type(exc).__name__)
    return ComponentCheck(name=f"search:{backend.name}", ok=health.ok, detail=health.detail, lag=health.lag)
