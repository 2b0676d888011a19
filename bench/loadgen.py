"""A lean HTTP/1.1 load generator: raw asyncio protocols over keep-alive connections.

Each of `concurrency` connections sends one request, waits for the whole response, then sends the
next (closed loop). Each request names a client address in `X-Forwarded-For`, drawn from
`client_addresses` addresses, which uvicorn (trusting 127.0.0.1, its default) turns into the
request's client: like public traffic behind a proxy, and it keeps per-address state (the
anonymous rate limiter's history) as small as many real callers would. Responses are parsed just
enough to be checked: the status line, the Content-Length and the body (which must contain the
requested id). No HTTP library, so the generator costs little CPU next to the servers it measures.
"""

from __future__ import annotations

import asyncio
import random
import time
from dataclasses import dataclass, field


class ProtocolError(Exception):
    pass


class _Connection(asyncio.Protocol):
    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.buffer = bytearray()
        self.waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self.closed = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not asyncio.Transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.waiter is not None and not self.waiter.done():
            self.waiter.set_exception(ConnectionError("connection closed by the server"))

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        waiter = self.waiter
        if waiter is None:
            return
        buffer = self.buffer
        end = buffer.find(b"\r\n\r\n")
        if end < 0:
            return
        head = bytes(buffer[:end]).lower()
        at = head.find(b"\r\ncontent-length:")
        if at < 0:
            self.waiter = None
            waiter.set_exception(ProtocolError("response without Content-Length"))
            return
        stop = head.find(b"\r\n", at + 2)
        length = int(head[at + 17 : stop if stop > 0 else len(head)])
        total = end + 4 + length
        if len(buffer) < total:
            return
        body = bytes(buffer[end + 4 : total])
        del buffer[:total]
        self.waiter = None
        waiter.set_result((int(head[9:12]), body))

    async def request(self, data: bytes) -> tuple[int, bytes]:
        assert self.transport is not None
        waiter: asyncio.Future[tuple[int, bytes]] = asyncio.get_running_loop().create_future()
        self.waiter = waiter
        self.transport.write(data)
        return await waiter


@dataclass
class Result:
    name: str
    duration_s: float
    latencies_s: list[float] = field(default_factory=list)
    errors: int = 0
    completed: int = 0  # responses received, warm-up included
    error_samples: list[str] = field(default_factory=list)
    client_cpu_s: float = 0.0

    @property
    def requests(self) -> int:
        return len(self.latencies_s)

    @property
    def rps(self) -> float:
        return self.requests / self.duration_s

    def percentile_ms(self, p: float) -> float:
        if not self.latencies_s:
            return float("nan")
        ordered = sorted(self.latencies_s)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def build_requests(
    host: str, port: int, path_template: str, ids: list[str], headers: dict[str, str], *, end: bool = True
) -> list[bytes]:
    """One request per id; with `end=False`, without the blank line ending the headers."""
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    tail = "\r\n" if end else ""
    return [
        f"GET {path_template.format(id=i)} HTTP/1.1\r\nHost: {host}:{port}\r\n{extra}{tail}".encode()
        for i in ids
    ]


def forwarded_for(count: int) -> list[bytes]:
    """`count` header lines naming distinct client addresses in 10.0.0.0/8, ending the headers."""
    return [
        f"x-forwarded-for: 10.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}\r\n\r\n".encode()
        for n in range(1, count + 1)
    ]


async def run(
    name: str,
    host: str,
    port: int,
    path_template: str,
    ids: list[str],
    *,
    headers: dict[str, str] | None = None,
    concurrency: int,
    warmup_s: float,
    duration_s: float,
    client_addresses: int = 10_000,
    seed: int = 7,
    expected: list[bytes] | None = None,
) -> Result:
    """Hammer `path_template` (with `{id}`) for warmup + duration seconds; measure only after warm-up.

    A response counts as an error unless it is a 200 whose body contains its id, or `expected[i]`."""
    loop = asyncio.get_running_loop()
    requests = build_requests(host, port, path_template, ids, headers or {}, end=False)
    addresses = forwarded_for(client_addresses) if client_addresses > 0 else [b"\r\n"]
    expected = expected or [i.encode() for i in ids]
    connections = []
    for _ in range(concurrency):
        _, protocol = await loop.create_connection(_Connection, host, port)
        connections.append(protocol)
    result = Result(name, duration_s)
    start = time.perf_counter()
    measure_from = start + warmup_s
    stop = measure_from + duration_s

    async def client(conn: _Connection, order: list[int], origins: list[int]) -> None:
        latencies = result.latencies_s
        n = len(order)
        k = 0
        while not conn.closed:
            sent = time.perf_counter()
            if sent >= stop:
                return
            index = order[k % n]
            k += 1
            try:
                status, body = await conn.request(requests[index] + addresses[origins[k % n]])
            except (ConnectionError, ProtocolError, ValueError) as exc:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(repr(exc))
                return
            result.completed += 1
            if sent < measure_from:
                continue
            latencies.append(time.perf_counter() - sent)
            if status != 200 or expected[index] not in body:
                result.errors += 1
                if len(result.error_samples) < 5:
                    result.error_samples.append(f"{status} {body[:200]!r}")

    rng = random.Random(seed)
    orders = [[rng.randrange(len(ids)) for _ in range(20_000)] for _ in connections]
    origins = [[rng.randrange(len(addresses)) for _ in range(20_000)] for _ in connections]
    cpu_before = time.process_time()
    await asyncio.gather(*(client(c, o, a) for c, o, a in zip(connections, orders, origins, strict=True)))
    result.client_cpu_s = time.process_time() - cpu_before
    for conn in connections:
        if conn.transport is not None:
            conn.transport.close()
    return result
