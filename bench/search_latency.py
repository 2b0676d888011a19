"""Search latency: `GET /v1/search/listings` on the PostgreSQL backend, 100 000 listings.

Targets (issue 5): with 16 concurrent clients and one API worker, a mix of text queries that each
match 0.5 % to 30 % of the listings, five facets requested: p50 under 30 ms, p99 under 100 ms.
The same figures are printed for a search with no text (facets only), each with the result cache
(and with a listing written every second, or every ten for the long tail) and without it.

    uv run python bench/search_latency.py              # about 4 minutes on 2 cores
    uv run python bench/search_latency.py --help

Uses DATABASE_URL if set (the role needs CREATEDB), else the embedded PostgreSQL under var/bench.
Reloads the database `symbiose_bench` (bench/dataset.py) unless `--reuse`; the server runs under
uvicorn in a subprocess (1 worker, uvloop, httptools); the load generator runs in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import random
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench`, `api` and `search` importable
    sys.path.insert(0, str(ROOT))

FACETS = ["category", "direction", "nature", "condition", "price"]
# Each matches between 0.5 % and 30 % of the bench listings (printed at start to prove it):
# accents, stems, a typo, a prefix, one and two words.
TEXTS = [
    "palettes europe",
    "ecrans",
    "beton concasse",
    "chaleur",
    "stockage",
    "ferrraille",
    "chene",
    "imprimantes laser",
    "repreneur",
    "carton ondu",
    "ordinateurs",
    "inox",
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--organisations", type=int, default=500)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--warmup", type=float, default=3.0)
    parser.add_argument("--duration", type=float, default=20.0)
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--client-addresses", type=int, default=10_000)
    parser.add_argument(
        "--writes-per-second", type=float, default=1.0, help="listing updates during the runs with writes"
    )
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database of a previous run")
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of one query"
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "bench")
    return parser.parse_args(argv)


def path(q: str, *extra: tuple[str, str]) -> str:
    params: list[tuple[str, str]] = [("q", q)] if q else []
    params += [("facets", f) for f in FACETS]
    return "/v1/search/listings?" + urlencode([*params, *extra])


def long_tail() -> list[str]:
    """Each text on its first two pages, unfiltered and filtered on each direction: 72 searches
    that each miss the cache once after every write."""
    filters: list[tuple[tuple[str, str], ...]] = [(), (("direction", "offer"),), (("direction", "need"),)]
    return [path(text, *where, ("page", str(page))) for text in TEXTS for where in filters for page in (1, 2)]


async def shares(dsn: str) -> list[tuple[str, int]]:
    """How many of all listings each text matches (exact: the API's total stops at its bound)."""
    import asyncpg

    from search.postgres import repository
    from search.postgres.text import query_words

    conn = await asyncpg.connect(dsn)
    try:
        tsquery = repository.TSQUERY.format(words="$1")
        sql = f"SELECT count(*) FROM listings WHERE search_document @@ ({tsquery})"
        return [(text, await conn.fetchval(sql, query_words(text))) for text in TEXTS]
    finally:
        await conn.close()


async def explain(dsn: str, text: str) -> None:
    import asyncpg

    from search.postgres import repository
    from search.postgres.text import query_words
    from search.query import SearchQuery, Viewer

    query = SearchQuery(text=text, facets=tuple(FACETS))  # type: ignore[arg-type]
    sql, values = repository._summary_sql(query, Viewer(), query_words(text))
    conn = await asyncpg.connect(dsn)
    try:
        rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *values)
    finally:
        await conn.close()
    print(f"\nEXPLAIN (ANALYZE, BUFFERS), anonymous, q={text!r}, five facets:")
    print("\n".join(r[0] for r in rows))


async def main(args: argparse.Namespace) -> int:
    from api.auth.tokens import LocalIssuer
    from bench import dataset
    from bench.listing_read import Server
    from bench.symbiose_app import settings as symbiose_settings

    embedded = None
    admin_dsn = os.environ.get("DATABASE_URL")
    if not admin_dsn:
        from api.db.embedded import start_embedded_server

        embedded = start_embedded_server(args.data_dir)
        admin_dsn = embedded.admin_dsn
    try:
        env = {"BENCH_POOL_SIZE": str(args.pool_size), "BENCH_DATA_DIR": str(args.data_dir)}
        os.environ.update(env)
        settings = symbiose_settings()
        from api.db.embedded import with_database

        dsn = with_database(admin_dsn, dataset.DATABASE)
        if not args.reuse:
            issuer = LocalIssuer.from_settings(settings)
            print(f"loading {args.listings} listings ...", flush=True)
            data = await dataset.build(
                admin_dsn, issuer, listings=args.listings, organisations=args.organisations
            )
            print(f"  loaded in {data.load_seconds:.1f} s", flush=True)
        env["BENCH_DATABASE_URL"] = dsn
        counted = await shares(dsn)
        print(
            f"match share of each text (anonymous callers see the public half of {args.listings} listings):"
        )
        for text, hits in counted:
            print(f"  {text!r:22} {hits:6d} hits  {hits / args.listings * 100:5.1f} % of all listings")
        if args.explain:
            await explain(dsn, TEXTS[0])
        rows: list[Row] = []
        scenarios = [
            Scenario("text mix", [path(t) for t in TEXTS], cache=True),
            Scenario("text mix", [path(t) for t in TEXTS], cache=True, writes_per_s=args.writes_per_second),
            Scenario("long tail", long_tail(), cache=True, writes_per_s=args.writes_per_second),
            Scenario("long tail", long_tail(), cache=True, writes_per_s=args.writes_per_second / 10),
            Scenario("facets only", [path("")], cache=True),
            Scenario("facets only", [path("")], cache=True, writes_per_s=args.writes_per_second),
            Scenario("text mix", [path(t) for t in TEXTS], cache=False),
            Scenario("facets only", [path("")], cache=False),
        ]
        for cache in (True, False):
            server_env = {**env, "BENCH_SEARCH_CACHE_ENTRIES": "500" if cache else "0"}
            async with Server("bench.symbiose_app:create_app", server_env) as server:
                await server.wait_ready("/health/ready")
                for scenario in (s for s in scenarios if s.cache == cache):
                    rows.append(await measure(server.port, dsn, scenario, args))
    finally:
        if embedded is not None:
            embedded.stop()
    print(
        f"\nGET /v1/search/listings, anonymous, five facets ({', '.join(FACETS)}), {args.listings} listings, "
        f"{args.concurrency} clients, 1 uvicorn worker, pool {args.pool_size}, {os.cpu_count()} CPUs, "
        f"{args.warmup:g} s warm-up + {args.duration:g} s measured; target p50 < 30 ms, p99 < 100 ms"
    )
    for row in rows:
        result = row.result
        p50, p99 = result.percentile_ms(50), result.percentile_ms(99)
        verdict = "PASS" if p50 < 30 and p99 < 100 else "FAIL"
        print(
            f"  {row.scenario.label:34} p50 {p50:6.1f} ms  p99 {p99:6.1f} ms  {result.rps:6.0f} req/s"
            f"  {row.cache_line:46} {verdict}"
        )
    return 0 if all(r.result.errors == 0 for r in rows) else 1


@dataclass(frozen=True)
class Scenario:
    name: str
    paths: list[str]
    cache: bool
    writes_per_s: float = 0.0

    @property
    def label(self) -> str:
        cache = "cache" if self.cache else "no cache"
        writes = f", {self.writes_per_s:g} write/s" if self.writes_per_s else ""
        return f"{self.name} ({cache}{writes})"


@dataclass(frozen=True)
class Row:
    scenario: Scenario
    result: Any
    hits: int
    revalidated: int
    misses: int

    @property
    def cache_line(self) -> str:
        if not self.scenario.cache:
            return "every search computed"
        searches = self.hits + self.revalidated + self.misses
        if not searches:
            return ""
        served, checked = (self.hits + self.revalidated) / searches, self.revalidated / searches
        return f"{served * 100:5.1f} % from the cache ({checked * 100:4.1f} % after a check)"


_CACHE_STATS = re.compile(rb"(\d+) hits, (\d+) revalidated, (\d+) misses")


async def cache_stats(port: int) -> tuple[int, int, int]:
    """The result cache's counters, as readiness reports them (zeros without a cache)."""
    from bench.listing_read import get

    _, body = await get(port, "/health/ready")
    found = _CACHE_STATS.search(body)
    return (int(found[1]), int(found[2]), int(found[3])) if found else (0, 0, 0)


async def write_listings(dsn: str, per_second: float, stop: asyncio.Event) -> None:
    """A member adjusting a stock now and then: each commit moves the search generation."""
    import asyncpg

    conn = await asyncpg.connect(dsn)
    try:
        ids = await conn.fetch(
            "SELECT id FROM listings WHERE status = 'published' AND available_quantity IS NOT NULL LIMIT 1000"
        )
        rng = random.Random(11)
        while not stop.is_set():
            await conn.execute(
                "UPDATE listings SET available_quantity = available_quantity WHERE id = $1",
                rng.choice(ids)["id"],
            )
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 1 / per_second)
    finally:
        await conn.close()


async def measure(port: int, dsn: str, scenario: Scenario, args: argparse.Namespace) -> Row:
    from bench import loadgen
    from bench.listing_read import get

    status, body = await get(port, scenario.paths[0])
    if status != 200:
        raise SystemExit(f"search failed: {status} {body[:300]!r}")
    stop = asyncio.Event()
    writer = (
        asyncio.create_task(write_listings(dsn, scenario.writes_per_s, stop))
        if scenario.writes_per_s
        else None
    )
    try:

        async def load(duration_s: float) -> Any:
            return await loadgen.run(
                scenario.label,
                "127.0.0.1",
                port,
                "{id}",
                scenario.paths,
                concurrency=args.concurrency,
                warmup_s=0,
                duration_s=duration_s,
                client_addresses=args.client_addresses,
                expected=[b'"facet_distribution"'] * len(scenario.paths),
            )

        await load(args.warmup)  # not counted: the cache's counters are read after it
        before = await cache_stats(port)
        result = await load(args.duration)
        after = await cache_stats(port)
    finally:
        stop.set()
        if writer is not None:
            await writer
    row = Row(scenario, result, *(a - b for a, b in zip(after, before, strict=True)))
    print(
        f"  {scenario.label:34} {result.rps:7.0f} req/s  p50 {result.percentile_ms(50):6.1f} ms  "
        f"p99 {result.percentile_ms(99):6.1f} ms  errors {result.errors}  {row.cache_line}",
        flush=True,
    )
    for sample in result.error_samples:
        print(f"    error sample: {sample}")
    return row


def run() -> None:
    args = parse_args()
    try:
        import uvloop
    except ImportError:
        sys.exit(asyncio.run(main(args)))
    sys.exit(uvloop.run(main(args)))


if __name__ == "__main__":
    run()
