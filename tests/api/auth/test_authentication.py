"""Bearer tokens over HTTP: each refusal is a 401 problem saying why; users appear on first sight."""

from __future__ import annotations

import time
from pathlib import Path

import asyncpg
import pytest
from joserfc import jwt
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.auth.tokens import LocalIssuer
from api.observability import RequestContext
from api.settings import Settings


async def test_a_new_subject_becomes_a_user_once(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    token = issuer.mint(email="new@org.fr")
    first = await client.get("/v1/me", headers={"authorization": f"Bearer {token}"})
    second = await client.get("/v1/me", headers={"authorization": f"Bearer {token}"})
    assert first.status_code == second.status_code == 200
    assert first.json()["id"] == second.json()["id"]
    assert await db.fetchval("SELECT count(*) FROM users") == 1


@pytest.mark.parametrize(
    ("make_header", "detail"),
    [
        (lambda i, o: "Bearer not.a.jwt", "malformed"),
        (lambda i, o: "Basic dXNlcjpwYXNz", "Bearer <token>"),
        (lambda i, o: f"Bearer {i.mint(email='a@b.fr', ttl_s=-120)}", "expired"),
        (lambda i, o: f"Bearer {o.mint(email='a@b.fr')}", "does not publish"),
    ],
)
async def test_refused_tokens_are_401_problems_saying_why(
    client: AsyncTestClient[RequestContext],
    issuer: LocalIssuer,
    tmp_path: Path,
    make_header: object,
    detail: str,
) -> None:
    other = LocalIssuer(issuer.audience, tmp_path / "other-keys")
    header = make_header(issuer, other)  # type: ignore[operator]
    for path in ("/v1/me", "/v1/networks"):
        response = await client.get(path, headers={"authorization": header})
        assert response.status_code == 401, path
        assert detail in response.json()["detail"]
        assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_token_for_another_audience_is_401(
    client: AsyncTestClient[RequestContext], issuer: LocalIssuer
) -> None:
    foreign = LocalIssuer("another-api", issuer_key_dir(issuer))
    response = await client.get("/v1/me", headers={"authorization": f"Bearer {foreign.mint(email='a@b.fr')}"})
    assert response.status_code == 401
    assert "audience" in response.json()["detail"]


def issuer_key_dir(issuer: LocalIssuer) -> Path:
    return Path(issuer._key_dir)


async def test_a_token_without_exp_is_401(
    client: AsyncTestClient[RequestContext], issuer: LocalIssuer
) -> None:
    key = issuer._key
    claims = {"iss": issuer.issuer, "aud": issuer.audience, "sub": "x", "iat": int(time.time())}
    token = jwt.encode({"alg": "ES256", "kid": key.kid}, claims, key, algorithms=["ES256"])
    response = await client.get("/v1/me", headers={"authorization": f"Bearer {token}"})
    assert response.status_code == 401
    assert "'exp'" in response.json()["detail"]


async def test_the_local_issuer_publishes_discovery_and_keys(
    client: AsyncTestClient[RequestContext], issuer: LocalIssuer
) -> None:
    discovery = (await client.get("/.well-known/openid-configuration")).json()
    assert discovery["issuer"] == issuer.issuer
    jwks = (await client.get("/.well-known/jwks.json")).json()
    assert [k["kid"] for k in jwks["keys"]] == [issuer._key.kid]
    assert all("d" not in k for k in jwks["keys"])


async def test_anonymous_requests_are_rate_limited_and_authenticated_ones_are_not(
    database_url: str, tmp_path: Path
) -> None:
    settings = Settings(
        database_url=database_url,
        database_pool_min_size=1,
        symbiose_data_dir=str(tmp_path),
        rate_limit_anonymous_per_minute=3,
    )
    issuer = LocalIssuer.from_settings(settings)
    async with AsyncTestClient(app=create_asgi(settings)) as client:
        statuses = [(await client.get("/v1/networks")).status_code for _ in range(4)]
        assert statuses == [200, 200, 200, 429]
        limited = await client.get("/v1/networks")
        assert limited.headers["content-type"].startswith("application/problem+json")
        token = issuer.mint(email="a@b.fr")
        authed = [
            (await client.get("/v1/networks", headers={"authorization": f"Bearer {token}"})).status_code
            for _ in range(5)
        ]
        assert authed == [200] * 5
