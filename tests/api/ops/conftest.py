from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import uvicorn

from api.app import create_asgi
from api.http_protocol import uvicorn_options
from api.settings import Settings


@pytest.fixture
async def live_url(settings: Settings) -> AsyncIterator[str]:
    """The app served by uvicorn as `symbiose serve` runs it, on a free port of 127.0.0.1."""
    config = uvicorn.Config(
        create_asgi(settings), host="127.0.0.1", port=0, log_config=None, lifespan="on", **uvicorn_options()
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    await task
