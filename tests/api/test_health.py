from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg
from litestar.testing import AsyncTestClient

from api.observability import RequestContext


async def test_live_answers_without_touching_anything(client: AsyncTestClient[RequestContext]) -> None:
    response = await client.get("/health/live")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_ready_checks_postgresql_and_the_search_backend(
    client: AsyncTestClient[RequestContext],
) -> None:
    for _ in range(2):
        assert (await client.get("/v1/search/listings", params={"q": "palettes"})).status_code == 200
    response = await client.get("/health/ready")
    assert response.status_code == 200
    checks = response.json()["checks"]
    # Then whether the in-memory index is built yet (it builds in the background at start-up).
    detail = checks[1].pop("detail")
    assert checks == [
        {"name": "postgresql", "ok": True, "detail": None, "lag": None},
        {"name": "search:postgres", "ok": True, "lag": 0},
    ]
    assert detail.startswith(
        "postgresql: reads the listings tables, no lag;"
        " result cache 1/500 entries, 1 hits, 0 revalidated, 1 misses; in-memory index "
    )


async def test_ready_is_503_when_postgresql_is_gone(
    client: AsyncTestClient[RequestContext], admin_dsn: str, database_url: str
) -> None:
    name = urlsplit(database_url).path.lstrip("/")
    conn = await asyncpg.connect(admin_dsn)
    try:
        await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    finally:
        await conn.close()
    response = await client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["status"] == "unavailable"
    assert body["checks"][0]["ok"] is False
    assert body["checks"][1]["name"] == "search:postgres"
    assert body["checks"][1]["ok"] is False
