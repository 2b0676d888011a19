"""CORS for browser frontends, `Allow` on OPTIONS and 405, and preflights outside the rate limit."""

from __future__ import annotations

from collections.abc import AsyncIterator

import msgspec
import pytest
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.observability import RequestContext
from api.settings import Settings, SettingsError, load_settings

LISTED = "https://carte.example.org"
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type, x-organisation-id, if-match",
}
EXPOSED = {
    "etag",
    "location",
    "x-request-id",
    "idempotent-replayed",
    "retry-after",
    "ratelimit-limit",
    "ratelimit-remaining",
    "ratelimit-reset",
    "ratelimit-policy",
}


@pytest.fixture
async def browser_client(settings: Settings) -> AsyncIterator[AsyncTestClient[RequestContext]]:
    cors = msgspec.structs.replace(
        settings, cors_allow_origins=f"{LISTED}, https://admin.example.org", rate_limit_anonymous_per_minute=2
    )
    async with AsyncTestClient(app=create_asgi(cors)) as client:
        yield client


async def test_a_preflight_from_a_listed_origin_is_allowed_with_credentials(
    browser_client: AsyncTestClient[RequestContext],
) -> None:
    response = await browser_client.options("/v1/search/listings", headers={"origin": LISTED, **PREFLIGHT})
    assert response.status_code == 204
    assert response.headers["access-control-allow-origin"] == LISTED
    assert response.headers["access-control-allow-credentials"] == "true"
    assert "POST" in response.headers["access-control-allow-methods"]
    allowed = {h.strip().lower() for h in response.headers["access-control-allow-headers"].split(",")}
    assert {"authorization", "content-type", "x-organisation-id", "if-match"} <= allowed
    assert "origin" in response.headers["vary"].lower()


async def test_a_preflight_from_another_origin_gets_no_cors_grant(
    browser_client: AsyncTestClient[RequestContext],
) -> None:
    response = await browser_client.options(
        "/v1/search/listings", headers={"origin": "https://evil.example", **PREFLIGHT}
    )
    assert response.status_code == 400
    assert "access-control-allow-origin" not in response.headers
    assert "access-control-allow-credentials" not in response.headers


async def test_a_listed_origin_reads_the_answer_and_its_exposed_headers(
    browser_client: AsyncTestClient[RequestContext],
) -> None:
    response = await browser_client.get("/v1/networks", headers={"origin": LISTED})
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == LISTED
    exposed = {h.strip().lower() for h in response.headers["access-control-expose-headers"].split(",")}
    assert exposed == EXPOSED


async def test_another_origin_is_not_allowed_to_read_the_answer(
    browser_client: AsyncTestClient[RequestContext],
) -> None:
    response = await browser_client.get("/v1/networks", headers={"origin": "https://evil.example"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_without_listed_origins_no_cors_header_is_sent(client: AsyncTestClient[RequestContext]) -> None:
    preflight = await client.options("/v1/search/listings", headers={"origin": LISTED, **PREFLIGHT})
    answer = await client.get("/v1/networks", headers={"origin": LISTED})
    for response in (preflight, answer):
        assert not [h for h in response.headers if h.startswith("access-control-")]


async def test_preflights_never_count_against_the_rate_limit(
    browser_client: AsyncTestClient[RequestContext],
) -> None:
    for _ in range(5):
        preflight = await browser_client.options("/v1/networks", headers={"origin": LISTED, **PREFLIGHT})
        assert preflight.status_code == 204
    # The limit (2 a minute here) is untouched: two requests pass, the third is refused.
    assert [(await browser_client.get("/v1/networks")).status_code for _ in range(3)] == [200, 200, 429]


async def test_a_refused_request_still_tells_a_listed_origin_when_to_retry(
    browser_client: AsyncTestClient[RequestContext],
) -> None:
    for _ in range(2):
        await browser_client.get("/v1/networks", headers={"origin": LISTED})
    refused = await browser_client.get("/v1/networks", headers={"origin": LISTED})
    assert refused.status_code == 429
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.headers["access-control-allow-origin"] == LISTED
    assert int(refused.headers["ratelimit-reset"]) > 0


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/search/listings", {"GET", "POST", "OPTIONS"}),
        ("/v1/networks", {"GET", "POST", "OPTIONS"}),
        ("/v1/networks/7d1f7b3e-3a55-4c46-9a0b-1e2d3c4b5a69", {"GET", "PATCH", "OPTIONS"}),
    ],
)
async def test_allow_lists_every_method_of_the_path(
    client: AsyncTestClient[RequestContext], path: str, methods: set[str]
) -> None:
    options = await client.options(path)
    refused = await client.delete(path)
    assert refused.status_code == 405
    assert refused.headers["content-type"] == "application/problem+json"
    for response in (options, refused):
        assert {m.strip() for m in response.headers["allow"].split(",")} == methods


def test_cors_origins_are_read_comma_separated() -> None:
    settings = load_settings({"CORS_ALLOW_ORIGINS": " https://a.example.org ,http://localhost:5173,"}, None)
    assert settings.cors_origins == ("https://a.example.org", "http://localhost:5173")
    assert load_settings({}, None).cors_origins == ()


@pytest.mark.parametrize("origin", ["https://a.example.org/", "a.example.org", "https://a.example.org/app"])
def test_a_cors_origin_that_can_never_match_is_refused_at_start(origin: str) -> None:
    with pytest.raises(SettingsError, match="CORS_ALLOW_ORIGINS"):
        load_settings({"CORS_ALLOW_ORIGINS": origin}, None)
