"""Rate limits: one per client address for callers without a valid token, one per user for the rest.

Both are Litestar's `RateLimitMiddleware`, which keeps a window per identifier in the app's
`rate_limit` store; `check_throttle_handler` decides which of the two counts a request. A token
is judged by `api.auth.principal.BearerTokenMiddleware`, which runs first and leaves its verdict
in the request's state: a refused token counts as anonymous, and is refused (401) after counting,
so sending garbage tokens does not escape the anonymous limit.

The client address is the connection's peer; `X-Forwarded-For` replaces it only when that peer is
one of `TRUSTED_PROXIES` (uvicorn's `ProxyHeadersMiddleware`, see `api.app`). CORS preflights are
never counted: a browser sends them on its own before the request that counts.
"""

from __future__ import annotations

from typing import Any

import anyio
from litestar import Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.base import DefineMiddleware
from litestar.middleware.rate_limit import (
    CacheObject,
    RateLimitConfig,
    RateLimitMiddleware,
    get_remote_address,
)
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.auth.tokens import VerifiedToken
from api.errors import TooManyRequestsError
from api.security import set_headers
from api.settings import Settings

# Stripe's deliveries come from a few addresses, in bursts, and a refused one is retried for days:
# counting them as anonymous callers would delay or lose them. The route's guard is the signature,
# checked before it touches the database (api/payments/webhooks.py).
STRIPE_WEBHOOK_PATH = "/v1/payments/stripe/webhook"

UNLIMITED_PATHS = ["/health", "/docs", "/docs-assets", "/metrics", STRIPE_WEBHOOK_PATH]


STORE = "rate_limit"
"""The name of the store the limiters keep their windows in (`RateLimitConfig.store`)."""


def _uncontended_lock() -> anyio.Lock:
    """An anyio lock that does not yield to the event loop when it is free. anyio's default lock
    yields on every acquire, even uncontended: the limiter takes its own lock and the store's twice
    a request, three event-loop round trips that cost more than the rest of the limiter (and,
    yielding while held, made other requests queue behind it). Exclusion is the same: a free lock
    is taken at once, a held one is waited for."""
    return anyio.Lock(fast_acquire=True)


class WindowStore(MemoryStore):
    """Litestar's in-memory store with an uncontended lock (see `_uncontended_lock`)."""

    def __init__(self) -> None:
        super().__init__()
        self._lock = _uncontended_lock()


def rate_limit_stores() -> dict[str, Store]:
    """The app's `stores`: the limiters' windows, in memory."""
    return {STORE: WindowStore()}


class ProblemRateLimitMiddleware(RateLimitMiddleware):
    """Litestar's limiter, answering 429 as a problem with `Retry-After` (seconds until the
    window resets), besides the `RateLimit-*` headers every counted answer carries."""

    def __init__(self, app: ASGIApp, config: RateLimitConfig) -> None:
        super().__init__(app, config)
        self._lock = _uncontended_lock()

    def create_send_wrapper(self, send: Send, cache_object: CacheObject) -> Send:
        """Litestar's wrapper, setting the `RateLimit-*` headers in one pass (`set_headers`)."""

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                values = self.create_response_headers(cache_object=cache_object)
                set_headers(message, {k.lower().encode(): v.encode() for k, v in values.items()})
            await send(message)

        return send_wrapper

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await super().__call__(scope, receive, send)
        except TooManyRequestsException as exc:
            headers = dict(exc.headers or {})
            retry_after = max(1, int(headers.get(self.config.rate_limit_reset_header_key, "1")))
            headers["Retry-After"] = str(retry_after)
            raise TooManyRequestsError(
                f"more than {self.max_requests} requests a {self.unit}; retry in {retry_after} s",
                headers=headers,
            ) from exc


def _is_preflight(request: Request[Any, Any, Any]) -> bool:
    return request.method == "OPTIONS" and "access-control-request-method" in request.headers


def _verified(request: Request[Any, Any, Any]) -> VerifiedToken | None:
    verified: VerifiedToken | None = request.state.get("verified_token")
    return verified


# async on purpose: Litestar runs a plain function in a worker thread, on every request.
async def _counts_as_anonymous(request: Request[Any, Any, Any]) -> bool:
    return not _is_preflight(request) and _verified(request) is None


async def _counts_as_user(request: Request[Any, Any, Any]) -> bool:
    return not _is_preflight(request) and _verified(request) is not None


def _client(request: Request[Any, Any, Any]) -> str:
    return "client:" + get_remote_address(request)


def _user(request: Request[Any, Any, Any]) -> str:
    verified = _verified(request)
    assert verified is not None  # `_counts_as_user` let only these through
    return f"user:{verified.issuer} {verified.subject}"


def rate_limits(settings: Settings) -> list[DefineMiddleware]:
    """The anonymous limit, then the per-user one; both after token verification."""
    anonymous = RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_anonymous_per_minute),
        exclude=UNLIMITED_PATHS,
        check_throttle_handler=_counts_as_anonymous,
        identifier_for_request=_client,
        middleware_class=ProblemRateLimitMiddleware,
    )
    authenticated = RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_authenticated_per_minute),
        exclude=UNLIMITED_PATHS,
        check_throttle_handler=_counts_as_user,
        identifier_for_request=_user,
        middleware_class=ProblemRateLimitMiddleware,
    )
    return [anonymous.middleware, authenticated.middleware]
