"""How `symbiose serve` runs uvicorn: the options, and the HTTP protocol that bounds a request's head.

uvicorn's httptools protocol hands a header over only once it is complete, and sets no bound on
its size: a 32 MB `Authorization` header was read whole (2 s, +60 MB) before the application could
refuse it. `BoundedHttpToolsProtocol` counts the bytes of each request's head as they arrive and,
past `MAX_HEAD_BYTES`, answers 431 `headers-too-large` and closes the connection.

Closing at once, with the client still sending, would reset the connection and the client might
never read the answer; so the connection first half-closes and drops what still arrives, for at
most `LINGER_S` seconds or `LINGER_BYTES` bytes (nginx's "lingering close").
"""

from __future__ import annotations

import asyncio
from typing import Any

import msgspec
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from api.errors import PROBLEM_BASE, HeadersTooLargeError
from api.limits import MAX_HEAD_BYTES

LINGER_S = 1.0
LINGER_BYTES = 1024 * 1024
_PROBLEM = msgspec.json.encode(
    {
        "type": PROBLEM_BASE + HeadersTooLargeError.slug,
        "title": HeadersTooLargeError.title_text,
        "status": HeadersTooLargeError.status,
        "detail": f"the request line and headers exceed {MAX_HEAD_BYTES} bytes",
    }
)


class _HeadTooLargeError(Exception):
    pass


class BoundedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a bound on the request line and headers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._in_head = True
        self._head_bytes = 0
        self._refused = False
        self._too_large = False

    def data_received(self, data: bytes) -> None:
        if self._refused:
            self._head_bytes += len(data)
            if self._head_bytes > LINGER_BYTES:
                self.transport.close()
            return
        if self._in_head:
            self._head_bytes += len(data)
        super().data_received(data)
        # Counted after parsing, so the body bytes of a chunk that ends the head do not count.
        if self._in_head and self._head_bytes > MAX_HEAD_BYTES and not self.transport.is_closing():
            self._send_431()

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._head_bytes = 0
        # A head that arrived whole in one read: measured once parsed.
        size = len(self.url) + sum(len(name) + len(value) + 4 for name, value in self.headers)
        if size > MAX_HEAD_BYTES:
            self._too_large = True
            raise _HeadTooLargeError  # stops the parser; uvicorn answers through `send_400_response`
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        if self._too_large:
            self._send_431()
        else:
            super().send_400_response(msg)

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._in_head = True

    def _send_431(self) -> None:
        head = [b"HTTP/1.1 431 Request Header Fields Too Large\r\n"]
        head += [name + b": " + value + b"\r\n" for name, value in self.server_state.default_headers]
        head += [
            b"content-type: application/problem+json\r\n",
            b"content-length: " + str(len(_PROBLEM)).encode() + b"\r\n",
            b"connection: close\r\n\r\n",
        ]
        self.transport.write(b"".join(head) + _PROBLEM)
        self._refused, self._head_bytes = True, 0
        if self.transport.can_write_eof():
            self.transport.write_eof()
        asyncio.get_running_loop().call_later(LINGER_S, self.transport.close)


def uvicorn_options() -> dict[str, Any]:
    """Options of `uvicorn.run` besides the app, host and port.

    No `Server` header; no `X-Forwarded-For` handling by uvicorn, which trusts 127.0.0.1 by default
    (the app trusts `TRUSTED_PROXIES` only, see `api.app`)."""
    return {
        "http": BoundedHttpToolsProtocol,
        "server_header": False,
        "proxy_headers": False,
    }
