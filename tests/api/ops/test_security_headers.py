from __future__ import annotations

import base64
import hashlib
import re

import msgspec
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.auth.tokens import LocalIssuer
from api.observability import RequestContext
from api.settings import Settings


async def test_every_answer_says_nosniff_no_referrer_and_no_framing(
    client: AsyncTestClient[RequestContext],
) -> None:
    answers = [
        await client.get("/v1/networks"),
        await client.get("/nowhere"),
        await client.get("/v1/me", headers={"authorization": "Bearer garbage"}),
        await client.get("/docs-assets/swagger-ui.css"),
    ]
    assert [a.status_code for a in answers] == [200, 404, 401, 200]
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert "strict-transport-security" not in answer.headers  # the public URL is http here
    assert answers[0].headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"


async def test_answers_to_a_request_with_a_token_are_not_stored(
    client: AsyncTestClient[RequestContext], issuer: LocalIssuer
) -> None:
    token = issuer.mint(email="someone@example.org")
    authenticated = await client.get("/v1/me", headers={"authorization": f"Bearer {token}"})
    refused = await client.get("/v1/me", headers={"authorization": "Bearer garbage"})
    anonymous = await client.get("/v1/networks")
    assert authenticated.status_code == 200
    assert authenticated.headers["cache-control"] == "no-store"
    assert refused.headers["cache-control"] == "no-store"
    assert "no-store" not in anonymous.headers.get("cache-control", "")


async def test_hsts_when_the_public_url_is_https(settings: Settings) -> None:
    https = msgspec.structs.replace(settings, symbiose_public_url="https://api.example.org")
    async with AsyncTestClient(app=create_asgi(https)) as client:
        response = await client.get("/health/live")
    assert response.headers["strict-transport-security"] == "max-age=31536000; includeSubDomains"


async def test_the_docs_page_runs_only_its_own_scripts(client: AsyncTestClient[RequestContext]) -> None:
    page = await client.get("/docs")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = dict(
        directive.strip().split(" ", 1) for directive in page.headers["content-security-policy"].split(";")
    )
    assert policy["frame-ancestors"] == "'none'"
    assert policy["default-src"] == "'none'"
    # Every inline script of the page is allowed by its hash, and nothing else inline is.
    inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", page.text, re.DOTALL)
    assert inline
    hashes = {
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in inline
    }
    sources = policy["script-src"].split()
    assert set(sources) == {"'self'", *hashes}
    assert "'unsafe-inline'" not in sources
    # Everything else the page loads is the app's own.
    for url in re.findall(r'(?:src|href)="([^"]+)"', page.text):
        assert url.startswith("/docs-assets/"), url
        assert (await client.get(url)).status_code == 200


async def test_every_docs_page_gets_the_hash_of_its_own_scripts(
    client: AsyncTestClient[RequestContext],
) -> None:
    index = await client.get("/docs/")
    redirect = await client.get("/docs/oauth2-redirect.html")
    schema = await client.get("/docs/openapi.json")
    assert [index.status_code, redirect.status_code, schema.status_code] == [200, 200, 200]
    assert "'sha256-" in index.headers["content-security-policy"]
    assert "'sha256-" in redirect.headers["content-security-policy"]
    assert index.headers["content-security-policy"] != redirect.headers["content-security-policy"]
    assert schema.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'"
