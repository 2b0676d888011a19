"""CPU per computed search in process, without HTTP: what the backend itself costs the worker.

    uv run python bench/search_cpu.py                 # on the database wrk_bench.py left in var/bench
    uv run python bench/search_cpu.py --seed 7 --count 1000

Serves nothing: the PostgreSQL backend (in-memory index, result cache on) answers searches of
bench/queries.py (never repeated) from `--concurrency` tasks, and the process's CPU time is divided
by the searches (PostgreSQL's own CPU is not in it). Run it from another checkout on the same
database to compare
(`cd /work/main && uv run python bench/search_cpu.py --data-dir <this>/var/bench`).
The first searches of each mix warm the index's caches and are not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlparse

from api.db.embedded import start_embedded_server, with_database
from api.db.pool import create_pool
from api.search.service import request_from
from bench import dataset
from bench.queries import Generator
from search.postgres import PostgresBackend
from search.query import SearchQuery, Viewer, to_query

ROOT = Path(__file__).resolve().parent.parent
LISTS = frozenset(
    ("facets", "direction", "nature", "category", "network", "zone", "organisation", "condition")
)
NUMBERS = {"page": int, "hits_per_page": int, "radius_km": float}


def query_of(path: str) -> SearchQuery:
    values: dict[str, Any] = {}
    for name, value in parse_qsl(urlparse(path).query):
        if name in LISTS or name == "price":
            values.setdefault(name, []).append(value)
        else:
            values[name] = NUMBERS[name](value) if name in NUMBERS else value
    return to_query(request_from(values))


async def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "bench")
    parser.add_argument("--seed", type=int, default=5)
    parser.add_argument("--count", type=int, default=500, help="measured searches per mix")
    parser.add_argument("--warmup", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    server = start_embedded_server(args.data_dir)
    pool = await create_pool(with_database(server.admin_dsn, dataset.DATABASE), min_size=4, max_size=4)
    backend = PostgresBackend(pool, cache_entries=500, index=True)
    await backend.refresh()
    for mix in ("text", "browse"):
        queries = [query_of(p) for p in Generator(args.seed).paths(mix, args.warmup + args.count)]
        for query in queries[: args.warmup]:
            await backend.search(query, Viewer())
        measured = queries[args.warmup :]
        cpu, wall = time.process_time(), time.perf_counter()

        async def run(share: list[SearchQuery]) -> None:
            for query in share:
                await backend.search(query, Viewer())

        await asyncio.gather(*(run(measured[i :: args.concurrency]) for i in range(args.concurrency)))
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        print(
            f"{mix}: {cpu / len(measured) * 1e6:.0f} us of CPU per search,"
            f" {wall / len(measured) * 1e6:.0f} us of wall time, {len(measured)} searches"
        )
    await backend.close()
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
