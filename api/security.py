"""Security headers on every answer, and the docs page's Content-Security-Policy.

Every answer says `nosniff`, sends no referrer, may not be framed, and carries a policy that loads
nothing (`default-src 'none'`: a JSON body has no business running anything); answers to a request
that carried a token are `no-store`, so no shared cache keeps them; HSTS is sent when the public URL
is https. The docs page (`/docs`, Swagger UI from the app's own `/docs-assets`) gets a policy of its
own: scripts only from the app's origin plus its inline scripts, allowed by their SHA-256 hash,
computed from the page as rendered, so the policy always matches the page it is sent with.
"""

from __future__ import annotations

import base64
import hashlib
import re
from typing import Any, cast

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.middleware import ASGIMiddleware
from litestar.types import ASGIApp, BeforeMessageSendHookHandler, Message, Receive, Scope, Send

from api.openapi import DOCS_PATH
from api.settings import Settings

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


def set_headers(message: Message, values: dict[bytes, bytes], keep: frozenset[bytes] = frozenset()) -> None:
    """Set headers (lower-case names) on an `http.response.start` message in one pass over it: the
    first header of each name is replaced and its repeats dropped, absent ones are appended; a name
    in `keep` is left as it is when present. What `MutableScopeHeaders.__setitem__` does, without
    scanning and decoding every header once per header set."""
    pending = dict(values)
    headers: list[tuple[bytes, bytes]] = []
    for name, value in cast("list[tuple[bytes, bytes]]", message.get("headers", [])):
        key = name.lower()
        if key not in values:
            headers.append((name, value))
        elif key in pending:
            headers.append((name, value) if key in keep else (key, pending[key]))
            del pending[key]
    headers.extend(pending.items())
    message["headers"] = headers  # type: ignore[typeddict-unknown-key]


def security_headers(settings: Settings) -> BeforeMessageSendHookHandler:
    """A `before_send` hook: it sees every answer, 404s and errors raised in middleware included."""
    common = {
        b"x-content-type-options": b"nosniff",
        b"referrer-policy": b"no-referrer",
        b"x-frame-options": b"DENY",
        b"content-security-policy": API_POLICY.encode(),
    }
    if settings.public_url.startswith("https://"):
        common[b"strict-transport-security"] = HSTS.encode()
    with_token = {**common, b"cache-control": b"no-store"}
    keep = frozenset({b"content-security-policy"})

    async def add_headers(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start" or scope["type"] != ScopeType.HTTP:
            return
        token = any(name == b"authorization" for name, _ in scope["headers"])
        set_headers(message, with_token if token else common, keep)

    return add_headers


def docs_policy(page: bytes) -> str:
    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(body).digest()).decode() + "'"
        for body in _INLINE_SCRIPT.findall(page)
    )
    return (
        f"default-src 'none'; script-src 'self' {hashes}; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self'; connect-src 'self'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    )


class DocsPolicyMiddleware(ASGIMiddleware):
    """Holds back the HTML pages under `/docs` until their body is complete, to hash their inline
    scripts into the page's policy. Other answers pass straight through."""

    scopes = (ScopeType.HTTP,)

    async def handle(self, scope: Scope, receive: Receive, send: Send, next_app: ASGIApp) -> None:
        path: str = scope["path"]
        if path != DOCS_PATH and not path.startswith(DOCS_PATH + "/"):
            await next_app(scope, receive, send)
            return
        start: dict[str, Any] = {}
        body: list[bytes] = []

        async def hold(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            if message["type"] != "http.response.body" or not start:
                await send(message)
                return
            body.append(message.get("body", b""))
            if message.get("more_body", False):
                return
            page = b"".join(body)
            headers = MutableScopeHeaders.from_message(start)  # type: ignore[arg-type]
            if headers.get("content-type", "").startswith("text/html"):
                headers["Content-Security-Policy"] = docs_policy(page)
            await send(start)  # type: ignore[arg-type]
            await send({"type": "http.response.body", "body": page, "more_body": False})

        await next_app(scope, receive, hold)
