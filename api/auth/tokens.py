"""Everything about JSON Web Tokens: the local issuer, JWKS discovery and caching, verification.

One verifier serves both issuers. In production the keys come from the OpenID Connect provider
named by `OIDC_ISSUER` (discovery document, then its `jwks_uri`); embedded, the service signs with
a key it keeps under `$SYMBIOSE_DATA_DIR/keys` and publishes the same documents itself.

The local issuer's identifier is the fixed `LOCAL_ISSUER`, not the URL the API listens on: the
server and `symbiose token` (run in any shell, with any `SYMBIOSE_PORT` or none) then always agree,
and users keep their identity (`iss` + `sub`) when the service moves to another address. What ties
a token to one service is its key, which both read from the same data directory.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import httpx
from authlib.oidc.discovery import OpenIDProviderMetadata
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    DecodeError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
    UnsupportedAlgorithmError,
)
from joserfc.jwk import ECKey, KeySet
from joserfc.jwt import JWTClaimsRegistry

if TYPE_CHECKING:
    from api.settings import Settings

ACCEPTED_ALGORITHMS = ("RS256", "ES256")
LOCAL_KEY_FILE = "local-issuer.jwk.json"
JWKS_CACHE_TTL_S = 600.0
JWKS_MIN_REFRESH_INTERVAL_S = 60.0
LOCAL_ISSUER = "urn:symbiose:local-issuer"
LOCAL_MINT_ADVICE = (
    "mint one with `symbiose token --email you@example.org` run with the server's SYMBIOSE_DATA_DIR"
)


class TokenError(Exception):
    """A bearer token was refused; the message says why, for the caller."""


class KeyUnavailableError(Exception):
    """The issuer's keys could not be fetched."""


@dataclass(frozen=True, slots=True)
class VerifiedToken:
    issuer: str
    subject: str
    email: str | None
    name: str | None
    claims: dict[str, Any]


class KeySource(Protocol):
    async def keys(self, *, refresh: bool = False) -> KeySet: ...


class LocalIssuer:
    """The embedded identity provider: one ES256 key on disk, minted tokens, published JWKS."""

    def __init__(self, audience: str, key_dir: Path, issuer: str = LOCAL_ISSUER) -> None:
        self.issuer = issuer
        self.audience = audience
        self._key_dir = key_dir
        self._key = _load_or_create_key(key_dir / LOCAL_KEY_FILE)
        self._public = KeySet.import_key_set({"keys": [self._key.as_dict(private=False)]})

    @classmethod
    def from_settings(cls, settings: Settings) -> LocalIssuer:
        """The issuer of this data directory, as the server and `symbiose token` both build it."""
        return cls(settings.oidc_audience, settings.key_dir)

    async def keys(self, *, refresh: bool = False) -> KeySet:
        return self._public

    def jwks(self) -> dict[str, Any]:
        return dict(self._public.as_dict(private=False))

    def discovery_document(self, base_url: str) -> dict[str, Any]:
        """The discovery document; the keys are served by the API itself, under `base_url`."""
        return {
            "issuer": self.issuer,
            "jwks_uri": f"{base_url.rstrip('/')}/.well-known/jwks.json",
            "id_token_signing_alg_values_supported": ["ES256"],
            "subject_types_supported": ["public"],
            "response_types_supported": ["id_token"],
            "claims_supported": ["sub", "email", "name"],
        }

    def mint(self, *, email: str, name: str | None = None, ttl_s: int = 3600) -> str:
        """A signed token for `email`; its subject is derived from the email, so it is stable."""
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": self.audience,
            "sub": local_subject(email),
            "email": email,
            "name": name or email.split("@", 1)[0],
            "iat": now,
            "nbf": now,
            "exp": now + ttl_s,
            "jti": uuid.uuid4().hex,
        }
        header = {"alg": "ES256", "kid": self._key.kid}
        return jwt.encode(header, claims, self._key, algorithms=["ES256"])


def local_subject(email: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"symbiose:local:{email.strip().lower()}"))


def _load_or_create_key(path: Path) -> ECKey:
    if path.is_file():
        return ECKey.import_key(json.loads(path.read_text(encoding="utf-8")))
    path.parent.mkdir(parents=True, exist_ok=True)
    key = ECKey.generate_key("P-256", parameters={"use": "sig", "alg": "ES256"}, private=True)
    key.ensure_kid()
    # Written under a temporary name then renamed, so two processes starting together
    # never read a half-written key; the first rename wins and both reread it.
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(key.as_dict(private=True), handle)
    if not path.exists():
        tmp.replace(path)
    else:
        tmp.unlink()
    return ECKey.import_key(json.loads(path.read_text(encoding="utf-8")))


class RemoteKeySource:
    """An OpenID Connect provider's JWKS, found through its discovery document and cached.

    The cache is refreshed after `JWKS_CACHE_TTL_S`, or early when a token names a key id it does
    not hold (key rotation), but never more often than once per `JWKS_MIN_REFRESH_INTERVAL_S`, so
    tokens with made-up key ids cannot make us hammer the provider.
    """

    def __init__(self, issuer: str, client: httpx.AsyncClient | None = None) -> None:
        self.issuer = issuer.rstrip("/")
        self._client = client
        self._keys: KeySet | None = None
        self._fetched_at = float("-inf")
        self._lock = asyncio.Lock()

    async def keys(self, *, refresh: bool = False) -> KeySet:
        now = time.monotonic()
        stale = now - self._fetched_at > JWKS_CACHE_TTL_S
        may_refresh = now - self._fetched_at >= JWKS_MIN_REFRESH_INTERVAL_S
        if self._keys is not None and not stale and not (refresh and may_refresh):
            return self._keys
        async with self._lock:
            if self._keys is not None and time.monotonic() - self._fetched_at < JWKS_MIN_REFRESH_INTERVAL_S:
                return self._keys
            try:
                self._keys = await self._fetch()
            except (httpx.HTTPError, ValueError, JoseError) as exc:
                if self._keys is None:
                    raise KeyUnavailableError(f"cannot fetch the keys of {self.issuer}: {exc}") from exc
                return self._keys  # keep serving with the keys we have
            self._fetched_at = time.monotonic()
            return self._keys

    async def _fetch(self) -> KeySet:
        client = self._client or httpx.AsyncClient(timeout=5)
        try:
            response = await client.get(f"{self.issuer}/.well-known/openid-configuration")
            response.raise_for_status()
            metadata = OpenIDProviderMetadata(response.json())
            metadata.validate_issuer()
            metadata.validate_jwks_uri()
            if str(metadata["issuer"]).rstrip("/") != self.issuer:
                raise ValueError(f"discovery document names issuer {metadata['issuer']!r}")
            jwks = await client.get(str(metadata["jwks_uri"]))
            jwks.raise_for_status()
            return KeySet.import_key_set(jwks.json())
        finally:
            if self._client is None:
                await client.aclose()


class TokenVerifier:
    """Verifies bearer tokens; a token already verified is remembered until it expires, since
    checking an ES256 signature was a sixth of an authenticated read's cost."""

    CACHE_SIZE = 10_000

    def __init__(
        self, issuer: str, audience: str, keys: KeySource, leeway_s: int = 30, *, hint: str | None = None
    ) -> None:
        self.issuer = issuer.rstrip("/")
        self._hint = hint or f"get one from {self.issuer}"
        self._keys = keys
        self._leeway_s = leeway_s
        self._verified: OrderedDict[str, VerifiedToken] = OrderedDict()
        self._claims = JWTClaimsRegistry(
            leeway=leeway_s,
            iss={"essential": True, "value": self.issuer},
            aud={"essential": True, "value": audience},
            sub={"essential": True},
            exp={"essential": True},
        )

    async def verify(self, token: str) -> VerifiedToken:
        """Check signature, algorithm and claims; raise `TokenError` saying what is wrong."""
        cached = self._verified.get(token)
        if cached is not None:
            if cached.claims["exp"] + self._leeway_s > time.time():
                self._verified.move_to_end(token)
                return cached
            del self._verified[token]
        verified = await self._verify(token)
        self._verified[token] = verified
        if len(self._verified) > self.CACHE_SIZE:
            self._verified.popitem(last=False)
        return verified

    async def _verify(self, token: str) -> VerifiedToken:
        try:
            decoded = await self._decode(token)
        except InvalidKeyIdError as exc:
            raise TokenError(
                f"the token is signed with a key this issuer does not publish; {self._hint}"
            ) from exc
        except UnsupportedAlgorithmError as exc:
            raise TokenError(
                f"the token's algorithm is refused; accepted: {', '.join(ACCEPTED_ALGORITHMS)}"
            ) from exc
        except BadSignatureError as exc:
            raise TokenError("the token's signature does not verify") from exc
        except (DecodeError, ValueError) as exc:
            raise TokenError("the token is malformed (expected a signed JWT)") from exc
        except JoseError as exc:
            raise TokenError(f"the token is invalid: {exc.description or exc.error}") from exc
        try:
            self._claims.validate(decoded.claims)
        except ExpiredTokenError as exc:
            raise TokenError("the token has expired") from exc
        except MissingClaimError as exc:
            raise TokenError(f"the token lacks the required claim {exc.claim!r}") from exc
        except InvalidClaimError as exc:
            if exc.claim == "iss":
                raise TokenError(self._issuer_message(decoded.claims.get("iss"))) from exc
            raise TokenError(_claim_message(exc.claim)) from exc
        claims = decoded.claims
        email = claims.get("email")
        name = claims.get("name")
        return VerifiedToken(
            issuer=self.issuer,
            subject=str(claims["sub"]),
            email=email if isinstance(email, str) else None,
            name=name if isinstance(name, str) else None,
            claims=claims,
        )

    def _issuer_message(self, got: object) -> str:
        sent = repr(got)[:120] if isinstance(got, str) else "no issuer"
        return f"the token comes from another issuer: expected {self.issuer!r}, got {sent}; {self._hint}"

    async def _decode(self, token: str) -> jwt.Token:
        keys = await self._keys.keys()
        try:
            return jwt.decode(token, keys, algorithms=list(ACCEPTED_ALGORITHMS))
        except InvalidKeyIdError:
            keys = await self._keys.keys(refresh=True)
            return jwt.decode(token, keys, algorithms=list(ACCEPTED_ALGORITHMS))


def _claim_message(claim: str) -> str:
    return {
        "aud": "the token was issued for another audience",
        "nbf": "the token is not valid yet",
        "exp": "the token has expired",
    }.get(claim, f"the token's {claim!r} claim is invalid")
