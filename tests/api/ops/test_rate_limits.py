from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from litestar.testing import AsyncTestClient
from litestar.types import ASGIApp, Receive, Scope, Send

from api.app import create_asgi
from api.auth.tokens import LocalIssuer
from api.settings import Settings

Client = AsyncTestClient[ASGIApp]


class Peer:
    """The connection's peer address as a server would set it (the test client says "testclient")."""

    def __init__(self, app: ASGIApp, host: str) -> None:
        self.app, self.host = app, host

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope["client"] = (self.host, 40000)
        await self.app(scope, receive, send)


def _settings(database_url: str, tmp_path: Path, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "database_url": database_url,
        "database_pool_min_size": 1,
        "symbiose_data_dir": str(tmp_path),
        "sweep_interval_seconds": 0,
        "rate_limit_anonymous_per_minute": 3,
        **overrides,
    }
    return Settings(**values)  # type: ignore[arg-type]


@asynccontextmanager
async def _client(settings: Settings, peer: str = "192.0.2.10") -> AsyncIterator[Client]:
    async with AsyncTestClient(app=Peer(create_asgi(settings), peer)) as client:
        yield client


async def _statuses(client: Client, n: int, headers: Callable[[int], dict[str, str]]) -> list[int]:
    return [(await client.get("/v1/networks", headers=headers(i))).status_code for i in range(n)]


async def test_a_refused_token_counts_as_anonymous(database_url: str, tmp_path: Path) -> None:
    async with _client(_settings(database_url, tmp_path)) as client:
        garbage = {"authorization": "Bearer garbage"}
        assert await _statuses(client, 4, lambda _: garbage) == [401, 401, 401, 429]
        assert (await client.get("/v1/networks")).status_code == 429


async def test_429_is_a_problem_with_retry_after(database_url: str, tmp_path: Path) -> None:
    async with _client(_settings(database_url, tmp_path)) as client:
        await _statuses(client, 3, lambda _: {})
        limited = await client.get("/v1/networks")
    assert limited.status_code == 429
    assert limited.headers["content-type"] == "application/problem+json"
    assert 1 <= int(limited.headers["retry-after"]) <= 60
    assert limited.headers["ratelimit-remaining"] == "0"
    body = limited.json()
    assert body["type"] == "https://symbiose.eco/problems/too-many-requests"
    assert body["status"] == 429


async def test_x_forwarded_for_is_ignored_from_an_untrusted_peer(database_url: str, tmp_path: Path) -> None:
    async with _client(_settings(database_url, tmp_path), peer="127.0.0.1") as client:
        statuses = await _statuses(client, 4, lambda i: {"x-forwarded-for": f"203.0.113.{i}"})
    assert statuses == [200, 200, 200, 429]


async def test_x_forwarded_for_names_the_client_behind_a_trusted_proxy(
    database_url: str, tmp_path: Path
) -> None:
    settings = _settings(database_url, tmp_path, trusted_proxies="10.0.0.0/8, 192.0.2.1")
    async with _client(settings, peer="10.1.2.3") as client:
        rotating = await _statuses(client, 5, lambda i: {"x-forwarded-for": f"203.0.113.{i}"})
        # The client cannot forge its way out either: the rightmost untrusted hop is the client.
        forged = await _statuses(client, 4, lambda i: {"x-forwarded-for": f"198.51.100.{i}, 203.0.113.99"})
    assert rotating == [200] * 5
    assert forged == [200, 200, 200, 429]


async def test_authenticated_callers_have_their_own_per_user_limit(database_url: str, tmp_path: Path) -> None:
    settings = _settings(database_url, tmp_path, rate_limit_authenticated_per_minute=5)
    issuer = LocalIssuer.from_settings(settings)
    alice = {"authorization": f"Bearer {issuer.mint(email='alice@example.org')}"}
    bob = {"authorization": f"Bearer {issuer.mint(email='bob@example.org')}"}
    async with _client(settings) as client:
        assert await _statuses(client, 6, lambda _: alice) == [200] * 5 + [429]
        assert await _statuses(client, 5, lambda _: bob) == [200] * 5
        # Alice's requests did not use the anonymous allowance of her address.
        assert await _statuses(client, 3, lambda _: {}) == [200] * 3
        limited = await client.get("/v1/networks", headers=alice)
    assert limited.headers["ratelimit-limit"] == "5"
    assert int(limited.headers["retry-after"]) >= 1


async def test_cors_preflights_are_never_counted(database_url: str, tmp_path: Path) -> None:
    preflight = {"origin": "https://map.example.org", "access-control-request-method": "GET"}
    async with _client(_settings(database_url, tmp_path)) as client:
        for _ in range(5):
            assert (await client.options("/v1/networks", headers=preflight)).status_code < 400
        assert await _statuses(client, 4, lambda _: {}) == [200, 200, 200, 429]


async def test_counted_answers_say_where_the_caller_stands_and_exempt_ones_do_not(
    database_url: str, tmp_path: Path
) -> None:
    async with _client(_settings(database_url, tmp_path)) as client:
        first, second = await client.get("/v1/networks"), await client.get("/v1/networks")
        exempt = await client.get("/health/live")
    assert [first.headers["ratelimit-remaining"], second.headers["ratelimit-remaining"]] == ["2", "1"]
    for answer in (first, second):
        assert answer.headers["ratelimit-policy"] == "3; w=60"
        assert answer.headers["ratelimit-limit"] == "3"
        assert 1 <= int(answer.headers["ratelimit-reset"]) <= 60
        assert len(answer.headers.get_list("ratelimit-limit")) == 1
    assert exempt.status_code == 200
    assert not [name for name in exempt.headers if name.startswith("ratelimit-")]
