"""Admitting a request: its time bound, who is asking, how often. One middleware, in this order:

1. the deadline: `REQUEST_TIMEOUT_SECONDS` from here to the start of the answer, else the request
   is cancelled and answered 503 with `Retry-After` (an answer already started is left to finish);
   cancelling rolls a write's transaction back (`api.db.pool.provide_transaction`) and gives its
   connection back to the pool;
2. the bearer token, judged when one is sent, on every route (`api.auth.principal.judge_token`);
   the verdict is left in the request's state, `verified_token` for the `principal` dependency;
3. the rate limit (`api.ratelimit`), which counts a refused token as anonymous;
4. the refusal of a bad token (401, or 503 when the issuer's keys are unavailable), after counting.

Every counted answer carries the `RateLimit-*` headers. These were five middleware layers; each
layer cost more than the work it did.
"""

from __future__ import annotations

import asyncio

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.auth.principal import judge_token
from api.auth.tokens import VerifiedToken
from api.errors import ServiceUnavailableError, UnauthorizedError
from api.limits import TIMEOUT_RETRY_AFTER_S
from api.ratelimit import RATE_LIMIT_HEADERS, RateLimits


class Admission:
    """The admission middleware of one route (Litestar builds one per route, around `app`);
    `limits` is the application's, shared by all routes."""

    def __init__(self, app: ASGIApp, limits: RateLimits, timeout_s: float) -> None:
        self.app, self.limits, self.timeout_s = app, limits, timeout_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        started = False
        headers: list[tuple[bytes, bytes]] | None = None

        async def start_answer(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                if headers is not None:
                    kept = [h for h in message.get("headers", ()) if h[0].lower() not in RATE_LIMIT_HEADERS]
                    message["headers"] = kept + headers
            await send(message)

        deadline = asyncio.get_running_loop().time() + self.timeout_s
        try:
            async with asyncio.timeout_at(deadline) as timeout:
                verified: VerifiedToken | None = None
                refusal: Exception | None = None
                try:
                    verified = await judge_token(scope)
                except (UnauthorizedError, ServiceUnavailableError) as exc:
                    refusal = exc
                state = scope.setdefault("state", {})
                if verified is not None:
                    state["verified_token"] = verified
                headers = self.limits.count(scope, verified)
                if refusal is not None:
                    raise refusal
                await self.app(scope, receive, start_answer)
        except TimeoutError:
            if started or not timeout.expired():
                raise
            raise ServiceUnavailableError(
                f"the request took longer than {self.timeout_s:g} s; retry shortly",
                headers={"Retry-After": str(TIMEOUT_RETRY_AFTER_S)},
            ) from None
