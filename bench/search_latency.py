"""Search latency: `GET /v1/search/listings` on the PostgreSQL backend, 100 000 listings.

Targets (issue 5): with 16 concurrent clients and one API worker, a mix of text queries that each
match 0.5 % to 30 % of the listings, five facets requested: p50 under 30 ms, p99 under 100 ms.
The same figures are printed for a search with no text (facets only).

    uv run python bench/search_latency.py              # about 3 minutes on 2 cores
    uv run python bench/search_latency.py --help

Uses DATABASE_URL if set (the role needs CREATEDB), else the embedded PostgreSQL under var/bench.
Reloads the database `symbiose_bench` (bench/dataset.py) unless `--reuse`; the server runs under
uvicorn in a subprocess (1 worker, uvloop, httptools); the load generator runs in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path
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
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database of a previous run")
    parser.add_argument(
        "--explain", action="store_true", help="print EXPLAIN (ANALYZE, BUFFERS) of one query"
    )
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "bench")
    return parser.parse_args(argv)


def path(q: str) -> str:
    params: list[tuple[str, str]] = [("q", q)] if q else []
    params += [("facets", f) for f in FACETS]
    return "/v1/search/listings?" + urlencode(params)


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
    from bench import dataset, loadgen
    from bench.listing_read import Server, get
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
            issuer = LocalIssuer(settings.public_url, settings.oidc_audience, settings.key_dir)
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
        rows = []
        async with Server("bench.symbiose_app:create_app", env) as server:
            await server.wait_ready("/health/ready")
            for label, paths in (("text mix", [path(t) for t in TEXTS]), ("facets only", [path("")])):
                status, body = await get(server.port, paths[0])
                if status != 200:
                    raise SystemExit(f"search failed: {status} {body[:300]!r}")
                result = await loadgen.run(
                    label,
                    "127.0.0.1",
                    server.port,
                    "{id}",
                    paths,
                    concurrency=args.concurrency,
                    warmup_s=args.warmup,
                    duration_s=args.duration,
                    client_addresses=args.client_addresses,
                    expected=[b'"facet_distribution"'] * len(paths),
                )
                rows.append(result)
                print(
                    f"  {label:12} {result.rps:7.0f} req/s  p50 {result.percentile_ms(50):6.1f} ms  "
                    f"p99 {result.percentile_ms(99):6.1f} ms  errors {result.errors}",
                    flush=True,
                )
                for sample in result.error_samples:
                    print(f"    error sample: {sample}")
    finally:
        if embedded is not None:
            embedded.stop()
    print(
        f"\nGET /v1/search/listings, anonymous, five facets ({', '.join(FACETS)}), {args.listings} listings, "
        f"{args.concurrency} clients, 1 uvicorn worker, pool {args.pool_size}, {os.cpu_count()} CPUs, "
        f"{args.warmup:g} s warm-up + {args.duration:g} s measured"
    )
    ok = True
    for result in rows:
        p50, p99 = result.percentile_ms(50), result.percentile_ms(99)
        verdict = "PASS" if p50 < 30 and p99 < 100 else "FAIL"
        ok = ok and (verdict == "PASS" or result.name != "text mix")
        print(
            f"  {result.name:12} p50 {p50:6.1f} ms (< 30)  p99 {p99:6.1f} ms (< 100)  "
            f"{result.rps:6.0f} req/s  {verdict}"
        )
    return 0 if ok and all(r.errors == 0 for r in rows) else 1


def run() -> None:
    args = parse_args()
    try:
        import uvloop
    except ImportError:
        sys.exit(asyncio.run(main(args)))
    sys.exit(uvloop.run(main(args)))


if __name__ == "__main__":
    run()
