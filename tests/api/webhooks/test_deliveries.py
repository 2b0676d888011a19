"""Deliveries to a real receiver on loopback: signed per Standard Webhooks, retried, disabled."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest
from litestar.testing import AsyncTestClient

from api.db.pool import Pool
from api.observability import RequestContext
from api.webhooks import repository
from api.webhooks.worker import Deliverer
from tests.api.webhooks.conftest import Park, Receiver, ask, decoded, verify

Client = AsyncTestClient[RequestContext]
FAST = (0.0, 0.0, 0.0)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as client:
        yield client


def deliverer(pool: Pool, http: httpx.AsyncClient, **kwargs: Any) -> Deliverer:
    kwargs.setdefault("allow_insecure", True)
    kwargs.setdefault("schedule", FAST)
    return Deliverer(pool, http, **kwargs)


async def subscribe(client: Client, park: Park, url: str, **fields: Any) -> dict[str, Any]:
    response = await client.post(
        "/v1/webhook-endpoints", json={"url": url, **fields}, headers=park.as_giver()
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_a_delivery_is_signed_and_its_body_is_the_feed_event(
    client: Client, park: Park, receiver: Receiver, pool: Pool, http: httpx.AsyncClient
) -> None:
    endpoint = await subscribe(client, park, receiver.url, event_types=["transfer.*"])
    assert endpoint["secret"].startswith("whsec_")
    await ask(client, park, "10")
    await client.post(f"/v1/listings/{park.offer}/pause", headers=park.as_giver())
    assert await deliverer(pool, http).drain() == 1
    (got,) = receiver.received
    assert verify(endpoint["secret"], got.headers, got.body) == [True]
    assert got.headers["webhook-id"].startswith("msg_")
    assert abs(int(got.headers["webhook-timestamp"]) - time.time()) < 60
    feed = (await client.get("/v1/events", headers=park.as_giver())).json()["items"]
    assert decoded(got.body) == feed[0]
    assert feed[0]["type"] == "transfer.requested"
    assert verify(endpoint["secret"], got.headers, got.body + b" ") == [False]


async def test_a_500_is_retried_with_the_same_id_then_succeeds(
    client: Client, park: Park, receiver: Receiver, pool: Pool, http: httpx.AsyncClient
) -> None:
    endpoint = await subscribe(client, park, receiver.url)
    receiver.answers = [(500, {})]
    await ask(client, park, "10")
    assert await deliverer(pool, http).drain() == 2
    first, second = receiver.received
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.body == second.body
    log = await client.get(f"/v1/webhook-endpoints/{endpoint['id']}/attempts", headers=park.as_giver())
    assert [a["http_status"] for a in log.json()["items"]] == [200, 500]
    assert log.json()["items"][1]["response_start"] == "ok"


async def test_retry_after_is_honoured_on_429(
    client: Client,
    park: Park,
    receiver: Receiver,
    pool: Pool,
    http: httpx.AsyncClient,
    db: asyncpg.Connection,
) -> None:
    await subscribe(client, park, receiver.url)
    receiver.answers = [(429, {"Retry-After": "3600"})]
    await ask(client, park, "10")
    assert await deliverer(pool, http).drain() == 1
    wait = await db.fetchval("SELECT extract(epoch FROM next_attempt_at - now()) FROM webhook_deliveries")
    assert 3500 < wait <= 3600


async def test_a_redirect_is_a_failure_and_is_not_followed(
    client: Client,
    park: Park,
    receiver: Receiver,
    pool: Pool,
    http: httpx.AsyncClient,
    db: asyncpg.Connection,
) -> None:
    await subscribe(client, park, receiver.url)
    receiver.answers = [(302, {"Location": receiver.url + "/elsewhere"})]
    await ask(client, park, "10")
    await deliverer(pool, http, schedule=(3600.0,)).drain()
    assert [r.path for r in receiver.received] == ["/hook"]
    assert await db.fetchval("SELECT status FROM webhook_deliveries") == "pending"


async def test_410_disables_the_endpoint_and_tells_its_owner(
    client: Client, park: Park, receiver: Receiver, pool: Pool, http: httpx.AsyncClient
) -> None:
    endpoint = await subscribe(client, park, receiver.url)
    receiver.answers = [(410, {})]
    await ask(client, park, "10")
    await deliverer(pool, http).drain()
    got = (await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=park.as_giver())).json()
    assert got["enabled"] is False
    assert "410" in got["disabled_reason"]
    feed = (await client.get("/v1/events", params={"types": "endpoint.*"}, headers=park.as_giver())).json()
    assert [(e["type"], e["resource_id"]) for e in feed["items"]] == [("endpoint.disabled", endpoint["id"])]
    await ask(client, park, "5")
    assert await deliverer(pool, http).drain() == 0
    assert len(receiver.received) == 1


async def test_failing_for_five_days_disables_the_endpoint(
    client: Client,
    park: Park,
    receiver: Receiver,
    pool: Pool,
    http: httpx.AsyncClient,
    db: asyncpg.Connection,
) -> None:
    endpoint = await subscribe(client, park, receiver.url)
    await db.execute("UPDATE webhook_endpoints SET failing_since = now() - interval '4 days'")
    receiver.answers = [(500, {})]
    await ask(client, park, "10")
    await deliverer(pool, http, schedule=(3600.0,)).drain()
    assert await db.fetchval("SELECT enabled FROM webhook_endpoints") is True
    await db.execute("UPDATE webhook_endpoints SET failing_since = now() - interval '6 days'")
    await db.execute("UPDATE webhook_deliveries SET next_attempt_at = now()")
    receiver.answers = [(503, {})]
    await deliverer(pool, http, schedule=(3600.0, 3600.0)).drain()
    got = (await client.get(f"/v1/webhook-endpoints/{endpoint['id']}", headers=park.as_giver())).json()
    assert got["enabled"] is False
    assert "5 days" in got["disabled_reason"]


async def test_during_a_rotation_both_secrets_sign(
    client: Client, park: Park, receiver: Receiver, pool: Pool, http: httpx.AsyncClient
) -> None:
    endpoint = await subscribe(client, park, receiver.url)
    rotated = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret",
        json={"overlap_hours": 1},
        headers=park.as_giver(),
    )
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != endpoint["secret"]
    assert rotated.json()["rotation_ends_at"] is not None
    await ask(client, park, "10")
    await deliverer(pool, http).drain()
    (got,) = receiver.received
    assert verify(new, got.headers, got.body) == [True, False]
    assert verify(endpoint["secret"], got.headers, got.body) == [False, True]


async def test_without_an_overlap_only_the_new_secret_signs(
    client: Client, park: Park, receiver: Receiver, pool: Pool, http: httpx.AsyncClient
) -> None:
    endpoint = await subscribe(client, park, receiver.url)
    rotated = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/rotate-secret",
        json={"overlap_hours": 0},
        headers=park.as_giver(),
    )
    await ask(client, park, "10")
    await deliverer(pool, http).drain()
    (got,) = receiver.received
    assert verify(rotated.json()["secret"], got.headers, got.body) == [True]


async def test_a_private_address_is_refused_at_send_time(
    client: Client, park: Park, receiver: Receiver, pool: Pool, http: httpx.AsyncClient
) -> None:
    endpoint = await subscribe(client, park, receiver.url)
    await ask(client, park, "10")
    await deliverer(pool, http, allow_insecure=False, schedule=(3600.0,)).drain()
    assert receiver.received == []
    log = (
        await client.get(f"/v1/webhook-endpoints/{endpoint['id']}/attempts", headers=park.as_giver())
    ).json()
    assert log["items"][0]["http_status"] is None
    assert "refused" in log["items"][0]["error"]


async def test_two_workers_at_once_never_send_the_same_attempt(
    client: Client,
    park: Park,
    receiver: Receiver,
    pool: Pool,
    http: httpx.AsyncClient,
    db: asyncpg.Connection,
) -> None:
    await subscribe(client, park, receiver.url)
    await db.execute(
        """INSERT INTO membership_events (membership_id, action, from_status, to_status)
           SELECT m.id, 'suspend', 'active', 'suspended' FROM memberships m, generate_series(1, 20)
           WHERE m.organisation_id = $1""",
        park.giver,
    )
    receiver.delay_s = 0.02
    one, two = deliverer(pool, http, claim_batch=2), deliverer(pool, http, claim_batch=2)
    await one.prepare()
    stop = asyncio.Event()
    workers = [asyncio.create_task(w.run(stop, idle_s=0.01)) for w in (one, two)]
    for _ in range(500):
        if len(receiver.received) >= 20:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.2)  # time for a duplicate to arrive, were there one
    stop.set()
    await asyncio.gather(*workers)
    ids = [r.headers["webhook-id"] for r in receiver.received]
    assert len(ids) == 20
    assert len(set(ids)) == 20
    assert one.sent > 0
    assert two.sent > 0


async def test_a_claim_left_by_a_killed_worker_is_sent_once_it_runs_out(
    client: Client, park: Park, receiver: Receiver, pool: Pool, http: httpx.AsyncClient
) -> None:
    await subscribe(client, park, receiver.url)
    await ask(client, park, "10")
    worker = deliverer(pool, http, lease_s=0.5)
    await worker.prepare()
    async with pool.acquire() as conn:
        (taken,) = await repository.claim(conn, 10, 0.5)  # the worker dies before sending
    assert await deliverer(pool, http).run_once() == 0
    await asyncio.sleep(0.6)
    assert await deliverer(pool, http).drain() == 1
    assert receiver.received[0].headers["webhook-id"] == "msg_" + taken.delivery_id.hex


async def test_resend_one_and_resend_since(
    client: Client, park: Park, receiver: Receiver, pool: Pool, http: httpx.AsyncClient
) -> None:
    endpoint = await subscribe(client, park, receiver.url)
    await ask(client, park, "10")
    await ask(client, park, "5")
    await deliverer(pool, http).drain()
    assert len(receiver.received) == 2
    log = (
        await client.get(f"/v1/webhook-endpoints/{endpoint['id']}/attempts", headers=park.as_giver())
    ).json()
    delivery = log["items"][0]["delivery_id"]
    one = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/deliveries/{delivery}/resend", headers=park.as_giver()
    )
    assert (one.status_code, one.json()) == (202, {"deliveries": 1})
    await deliverer(pool, http).drain()
    assert receiver.received[2].headers["webhook-id"] == "msg_" + delivery.replace("-", "")
    since = await client.post(
        f"/v1/webhook-endpoints/{endpoint['id']}/resend",
        json={"since": "2020-01-01T00:00:00Z"},
        headers=park.as_giver(),
    )
    assert since.json() == {"deliveries": 2}
    await deliverer(pool, http).drain()
    assert len(receiver.received) == 5
