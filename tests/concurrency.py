"""Requests that really run at the same time, to prove what PostgreSQL guarantees under races."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

import httpx
from litestar import Litestar

from api.observability import RequestContext


@contextlib.asynccontextmanager
async def concurrent_client(asgi: RequestContext) -> AsyncIterator[httpx.AsyncClient]:
    """A client whose requests really run at the same time, in this event loop.

    Litestar's test client hands each request to a portal thread and waits for it, so requests sent
    with `asyncio.gather` through it are served one after the other and cannot race. (A context
    manager, not a fixture: the app's lifespan must end in the task that started it.)"""
    app = asgi.app
    assert isinstance(app, Litestar)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=asgi)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as concurrent:
            yield concurrent
