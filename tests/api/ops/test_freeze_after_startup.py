"""`FreezeAfterStartup`: what the served process holds at startup leaves the collector's reach."""

from __future__ import annotations

import gc
from typing import Any

from api.observability import FreezeAfterStartup


async def test_objects_alive_at_startup_are_frozen_once_it_completes() -> None:
    seen: list[int] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        await receive()
        seen.append(gc.get_freeze_count())  # still collectable while starting
        await send({"type": "lifespan.startup.complete"})

    async def receive() -> dict[str, str]:
        return {"type": "lifespan.startup"}

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    gc.unfreeze()
    try:
        await FreezeAfterStartup(app)({"type": "lifespan"}, receive, send)
        assert seen == [0]
        assert gc.get_freeze_count() > 0
        assert sent == [{"type": "lifespan.startup.complete"}]
    finally:
        gc.unfreeze()


async def test_requests_pass_through_untouched() -> None:
    calls: list[Any] = []

    async def app(scope: Any, receive: Any, send: Any) -> None:
        calls.append((scope, receive, send))

    scope, receive, send = {"type": "http"}, object(), object()
    await FreezeAfterStartup(app)(scope, receive, send)
    assert calls == [(scope, receive, send)]
    assert gc.get_freeze_count() == 0
