"""Rate limits: one per client address for callers without a valid token, one per user for the rest.

Each is a fixed window a minute long per identifier, started by the identifier's first request:
past `limit` requests in it, 429 until it ends. Every counted answer says where the caller stands
(`RateLimit-Policy`, `-Limit`, `-Remaining`, `-Reset`, the IETF draft's headers); a 429 adds
`Retry-After`. This is what Litestar's `RateLimitMiddleware` answered, counted with an integer
instead of a list of every request's timestamp JSON-encoded into a store, which cost each request
in proportion to the requests already in its window.

`api.admission` counts a request once its token is judged: a refused token counts as anonymous,
and is refused (401) after counting, so sending garbage tokens does not escape the anonymous limit.
The client address is the connection's peer; `X-Forwarded-For` replaces it only when that peer is
one of `TRUSTED_PROXIES` (uvicorn's `ProxyHeadersMiddleware`, see `api.app`). CORS preflights are
never counted: a browser sends them on its own before the request that counts. Windows live in the
worker's memory, so each worker counts on its own.
"""

from __future__ import annotations

import time

from litestar.types import HTTPScope

from api.auth.tokens import VerifiedToken
from api.errors import TooManyRequestsError
from api.settings import Settings

# Stripe's deliveries come from a few addresses, in bursts, and a refused one is retried for days:
# counting them as anonymous callers would delay or lose them. The route's guard is the signature,
# checked before it touches the database (api/payments/webhooks.py).
STRIPE_WEBHOOK_PATH = "/v1/payments/stripe/webhook"

UNLIMITED_PATHS = ["/health", "/docs", "/docs-assets", "/metrics", STRIPE_WEBHOOK_PATH]
_UNLIMITED = tuple(UNLIMITED_PATHS)
WINDOW_S = 60
UNIT = "minute"

Headers = list[tuple[bytes, bytes]]
RATE_LIMIT_HEADERS = frozenset(
    {b"ratelimit-policy", b"ratelimit-limit", b"ratelimit-remaining", b"ratelimit-reset"}
)


class _Window:
    __slots__ = ("count", "reset")

    def __init__(self, reset: int) -> None:
        self.count = 0
        self.reset = reset


class FixedWindows:
    """The windows of one limit, by identifier. Ended windows are dropped once a window length."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._windows: dict[str, _Window] = {}
        self._sweep_at = 0
        self._policy = f"{limit}; w={WINDOW_S}".encode()
        self._limit = str(limit).encode()

    def __len__(self) -> int:
        return len(self._windows)

    def count(self, identifier: str) -> Headers:
        """Count one request and return its `RateLimit-*` headers; raise the 429 past the limit."""
        now = int(time.time())
        if now >= self._sweep_at:
            self._windows = {k: w for k, w in self._windows.items() if w.reset > now}
            self._sweep_at = now + WINDOW_S
        window = self._windows.get(identifier)
        if window is None or window.reset <= now:
            window = self._windows[identifier] = _Window(now + WINDOW_S)
        if window.count >= self.limit:
            retry_after = max(1, window.reset - now)
            raise TooManyRequestsError(
                f"more than {self.limit} requests a {UNIT}; retry in {retry_after} s",
                headers={
                    "RateLimit-Policy": self._policy.decode(),
                    "RateLimit-Limit": str(self.limit),
                    "RateLimit-Remaining": "0",
                    "RateLimit-Reset": str(window.reset - now),
                    "Retry-After": str(retry_after),
                },
            )
        window.count += 1
        return [
            (b"ratelimit-policy", self._policy),
            (b"ratelimit-limit", self._limit),
            (b"ratelimit-remaining", str(self.limit - window.count).encode()),
            (b"ratelimit-reset", str(window.reset - now).encode()),
        ]


class RateLimits:
    """The anonymous limit and the per-user one, for one application."""

    def __init__(self, settings: Settings) -> None:
        self.anonymous = FixedWindows(settings.rate_limit_anonymous_per_minute)
        self.authenticated = FixedWindows(settings.rate_limit_authenticated_per_minute)

    def count(self, scope: HTTPScope, verified: VerifiedToken | None) -> Headers | None:
        """The `RateLimit-*` headers of a counted request, None for one that is not counted."""
        if scope["path"].startswith(_UNLIMITED) or _is_preflight(scope):
            return None
        if verified is not None:
            return self.authenticated.count(f"user:{verified.issuer} {verified.subject}")
        client = scope.get("client")
        return self.anonymous.count("client:" + (client[0] if client else "127.0.0.1"))


def _is_preflight(scope: HTTPScope) -> bool:
    return scope["method"] == "OPTIONS" and any(
        name == b"access-control-request-method" for name, _ in scope["headers"]
    )
