"""Liveness and readiness probes for orchestrators and load balancers."""

from __future__ import annotations

import asyncio

from litestar import Controller, Response, get
from litestar.datastructures import State
from litestar.openapi import ResponseSpec

from api.db.pool import get_pool
from schemas.health import ComponentCheck, Liveness, Readiness

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
        """Answers 200 when PostgreSQL answers within two seconds, else 503 with the failing checks."""
        checks = [await _check_database(state)]
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
