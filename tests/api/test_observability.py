from __future__ import annotations

import logging

import pytest
from litestar.testing import AsyncTestClient

from api.observability import RequestContext


async def test_every_response_carries_a_request_id(client: AsyncTestClient[RequestContext]) -> None:
    ok = await client.get("/health/live")
    missing = await client.get("/nowhere")
    assert len(ok.headers["x-request-id"]) >= 16
    assert len(missing.headers["x-request-id"]) >= 16
    assert ok.headers["x-request-id"] != missing.headers["x-request-id"]


async def test_a_sane_incoming_request_id_is_kept(client: AsyncTestClient[RequestContext]) -> None:
    response = await client.get("/health/live", headers={"x-request-id": "frontend-42-abcdef"})
    assert response.headers["x-request-id"] == "frontend-42-abcdef"


@pytest.mark.parametrize("bad", ["short", "has spaces in it", "x" * 200, "inject\u00e9d-value"])
async def test_an_unsafe_incoming_request_id_is_replaced(
    client: AsyncTestClient[RequestContext], bad: str
) -> None:
    response = await client.get("/health/live", headers={"x-request-id": bad.encode("utf-8")})
    assert response.headers["x-request-id"] != bad
    assert len(response.headers["x-request-id"]) == 32


async def test_one_access_line_per_request(
    client: AsyncTestClient[RequestContext], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.INFO, logger="api.access"):
        response = await client.get("/health/live")
    lines = [r for r in caplog.records if r.name == "api.access"]
    assert len(lines) == 1
    message = lines[0].getMessage()
    assert "method=GET" in message
    assert "path=/health/live" in message
    assert "status=200" in message
    assert "duration_ms=" in message
    assert getattr(lines[0], "request_id", None) == response.headers["x-request-id"]
