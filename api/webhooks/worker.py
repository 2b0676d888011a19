"""The delivery worker: numbers the feed, fans it out to endpoints, sends what is due, signed.

Each round: number committed events (api/events), queue a delivery per event and matching endpoint
(one checkpoint, under its row lock), then claim due deliveries with `FOR UPDATE SKIP LOCKED` and a
lease committed before sending, so two workers never send the same attempt and a killed worker's
claims run out and are sent again (at least once). Each result is recorded in its own transaction.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Final

import httpx
import msgspec

from api.db.pool import Connection, Pool
from api.events import repository as events
from api.events import service as feed
from api.events.types import ENDPOINT_DISABLED
from api.webhooks import repository, signing
from api.webhooks.repository import Attempt, Claimed
from api.webhooks.safety import Resolver, UnsafeUrlError, check_url, system_resolver
from schemas.events import Event
from search.meili.indexer import sleep_unless

logger = logging.getLogger(__name__)

# Delays before the 2nd, 3rd, ... attempt (Standard Webhooks' example schedule, shortened to a week).
SCHEDULE_S: Final = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
JITTER: Final = 0.1
TIMEOUT_S: Final = 15.0
LEASE_S: Final = 60.0
"""Longer than a send can take (the timeout): a live worker's claim never runs out under it."""
MAX_RETRY_AFTER_S: Final = 86_400.0
RESPONSE_BYTES: Final = 4096
RESPONSE_START_CHARS: Final = 1000
DISABLE_AFTER: Final = timedelta(days=5)
FAN_OUT_BATCH: Final = 1000
CLAIM_BATCH: Final = 100
CONNECTIONS: Final = 20
"""Open connections, all endpoints together: httpcore's pool looks at every connection for every
request, so a hundred to one receiver sent 3.5 times fewer deliveries a second than twenty
(bench/events_cost.py); requests beyond it wait for a connection."""


@dataclass(frozen=True, slots=True)
class Outcome:
    status_code: int | None
    error: str | None
    response_start: str
    retry_after_s: float | None


def retry_after(value: str | None, now: datetime) -> float | None:
    """Seconds a `Retry-After` header asks for (delta-seconds or an HTTP date), at most a day."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return min(float(value), MAX_RETRY_AFTER_S)
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, min((moment - now).total_seconds(), MAX_RETRY_AFTER_S))


def next_delay(attempts: int, schedule: Sequence[float], jitter: float = JITTER) -> float | None:
    """The wait before the next attempt after `attempts` failed ones; None: give up."""
    if attempts > len(schedule):
        return None
    base = schedule[attempts - 1]
    return base * random.uniform(1 - jitter, 1 + jitter)  # noqa: S311 (jitter, not a secret)


def message_id(claimed: Claimed) -> str:
    return "msg_" + claimed.delivery_id.hex


@dataclass
class Deliverer:
    pool: Pool
    client: httpx.AsyncClient
    allow_insecure: bool = False
    schedule: Sequence[float] = SCHEDULE_S
    lease_s: float = LEASE_S
    claim_batch: int = CLAIM_BATCH
    disable_after: timedelta = DISABLE_AFTER
    resolve: Resolver = system_resolver
    sent: int = field(default=0)

    async def prepare(self) -> int:
        """Number the feed and queue its new events' deliveries; deliveries queued."""
        async with self.pool.acquire() as conn:
            await feed.sequence(conn)
            total = 0
            while True:
                read, queued = await repository.fan_out(conn, FAN_OUT_BATCH)
                total += queued
                if read < FAN_OUT_BATCH:
                    return total

    async def send_due(self) -> int:
        """Claim and send the due deliveries, one batch; how many were attempted."""
        async with self.pool.acquire() as conn:
            claimed = await repository.claim(conn, self.claim_batch, self.lease_s)
            found = await events.get_many(conn, [c.event_id for c in claimed]) if claimed else {}
        await asyncio.gather(*(self._deliver(c, found.get(c.event_id)) for c in claimed))
        return len(claimed)

    async def run_once(self) -> int:
        await self.prepare()
        return await self.send_due()

    async def drain(self) -> int:
        """Rounds until nothing is due now; attempts made."""
        total = 0
        while (done := await self.run_once()) > 0:
            total += done
        return total

    async def run(self, stop: asyncio.Event, idle_s: float = 1.0) -> None:
        """Deliver until `stop` is set; a failing round is logged and the next goes ahead."""
        while not stop.is_set():
            try:
                done = await self.run_once()
            except Exception:
                logger.exception("webhook delivery round failed")
                done = 0
            if done < self.claim_batch:
                await sleep_unless(stop, idle_s)

    async def _deliver(self, claimed: Claimed, event: Event | None) -> None:
        if event is None:  # pruned meanwhile
            return
        body = msgspec.json.encode(event)
        started = datetime.now(UTC)
        clock = time.perf_counter()
        outcome = await self._send(claimed, body)
        attempt = Attempt(
            started_at=started,
            duration_ms=int((time.perf_counter() - clock) * 1000),
            status_code=outcome.status_code,
            error=outcome.error,
            response_start=outcome.response_start,
        )
        self.sent += 1
        code = outcome.status_code
        if code is not None and 200 <= code < 300:
            async with self.pool.acquire() as conn:
                await repository.succeeded(conn, claimed, attempt)
            return
        async with self.pool.acquire() as conn, conn.transaction():
            await repository.record_attempt(conn, claimed, attempt)
            if code == 410:
                await repository.failed(conn, claimed, None)
                await self._disable(conn, claimed, "the endpoint answered 410 Gone")
                return
            delay = next_delay(claimed.attempts, self.schedule)
            if delay is not None and outcome.retry_after_s is not None:
                delay = outcome.retry_after_s
            await repository.failed(conn, claimed, delay)
            since = claimed.failing_since
            if since is not None and started - since >= self.disable_after:
                await self._disable(
                    conn, claimed, f"every delivery failed for {self.disable_after.days} days"
                )

    async def _disable(self, conn: Connection, claimed: Claimed, reason: str) -> None:
        endpoint = await repository.disable(conn, claimed.endpoint_id, reason)
        if endpoint is None:
            return
        logger.warning("webhook endpoint %s disabled: %s", endpoint.id, reason)
        await events.insert(
            conn,
            type_=ENDPOINT_DISABLED,
            resource_type="webhook_endpoint",
            resource_id=endpoint.id,
            resource={"id": str(endpoint.id), "url": endpoint.url, "disabled_reason": reason},
            network_id=endpoint.network_id,
            parties=[endpoint.organisation_id] if endpoint.organisation_id else [],
        )

    async def _send(self, claimed: Claimed, body: bytes) -> Outcome:
        try:
            target = await check_url(claimed.url, allow_insecure=self.allow_insecure, resolve=self.resolve)
        except UnsafeUrlError as exc:
            return Outcome(None, f"refused: {exc}", "", None)
        timestamp = int(time.time())
        mid = message_id(claimed)
        headers = {
            "content-type": "application/json",
            "user-agent": "symbiose-webhooks/1",
            "webhook-id": mid,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": signing.signature(claimed.secrets, mid, timestamp, body),
        }
        if target.host is not None:
            headers["host"] = target.host
        if target.sni_hostname is not None:
            # The pool keys connections by address: one verified for another name at this address
            # must not carry this request, so a pinned connection serves one request.
            headers["connection"] = "close"
        extensions = {} if target.sni_hostname is None else {"sni_hostname": target.sni_hostname}
        try:
            async with self.client.stream(
                "POST",
                target.url,
                content=body,
                headers=headers,
                follow_redirects=False,
                timeout=TIMEOUT_S,
                extensions=extensions,
            ) as response:
                start = await _read_start(response)
                code = response.status_code
                wait = None
                if code == 429 or code >= 500:
                    wait = retry_after(response.headers.get("retry-after"), datetime.now(UTC))
                return Outcome(code, None, start, wait)
        except httpx.HTTPError as exc:
            return Outcome(None, f"{type(exc).__name__}: {exc}"[:500], "", None)


async def _read_start(response: httpx.Response) -> str:
    """The first bytes of the body, never more than `RESPONSE_BYTES` read."""
    chunks = bytearray()
    async for chunk in response.aiter_raw():
        chunks += chunk
        if len(chunks) >= RESPONSE_BYTES:
            break
    return bytes(chunks[:RESPONSE_BYTES]).decode("utf-8", "replace")[:RESPONSE_START_CHARS]


def http_client() -> httpx.AsyncClient:
    limits = httpx.Limits(max_connections=CONNECTIONS, max_keepalive_connections=CONNECTIONS)
    return httpx.AsyncClient(follow_redirects=False, timeout=TIMEOUT_S, limits=limits)


@contextlib.asynccontextmanager
async def running(pool: Pool, *, allow_insecure: bool, idle_s: float = 1.0) -> AsyncIterator[Deliverer]:
    """A delivery worker in the background of this process until the block exits."""
    stop = asyncio.Event()
    async with http_client() as client:
        deliverer = Deliverer(pool, client, allow_insecure=allow_insecure)
        task = asyncio.create_task(deliverer.run(stop, idle_s))
        try:
            yield deliverer
        finally:
            stop.set()
            await task
