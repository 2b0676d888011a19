from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.db.pool import STATEMENT_TIMEOUT_S, create_pool
from api.limits import CSV_MAX_BODY_BYTES, JSON_MAX_BODY_BYTES, MAX_HEAD_BYTES
from api.observability import RequestContext
from api.settings import Settings
from tests.factories import person

PROBLEMS = "https://symbiose.eco/problems/"


async def test_a_json_body_over_1_mib_is_413_payload_too_large(
    client: AsyncTestClient[RequestContext],
) -> None:
    body = b'{"q": "' + b"a" * JSON_MAX_BODY_BYTES + b'"}'
    response = await client.post(
        "/v1/search/listings", content=body, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == PROBLEMS + "payload-too-large"
    assert response.json()["status"] == 413


async def test_a_streamed_body_without_length_is_bounded_too(live_url: str) -> None:
    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(3):
            yield b" " * (JSON_MAX_BODY_BYTES // 2)

    async with httpx.AsyncClient(base_url=live_url) as http:
        response = await http.post(
            "/v1/search/listings", content=chunks(), headers={"content-type": "application/json"}
        )
    assert response.status_code == 413
    assert response.json()["type"] == PROBLEMS + "payload-too-large"


async def test_a_csv_import_may_be_larger_but_not_past_10_mib(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: object
) -> None:
    from api.auth.tokens import LocalIssuer

    assert isinstance(issuer, LocalIssuer)
    operator = await person(db, issuer, "op@example.org")
    url = "/v1/networks/00000000-0000-0000-0000-000000000001/imports"
    headers = {**operator.headers(), "content-type": "text/csv"}
    over_json = await client.post(url, content=b"a" * (JSON_MAX_BODY_BYTES * 2), headers=headers)
    assert over_json.status_code != 413  # read whole, then refused for what it says (404 network)
    over_csv = await client.post(url, content=b"a" * (CSV_MAX_BODY_BYTES + 1), headers=headers)
    assert over_csv.status_code == 413
    assert over_csv.json()["type"] == PROBLEMS + "payload-too-large"


async def test_a_huge_header_is_refused_with_431_before_it_is_read(live_url: str) -> None:
    parts = urlsplit(live_url)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    started = time.perf_counter()
    answer = asyncio.create_task(reader.readuntil(b'"}'))
    writer.write(b"GET /v1/networks HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ")
    sent, chunk = 0, b"a" * 65536
    with contextlib.suppress(ConnectionResetError, BrokenPipeError):
        while sent < 32 * 1024 * 1024 and not answer.done():
            writer.write(chunk)
            await writer.drain()
            sent += len(chunk)
    head, _, body = (await asyncio.wait_for(answer, timeout=5)).partition(b"\r\n\r\n")
    elapsed = time.perf_counter() - started
    writer.close()
    assert head.startswith(b"HTTP/1.1 431 ")
    assert b"content-type: application/problem+json" in head.lower()
    assert b'"type":"' + PROBLEMS.encode() + b'headers-too-large"' in body
    assert sent < 4 * 1024 * 1024  # the answer came once the bound was passed, not at the end
    assert elapsed < 1


async def test_headers_under_the_bound_are_served(live_url: str) -> None:
    async with httpx.AsyncClient(base_url=live_url) as http:
        response = await http.get("/v1/networks", headers={"x-padding": "a" * (MAX_HEAD_BYTES - 2048)})
        too_big = await http.get("/v1/networks", headers={"x-padding": "a" * (MAX_HEAD_BYTES + 1)})
    assert response.status_code == 200
    assert too_big.status_code == 431


async def test_the_server_does_not_announce_itself(live_url: str) -> None:
    async with httpx.AsyncClient(base_url=live_url) as http:
        response = await http.get("/health/live")
    assert response.status_code == 200
    assert "server" not in response.headers


async def test_a_request_past_its_time_is_503_and_gives_its_connection_back(
    database_url: str, settings: Settings, db: asyncpg.Connection
) -> None:
    import msgspec

    quick = msgspec.structs.replace(settings, request_timeout_seconds=0.5, database_pool_max_size=1)
    async with AsyncTestClient(app=create_asgi(quick)) as client:
        async with db.transaction():
            await db.execute("LOCK TABLE networks IN ACCESS EXCLUSIVE MODE")
            started = time.perf_counter()
            response = await client.get("/v1/networks")
            elapsed = time.perf_counter() - started
        assert response.status_code == 503
        assert response.headers["retry-after"] == "5"
        assert response.json()["type"] == PROBLEMS + "service-unavailable"
        assert "0.5 s" in response.json()["detail"]
        assert elapsed < 2
        # The pool's only connection came back: the next request is served.
        assert (await client.get("/v1/networks")).status_code == 200


async def test_the_apps_pool_bounds_each_statement_on_the_server(database_url: str) -> None:
    bounded = await create_pool(database_url, min_size=1, max_size=1, statement_timeout_s=STATEMENT_TIMEOUT_S)
    unbounded = await create_pool(database_url, min_size=1, max_size=1)
    try:
        async with bounded.acquire() as conn:
            assert await conn.fetchval("SHOW statement_timeout") == f"{STATEMENT_TIMEOUT_S}s"
            await conn.execute("SET statement_timeout = '50ms'")  # the same bound, made short
            with pytest.raises(asyncpg.QueryCanceledError):
                await conn.execute("SELECT pg_sleep(1)")
        async with unbounded.acquire() as conn:
            assert await conn.fetchval("SHOW statement_timeout") == "0"
    finally:
        await bounded.close()
        await unbounded.close()
