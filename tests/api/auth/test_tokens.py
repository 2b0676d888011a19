"""Token verification against a real HTTP identity provider on loopback, and the local issuer."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from joserfc import jwt
from joserfc.jwk import ECKey, KeySet, OctKey, RSAKey

from api.auth import tokens
from api.auth.tokens import LocalIssuer, RemoteKeySource, TokenError, TokenVerifier

AUDIENCE = "symbiose"


class FakeProvider:
    """An OpenID provider's two documents, served over real HTTP on 127.0.0.1."""

    def __init__(self) -> None:
        self.keys: list[Any] = []
        self.jwks_requests = 0
        provider = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                if self.path == "/.well-known/openid-configuration":
                    body: dict[str, Any] = {
                        "issuer": provider.issuer,
                        "jwks_uri": f"{provider.issuer}/jwks",
                        "authorization_endpoint": f"{provider.issuer}/authorize",
                    }
                elif self.path == "/jwks":
                    provider.jwks_requests += 1
                    body = KeySet(provider.keys).as_dict(private=False)
                else:
                    self.send_error(404)
                    return
                raw = json.dumps(body).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

            def log_message(self, format: str, *args: Any) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.issuer = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def add_key(self, key: Any) -> None:
        self.keys.append(key)

    def sign(self, key: Any, alg: str, **overrides: Any) -> str:
        now = int(time.time())
        claims = {"iss": self.issuer, "aud": AUDIENCE, "sub": "user-1", "iat": now, "exp": now + 300}
        claims.update(overrides)
        claims = {k: v for k, v in claims.items() if v is not None}
        return jwt.encode({"alg": alg, "kid": key.kid}, claims, key, algorithms=[alg])


@pytest.fixture
def provider() -> Iterator[FakeProvider]:
    fake = FakeProvider()
    yield fake
    fake.server.shutdown()


def _rsa(kid: str) -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": kid}, private=True)


def _ec(kid: str) -> ECKey:
    return ECKey.generate_key("P-256", parameters={"kid": kid}, private=True)


@pytest.fixture
def verifier(provider: FakeProvider) -> TokenVerifier:
    return TokenVerifier(provider.issuer, AUDIENCE, RemoteKeySource(provider.issuer))


@pytest.mark.parametrize(("make_key", "alg"), [(_rsa, "RS256"), (_ec, "ES256")])
async def test_rs256_and_es256_tokens_from_the_provider_verify(
    provider: FakeProvider, verifier: TokenVerifier, make_key: Any, alg: str
) -> None:
    key = make_key("k1")
    provider.add_key(key)
    verified = await verifier.verify(provider.sign(key, alg, email="a@b.fr"))
    assert (verified.issuer, verified.subject, verified.email) == (provider.issuer, "user-1", "a@b.fr")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"exp": int(time.time()) - 3600}, "expired"),
        ({"exp": None}, "lacks the required claim 'exp'"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
        ({"aud": "another-service"}, "another audience"),
        (
            {"iss": "https://evil.example"},
            r"another issuer: expected 'http://127\.0\.0\.1:\d+', got 'https://evil\.example'; get one from",
        ),
        ({"sub": None}, "lacks the required claim 'sub'"),
    ],
)
async def test_bad_claims_are_refused_saying_which(
    provider: FakeProvider, verifier: TokenVerifier, overrides: dict[str, Any], message: str
) -> None:
    key = _ec("k1")
    provider.add_key(key)
    with pytest.raises(TokenError, match=message):
        await verifier.verify(provider.sign(key, "ES256", **overrides))


async def test_small_clock_skew_is_tolerated(provider: FakeProvider, verifier: TokenVerifier) -> None:
    key = _ec("k1")
    provider.add_key(key)
    await verifier.verify(provider.sign(key, "ES256", exp=int(time.time()) - 5))


async def test_hs256_is_refused(provider: FakeProvider, verifier: TokenVerifier) -> None:
    provider.add_key(_ec("k1"))
    secret = OctKey.generate_key(256, parameters={"kid": "k1"})
    token = jwt.encode({"alg": "HS256", "kid": "k1"}, {"sub": "x"}, secret, algorithms=["HS256"])
    with pytest.raises(TokenError, match="algorithm is refused"):
        await verifier.verify(token)


async def test_alg_none_is_refused(provider: FakeProvider, verifier: TokenVerifier) -> None:
    provider.add_key(_ec("k1"))
    import base64

    def part(value: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(value).encode()).decode().rstrip("=")

    token = f"{part({'alg': 'none', 'kid': 'k1'})}.{part({'sub': 'x', 'exp': int(time.time()) + 60})}."
    with pytest.raises(TokenError):
        await verifier.verify(token)


async def test_a_forged_signature_is_refused(provider: FakeProvider, verifier: TokenVerifier) -> None:
    real, forger = _ec("k1"), _ec("k1")
    provider.add_key(real)
    with pytest.raises(TokenError, match="signature does not verify"):
        await verifier.verify(provider.sign(forger, "ES256"))


async def test_garbage_is_refused_as_malformed(verifier: TokenVerifier, provider: FakeProvider) -> None:
    provider.add_key(_ec("k1"))
    with pytest.raises(TokenError, match="malformed"):
        await verifier.verify("not-a-jwt")


async def test_a_rotated_key_is_fetched_when_its_kid_first_appears(
    provider: FakeProvider, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    old, new = _ec("old"), _ec("new")
    provider.add_key(old)
    await verifier.verify(provider.sign(old, "ES256"))
    assert provider.jwks_requests == 1
    provider.add_key(new)
    monkeypatch.setattr(tokens, "JWKS_MIN_REFRESH_INTERVAL_S", 0.0)
    await verifier.verify(provider.sign(new, "ES256"))
    assert provider.jwks_requests == 2


async def test_unknown_kids_refresh_at_most_once_per_interval(
    provider: FakeProvider, verifier: TokenVerifier
) -> None:
    known, stranger = _ec("known"), _ec("stranger")
    provider.add_key(known)
    await verifier.verify(provider.sign(known, "ES256"))
    for _ in range(5):
        with pytest.raises(TokenError, match="does not publish"):
            await verifier.verify(provider.sign(stranger, "ES256"))
    assert provider.jwks_requests == 1


async def test_a_discovery_document_naming_another_issuer_is_refused(provider: FakeProvider) -> None:
    source = RemoteKeySource(provider.issuer + "/other")
    with pytest.raises(tokens.KeyUnavailableError):
        await source.keys()


async def test_local_issuer_tokens_verify_and_its_key_survives_a_restart(tmp_path: Path) -> None:
    first = LocalIssuer(AUDIENCE, tmp_path)
    token = first.mint(email="Alice@Example.org", ttl_s=60)
    second = LocalIssuer(AUDIENCE, tmp_path)
    verified = await TokenVerifier(second.issuer, AUDIENCE, second).verify(token)
    assert verified.email == "Alice@Example.org"
    assert verified.subject == tokens.local_subject("alice@example.org")
    assert (tmp_path / tokens.LOCAL_KEY_FILE).stat().st_mode & 0o077 == 0


async def test_a_cached_token_still_expires(
    provider: FakeProvider, verifier: TokenVerifier, monkeypatch: pytest.MonkeyPatch
) -> None:
    key = _ec("k1")
    provider.add_key(key)
    token = provider.sign(key, "ES256", exp=int(time.time()) + 60)
    await verifier.verify(token)
    await verifier.verify(token)
    later = time.time() + 3600
    monkeypatch.setattr(time, "time", lambda: later)
    with pytest.raises(TokenError, match="expired"):
        await verifier.verify(token)
