from __future__ import annotations

import asyncio
import re
import uuid

import asyncpg
from litestar.testing import AsyncTestClient
from prometheus_client.parser import text_string_to_metric_families

from api.db.periodic import periodic
from api.observability import RequestContext

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def _scrape(client: AsyncTestClient[RequestContext]) -> Samples:
    response = await client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def _value(samples: Samples, name: str, **labels: str) -> float:
    wanted = set(labels.items())
    return sum(v for (n, ls), v in samples.items() if n == name and wanted <= ls)


def _paths(samples: Samples, name: str) -> set[str]:
    return {dict(ls)["path"] for (n, ls) in samples if n == name}


async def test_requests_are_counted_by_route_template_and_status(
    client: AsyncTestClient[RequestContext],
) -> None:
    before = await _scrape(client)
    for _ in range(2):
        assert (await client.get(f"/v1/networks/{uuid.uuid4()}")).status_code == 404
    assert (await client.get("/v1/me", headers={"authorization": "Bearer garbage"})).status_code == 401
    after = await _scrape(client)
    template = "/v1/networks/{network_id}"
    count = "symbiose_requests_total"
    assert (
        _value(after, count, path=template, status_code="404")
        - _value(before, count, path=template, status_code="404")
        == 2
    )
    # An answer raised by a middleware (here the refused token) is counted with its own status.
    assert (
        _value(after, count, path="/v1/me", status_code="401")
        - _value(before, count, path="/v1/me", status_code="401")
        == 1
    )
    # No raw path, with its ids, becomes a label.
    assert not [p for p in _paths(after, count) if re.search(r"[0-9a-f]{8}-[0-9a-f]{4}", p)]
    durations = _value(after, "symbiose_request_duration_seconds_count", path=template, status_code="404")
    assert durations >= 2


async def test_pool_and_search_cache_are_reported(client: AsyncTestClient[RequestContext]) -> None:
    for _ in range(3):
        assert (await client.get("/v1/search/listings", params={"q": "palettes"})).status_code == 200
    samples = await _scrape(client)
    assert _value(samples, "symbiose_search_cache_misses_total") == 1
    assert _value(samples, "symbiose_search_cache_hits_total") == 2
    assert _value(samples, "symbiose_search_cache_entries") == 1
    assert _value(samples, "symbiose_db_pool_max_connections") == 8
    in_use = _value(samples, "symbiose_db_pool_connections", state="in_use")
    idle = _value(samples, "symbiose_db_pool_connections", state="idle")
    assert in_use >= 0
    assert idle >= 1
    assert ("symbiose_db_pool_waiting", frozenset()) in samples


async def test_outbox_position_and_indexer_lag_are_reported(
    client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    before = _value(await _scrape(client), "symbiose_outbox_last_id")
    await db.execute(
        "INSERT INTO outbox (topic, aggregate_id, payload) VALUES ('listing.changed', $1, '{}')", uuid.uuid4()
    )
    samples = await _scrape(client)
    assert _value(samples, "symbiose_outbox_last_id") == before + 1
    assert ("symbiose_search_indexer_lag_rows", frozenset()) in samples  # PostgreSQL search: always 0
    assert _value(samples, "symbiose_search_indexer_lag_rows") == 0


async def test_sweep_runs_are_counted_by_job_and_outcome(client: AsyncTestClient[RequestContext]) -> None:
    before = await _scrape(client)
    runs = 0
    three_runs = asyncio.Event()

    async def failing() -> None:
        nonlocal runs
        runs += 1
        if runs == 3:
            three_runs.set()
        raise RuntimeError("boom")

    async with periodic(0.01, failing, "test_job"):
        await asyncio.wait_for(three_runs.wait(), timeout=5)
    after = await _scrape(client)
    errors = _value(after, "symbiose_sweep_runs_total", job="test_job", outcome="error")
    assert errors - _value(before, "symbiose_sweep_runs_total", job="test_job", outcome="error") >= 3
    assert _value(after, "symbiose_sweep_duration_seconds_count", job="test_job") >= 3
