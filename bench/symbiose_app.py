"""The Symbiose application as served, for uvicorn: `--factory bench.symbiose_app:create_app`.

Reads BENCH_DATABASE_URL, BENCH_POOL_SIZE, BENCH_SEARCH_CACHE_ENTRIES and BENCH_DATA_DIR (where
the local issuer's key lives, so tokens minted by the benchmark verify). Logs at WARNING (no access
lines) and lifts the rate limits out of the way; everything else is the production
request path.
"""

from __future__ import annotations

import os

from api.app import create_asgi
from api.observability import FreezeAfterStartup
from api.settings import Settings


def settings() -> Settings:
    size = int(os.environ.get("BENCH_POOL_SIZE", "10"))
    return Settings(
        database_url=os.environ.get("BENCH_DATABASE_URL"),
        database_pool_min_size=size,
        database_pool_max_size=size,
        symbiose_data_dir=os.environ.get("BENCH_DATA_DIR", "var/bench"),
        log_level=os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
        rate_limit_anonymous_per_minute=1_000_000_000,
        rate_limit_authenticated_per_minute=1_000_000_000,
        search_cache_entries=int(os.environ.get("BENCH_SEARCH_CACHE_ENTRIES", "500")),
    )


def create_app() -> FreezeAfterStartup:
    return FreezeAfterStartup(create_asgi(settings()))
