"""Prometheus metrics at `/metrics` (see the README for what each one means).

Request counts and durations are counted by `RequestMetrics`, labelled by route template
(`/v1/listings/{listing_id}`), never the raw path, under the names of Litestar's Prometheus
plugin. The rest is read when Prometheus scrapes: the
pool's connections, the search cache's counters, the outbox position and the search indexer's lag
(`MetricsController` queries them before rendering), and the sweeps' runs, counted as they happen.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from litestar import Response, get
from litestar.datastructures import State
from litestar.enums import ScopeType
from litestar.middleware._internal.exceptions.middleware import ExceptionHandlerMiddleware
from litestar.plugins.prometheus import PrometheusController
from litestar.types import ASGIApp, Message, Receive, Scope, Send
from prometheus_client import REGISTRY, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

if TYPE_CHECKING:
    from api.db.pool import Pool
    from search.backend import SearchBackend

PREFIX = "symbiose"
SCRAPE_TIMEOUT_S = 2.0
logger = logging.getLogger(__name__)

POOL_WAITING = Gauge(
    f"{PREFIX}_db_pool_waiting",
    "Requests waiting for a pooled PostgreSQL connection",
    multiprocess_mode="livesum",
)
SWEEP_RUNS = Counter(f"{PREFIX}_sweep_runs", "Runs of the in-process sweeps", ["job", "outcome"])
SWEEP_DURATION = Histogram(f"{PREFIX}_sweep_duration_seconds", "Duration of one sweep run", ["job"])


_ROUTE_LABELS = ["method", "path", "status_code", "app_name"]
REQUESTS = Counter(f"{PREFIX}_requests_total", "Total requests", _ROUTE_LABELS)
REQUEST_ERRORS = Counter(f"{PREFIX}_requests_error_total", "Total errors in requests", _ROUTE_LABELS)
REQUEST_DURATION = Histogram(
    f"{PREFIX}_request_duration_seconds",
    "Request duration, in seconds",
    _ROUTE_LABELS,
    buckets=[0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
)
REQUESTS_IN_PROGRESS = Gauge(
    f"{PREFIX}_requests_in_progress",
    "Total requests currently in progress",
    _ROUTE_LABELS,
    multiprocess_mode="livesum",
)
UNCOUNTED_PATHS = ("/metrics",)


class _RouteSeries:
    """The series of one method and route template, bound once: looking a labelled child up
    (label values joined, a lock taken) cost more than updating it."""

    __slots__ = ("in_progress", "labels", "statuses")

    def __init__(self, method: str, template: str) -> None:
        # Litestar's plugin labelled requests in progress with status 200; kept for the dashboards.
        self.labels = (method, template)
        self.in_progress = REQUESTS_IN_PROGRESS.labels(method, template, "200", PREFIX)
        self.statuses: dict[int, tuple[Counter, Histogram, Counter | None]] = {}

    def of(self, status: int) -> tuple[Counter, Histogram, Counter | None]:
        series = self.statuses.get(status)
        if series is None:
            values = (*self.labels, str(status), PREFIX)
            errors = REQUEST_ERRORS.labels(*values) if status >= 500 else None
            series = (REQUESTS.labels(*values), REQUEST_DURATION.labels(*values), errors)
            self.statuses[status] = series
        return series


_routes: dict[tuple[str, str], _RouteSeries] = {}


class RequestMetrics:
    """Counts and times every request of a route (Litestar builds one per route, around `app`), by
    method, route template (`/v1/listings/{listing_id}`, never the raw path) and status. The
    names and labels are those of Litestar's Prometheus plugin. The answers raised by the
    middleware after it (401 for a refused token, 429, 431, 503 for a timeout) are made here
    (`ExceptionHandlerMiddleware`), so they are counted with their own status: Litestar would turn
    them into answers only once past every middleware."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = ExceptionHandlerMiddleware(app, debug=None)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"].startswith(UNCOUNTED_PATHS):
            await self.app(scope, receive, send)
            return
        key = (scope["method"], scope["path_template"])
        route = _routes.get(key)
        if route is None:
            route = _routes[key] = _RouteSeries(*key)
        started = time.perf_counter()
        status, duration = 200, 0.0

        async def timed(message: Message) -> None:
            nonlocal status, duration
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body":
                duration = time.perf_counter() - started
            await send(message)

        route.in_progress.inc()
        try:
            await self.app(scope, receive, timed)
        finally:
            route.in_progress.dec()
            count, durations, errors = route.of(status)
            if errors is not None:
                errors.inc()
            count.inc()
            durations.observe(duration)


class _Snapshot:
    """What the collector reports for the application serving in this process."""

    def __init__(self) -> None:
        self.pool: Pool | None = None
        self.search: SearchBackend | None = None
        self.outbox_last_id: int | None = None
        self.indexer_lag: int | None = None


_current = _Snapshot()


def watch(pool: Pool, search: SearchBackend) -> None:
    """Report on this application's pool and search backend (called once they are up)."""
    _current.pool, _current.search = pool, search
    _current.outbox_last_id = _current.indexer_lag = None


def unwatch() -> None:
    watch_none = _Snapshot()
    _current.__dict__.update(watch_none.__dict__)


async def refresh(state: State) -> None:
    """Read what only PostgreSQL or the search backend knows; a failure leaves the value out."""
    pool, search = _current.pool, _current.search
    if pool is None or search is None:
        return
    try:
        async with asyncio.timeout(SCRAPE_TIMEOUT_S), pool.acquire() as conn:
            _current.outbox_last_id = await conn.fetchval("SELECT coalesce(max(id), 0) FROM outbox")
    except Exception as exc:  # a scrape must not fail because PostgreSQL is down
        logger.warning("metrics: outbox position unavailable: %s", type(exc).__name__)
        _current.outbox_last_id = None
    try:
        async with asyncio.timeout(SCRAPE_TIMEOUT_S):
            _current.indexer_lag = (await search.health()).lag
    except Exception as exc:
        logger.warning("metrics: search lag unavailable: %s", type(exc).__name__)
        _current.indexer_lag = None


class _AppCollector(Collector):
    def collect(self) -> Iterable[Metric]:
        pool = _current.pool
        if pool is not None:
            connections = GaugeMetricFamily(
                f"{PREFIX}_db_pool_connections", "PostgreSQL connections the pool holds", labels=["state"]
            )
            idle = pool.get_idle_size()
            connections.add_metric(["in_use"], pool.get_size() - idle)
            connections.add_metric(["idle"], idle)
            yield connections
            yield GaugeMetricFamily(
                f"{PREFIX}_db_pool_max_connections",
                "Most connections the pool opens",
                value=pool.get_max_size(),
            )
        cache = getattr(_current.search, "cache", None)
        if cache is not None:
            stats = cache.stats
            for name, value, help_text in (
                ("hits", stats.hits, "Searches served from the result cache as stored"),
                (
                    "revalidated",
                    stats.revalidated,
                    "Searches served from the cache once PostgreSQL confirmed it",
                ),
                ("misses", stats.misses, "Searches computed"),
            ):
                yield CounterMetricFamily(f"{PREFIX}_search_cache_{name}", help_text, value=value)
            yield GaugeMetricFamily(
                f"{PREFIX}_search_cache_entries", "Results the cache holds", value=len(cache)
            )
        if _current.outbox_last_id is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_outbox_last_id", "Id of the newest outbox row", value=_current.outbox_last_id
            )
        if _current.indexer_lag is not None:
            yield GaugeMetricFamily(
                f"{PREFIX}_search_indexer_lag_rows",
                "Outbox rows the search backend does not show yet",
                value=_current.indexer_lag,
            )


REGISTRY.register(_AppCollector())


@contextmanager
def sweep_run(job: str) -> Iterator[None]:
    """Count one run of `job` (ok or error) and time it."""
    with SWEEP_DURATION.labels(job).time():
        try:
            yield
        except Exception:
            SWEEP_RUNS.labels(job, "error").inc()
            raise
        SWEEP_RUNS.labels(job, "ok").inc()


class MetricsController(PrometheusController):
    """The Prometheus text format; values PostgreSQL holds are read at each scrape."""

    path = "/metrics"

    @get(include_in_schema=False)
    async def get(self, state: State) -> Response[Any]:
        await refresh(state)
        response: Response[Any] = await super().get.fn(self)
        return response
