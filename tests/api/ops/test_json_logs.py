from __future__ import annotations

import asyncio
import json

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.settings import Settings


async def test_log_format_json_writes_one_object_a_line_with_the_request_id(
    settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    json_settings = msgspec.structs.replace(settings, log_format="json")
    async with AsyncTestClient(app=create_asgi(json_settings)) as client:
        response = await client.get("/nowhere", headers={"x-request-id": "trace-0123456789"})
        await asyncio.sleep(0.2)  # the queue listener writes from its own thread
    lines = [line for line in capfd.readouterr().err.splitlines() if line.startswith("{")]
    entries = [json.loads(line) for line in lines]
    access = [e for e in entries if e["logger"] == "api.access"]
    assert response.status_code == 404
    assert len(access) == 1
    assert access[0]["request_id"] == "trace-0123456789"
    assert access[0]["method"] == "GET"
    assert access[0]["path"] == "/nowhere"
    assert access[0]["status"] == 404
    assert isinstance(access[0]["duration_ms"], float)
    assert access[0]["level"] == "INFO"
    assert access[0]["time"].endswith("Z")
