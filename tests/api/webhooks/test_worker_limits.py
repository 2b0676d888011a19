"""The worker's bounds: a receiver that never stops answering is read only up to the bound, and a
worker killed while a receiver holds its request leaves a claim that another worker sends again."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from api.db.pool import Pool
from api.observability import RequestContext
from api.webhooks.worker import RESPONSE_START_CHARS, Deliverer
from tests.api.webhooks.conftest import Park, Receiver, ask

Client = AsyncTestClient[RequestContext]


async def subscribe(client: Client, park: Park, url: str) -> dict[str, Any]:
    response = await client.post("/v1/webhook-endpoints", json={"url": url}, headers=park.as_giver())
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


@pytest.fixture
async def endless() -> AsyncIterator[str]:
    """A receiver answering 200 with a body that never ends (until the client hangs up)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = await reader.readuntil(b"\r\n\r\n")
        length = next(
            int(line.split(b":", 1)[1])
            for line in head.split(b"\r\n")
            if line.lower().startswith(b"content-length:")
        )
        await reader.readexactly(length)
        writer.write(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n")
        try:
            while True:
                writer.write(b"x" * 65536)
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    async with server:
        yield f"http://127.0.0.1:{port}/hook"


async def test_a_response_body_is_read_up_to_a_bound(
    client: Client, park: Park, pool: Pool, endless: str
) -> None:
    endpoint = await subscribe(client, park, endless)
    await ask(client, park, "10")
    started = time.perf_counter()
    async with httpx.AsyncClient() as http:
        assert await Deliverer(pool, http, allow_insecure=True).drain() == 1
    assert time.perf_counter() - started < 10  # the 15 s timeout would end an unbounded read
    log = (
        await client.get(f"/v1/webhook-endpoints/{endpoint['id']}/attempts", headers=park.as_giver())
    ).json()
    (attempt,) = log["items"]
    assert attempt["http_status"] == 200
    assert attempt["response_start"] == "x" * RESPONSE_START_CHARS


async def test_a_worker_killed_mid_delivery_leaves_it_to_be_sent_again(
    client: Client, park: Park, receiver: Receiver, pool: Pool
) -> None:
    endpoint = await subscribe(client, park, receiver.url)
    await ask(client, park, "10")
    receiver.delay_s = 3.0  # holds the first request: the worker is killed waiting for the answer
    async with httpx.AsyncClient() as http:
        doomed = Deliverer(pool, http, allow_insecure=True, lease_s=1.0)
        task = asyncio.create_task(doomed.run(asyncio.Event(), idle_s=0.01))
        for _ in range(500):
            if receiver.received:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    receiver.delay_s = 0.0
    async with httpx.AsyncClient() as http:
        heir = Deliverer(pool, http, allow_insecure=True)
        assert await heir.drain() == 0  # the dead worker's claim has not run out yet
        await asyncio.sleep(1.1)
        assert await heir.drain() == 1
    first, again = receiver.received
    assert first.headers["webhook-id"] == again.headers["webhook-id"]
    assert first.body == again.body
    log = (
        await client.get(f"/v1/webhook-endpoints/{endpoint['id']}/attempts", headers=park.as_giver())
    ).json()
    assert [a["http_status"] for a in log["items"]] == [200]  # the killed attempt left no result
