"""A real HTTP receiver on 127.0.0.1, a verifier written from the Standard Webhooks text, and the
transfers' park to make events happen."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import pytest

from api.db.pool import Pool, create_pool
from api.settings import Settings
from tests.api.transfers.conftest import Park, act, ask, park

__all__ = ["Park", "Received", "Receiver", "act", "ask", "park", "verify"]


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """Answers each POST with the next of `answers` (then 200) and records what came."""

    answers: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    received: list[Received] = field(default_factory=list)
    port: int = 0
    delay_s: float = 0.0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
            lines = head.decode("latin-1").split("\r\n")
            _, path, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                if ":" in line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            body = await reader.readexactly(int(headers.get("content-length", "0")))
            self.received.append(Received(path, headers, body))
            if self.delay_s:
                await asyncio.sleep(self.delay_s)
            status, extra = self.answers.pop(0) if self.answers else (200, {})
            reply = "".join(f"{k}: {v}\r\n" for k, v in extra.items())
            writer.write(
                f"HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n{reply}\r\nok".encode()
            )
            await writer.drain()
        finally:
            writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    async with server:
        yield receiver


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        database_pool_min_size=1,
        database_pool_max_size=8,
        symbiose_data_dir=str(tmp_path),
        sweep_interval_seconds=0,
        webhook_allow_insecure=True,
    )


@pytest.fixture
async def pool(database_url: str) -> AsyncIterator[Pool]:
    pool = await create_pool(database_url, min_size=1, max_size=6)
    yield pool
    await pool.close()


def verify(secret: str, headers: dict[str, str], body: bytes) -> list[bool]:
    """Standard Webhooks, symmetric: the secret is base64 after `whsec_`; the signed content is
    `{webhook-id}.{webhook-timestamp}.{body}`; `webhook-signature` is a space-delimited list of
    `v1,<base64 HMAC-SHA256>`. One verdict per signature listed."""
    key = base64.b64decode(secret.split("_", 1)[1])
    content = headers["webhook-id"].encode() + b"." + headers["webhook-timestamp"].encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, content, hashlib.sha256).digest()).decode()
    verdicts = []
    for item in headers["webhook-signature"].split(" "):
        version, _, value = item.partition(",")
        verdicts.append(version == "v1" and hmac.compare_digest(value, expected))
    return verdicts


def decoded(body: bytes) -> Any:
    return msgspec.json.decode(body)
