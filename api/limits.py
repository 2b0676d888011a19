"""Bounds on what one request may take: its body, its head, its time.

- Body: `JSON_MAX_BODY_BYTES` for every operation (Litestar's `request_max_body_size` on the app),
  `CSV_MAX_BODY_BYTES` for the CSV import; past it, 413 `payload-too-large`, checked on the
  announced `Content-Length` before reading and on the bytes actually received.
- Head (request line and headers): `MAX_HEAD_BYTES`, enforced by the server protocol in
  `api.http_protocol`, before the application sees anything (431 `headers-too-large`).
- Time: `REQUEST_TIMEOUT_SECONDS` from arrival to the start of the answer (503 with `Retry-After`),
  and `statement_timeout` on every PostgreSQL session (`api.db.pool`).
"""

from __future__ import annotations

import asyncio

from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ServiceUnavailableError

JSON_MAX_BODY_BYTES = 1024 * 1024
CSV_MAX_BODY_BYTES = 10 * 1024 * 1024
MAX_HEAD_BYTES = 32 * 1024
TIMEOUT_RETRY_AFTER_S = 5


class RequestTimeoutMiddleware(ASGIMiddleware):
    """Cancels a request that has not started its answer within `timeout_s` and answers 503.

    Cancelling rolls the request's transaction back (`api.db.pool.provide_transaction`) and gives its
    connection back to the pool. An answer already started is left to finish."""

    scopes = (ScopeType.HTTP,)

    def __init__(self, timeout_s: float) -> None:
        self.timeout_s = timeout_s

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        started = False

        async def note_start(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        deadline = asyncio.get_running_loop().time() + self.timeout_s
        try:
            async with asyncio.timeout_at(deadline) as timeout:
                await next_app(scope, receive, note_start)
        except TimeoutError:
            if started or not timeout.expired():
                raise
            raise ServiceUnavailableError(
                f"the request took longer than {self.timeout_s:g} s; retry shortly",
                headers={"Retry-After": str(TIMEOUT_RETRY_AFTER_S)},
            ) from None
