"""Work the API process repeats on an interval while it serves (expiry sweeps)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from api.metrics import sweep_run

logger = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def periodic(
    interval_s: float, job: Callable[[], Awaitable[None]], name: str = "job"
) -> AsyncIterator[None]:
    """Run `job` every `interval_s` seconds in the background until the block exits.

    A failing run is logged and the next one goes ahead: a sweep must not take the API down.
    Each run is counted under `name` (`symbiose_sweep_runs_total`, see `api.metrics`)."""

    async def loop() -> None:
        while True:
            try:
                with sweep_run(name):
                    await job()
            except Exception:
                logger.exception("periodic job %s failed", name)
            await asyncio.sleep(interval_s)

    task = asyncio.create_task(loop())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
