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
from collections.abc import Iterable
from typing import Any

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from api.openapi import DOCS_PATH
from api.settings import Settings

API_POLICY = "default-src 'none'; frame-ancestors 'none'"
HSTS = "max-age=31536000; includeSubDomains"
_INLINE_SCRIPT = re.compile(rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE)


class SecurityHeaders:
    """The headers every answer gets, as raw pairs built once; `api.observability.RequestContext`
    sets them on every answer in its one pass over the answer's headers, 404s and errors included.
    A header of these names the answer had is replaced, but for a `Content-Security-Policy` of
    its own (the docs page's)."""

    def __init__(self, settings: Settings) -> None:
        common = [
            (b"x-content-type-options", b"nosniff"),
            (b"referrer-policy", b"no-referrer"),
            (b"x-frame-options", b"DENY"),
        ]
        if settings.public_url.startswith("https://"):
            common.append((b"strict-transport-security", HSTS.encode()))
        self.anonymous = common
        self.with_token = [*common, (b"cache-control", b"no-store")]
        self.replaced_anonymous = frozenset(name for name, _ in self.anonymous)
        self.replaced_with_token = frozenset(name for name, _ in self.with_token)

    def apply(
        self, headers: Iterable[tuple[bytes, bytes]], token: bool, *last: tuple[bytes, bytes]
    ) -> list[tuple[bytes, bytes]]:
        """`headers` with these set (`no-store` when the request carried a token), then `last`
        (which replace any header of their names)."""
        replaced = self.replaced_with_token if token else self.replaced_anonymous
        if last:
            replaced = replaced | {name for name, _ in last}
        kept: list[tuple[bytes, bytes]] = []
        policy = False
        for header in headers:
            name = header[0].lower()
            if name in replaced:
                continue
            policy = policy or name == _POLICY
            kept.append(header)
        kept += self.with_token if token else self.anonymous
        if not policy:
            kept.append((_POLICY, _API_POLICY))
        kept += last
        return kept


_POLICY = b"content-security-policy"
_API_POLICY = API_POLICY.encode()


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


class DocsPolicy:
    """Holds back the HTML pages under `/docs` until their body is complete, to hash their inline
    scripts into the page's policy. Other answers pass straight through. Litestar builds one per
    route, around `app`."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path: str = scope["path"]
        if scope["type"] != ScopeType.HTTP or not (path == DOCS_PATH or path.startswith(DOCS_PATH + "/")):
            await self.app(scope, receive, send)
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

        await self.app(scope, receive, hold)
