"""Synergy detection and listing matches at the sizes of issue 15.

    uv run python bench/synergy_detect.py                  # both parts
    uv run python bench/synergy_detect.py --only detect    # (a) only
    uv run python bench/synergy_detect.py --only matches --reuse --explain
    uv run python bench/synergy_detect.py --help

(a) detect: `detect` on a network of 150 organisations, 2 000 flows and 5 000 listings, called in
process on one connection (the route adds nothing but the operator check); the first run (proposing),
a re-run (nothing new) and the SQL candidates with their scoring, then those phases apart (the
substitution statement, scoring its rows, pooling). Target: under 5 s.

(b) matches: `GET /v1/listings/{id}/matches` with 100 000 listings through real HTTP: one uvicorn
worker (bench/symbiose_app.py, the production request path), wrk with bench/wrk_matches.lua, which
carries the bearer token and `X-Organisation-ID` (an active member of the network, so every listing
is visible); each request names a different listing (all the listings, shuffled; warm-up lines drawn
apart from the measured ones), so no answer is computed twice. Target: p50 under 50 ms.
`--explain` prints EXPLAIN (ANALYZE, BUFFERS) of the candidates statement for a pallet need, the
largest category family (the worst case of the dataset: every listing is within 20 km).

Uses DATABASE_URL if set (the role needs CREATEDB), else the embedded PostgreSQL under var/bench;
each part rebuilds the database `symbiose_bench` (bench/dataset.py) unless `--reuse`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import re
import shutil
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` and `api` importable
    sys.path.insert(0, str(ROOT))

DESTINATIONS = ["landfill", "incineration", "recycling", "reuse", "other"]
LUA = ROOT / "bench" / "wrk_matches.lua"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--only", choices=["detect", "matches"], default=None)
    parser.add_argument("--organisations", type=int, default=150, help="(a) organisations")
    parser.add_argument("--listings", type=int, default=5_000, help="(a) listings")
    parser.add_argument("--flows", type=int, default=2_000, help="(a) flows")
    parser.add_argument("--match-listings", type=int, default=100_000, help="(b) listings")
    parser.add_argument("--match-organisations", type=int, default=500, help="(b) organisations")
    parser.add_argument("--connections", default="1,4", help="(b) wrk connections, a row each (default 1,4)")
    parser.add_argument("--threads", type=int, default=2, help="(b) wrk threads")
    parser.add_argument("--seconds", type=float, default=20.0, help="(b) measured seconds")
    parser.add_argument("--warmup", type=float, default=3.0, help="(b) warm-up seconds")
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--reuse", action="store_true", help="keep the database of a previous run")
    parser.add_argument("--explain", action="store_true", help="(b) EXPLAIN ANALYZE the candidates")
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "bench")
    return parser.parse_args(argv)


def _load() -> str:
    """The machine's 1-minute load average: other work competes for the same cores."""
    return f"{os.getloadavg()[0]:.1f}"


async def add_flows(dsn: str, count: int, rng: random.Random) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        members = await conn.fetch(
            """SELECT m.network_id, m.organisation_id, coalesce(o.latitude, 45.7) AS lat,
                      coalesce(o.longitude, 4.85) AS lon
               FROM memberships m JOIN organisations o ON o.id = m.organisation_id"""
        )
        categories = await conn.fetch(
            "SELECT id, default_unit, nature FROM categories WHERE parent_id IS NOT NULL"
        )
        records = []
        for _ in range(count):
            member = rng.choice(members)
            category = rng.choice(categories)
            direction = rng.choice(["input", "output"])
            months = sorted(rng.sample(range(1, 13), rng.randint(1, 12))) if rng.random() < 0.3 else []
            records.append(
                (
                    member["network_id"],
                    member["organisation_id"],
                    direction,
                    category["id"],
                    Decimal(rng.randint(1, 2000)),
                    category["default_unit"],
                    rng.choice(["month", "year"]),
                    member["lat"] + rng.uniform(-0.05, 0.05),
                    member["lon"] + rng.uniform(-0.05, 0.05),
                    months,
                    rng.choice(DESTINATIONS) if direction == "output" else None,
                )
            )
        await conn.copy_records_to_table(
            "flows",
            records=records,
            columns=[
                "network_id",
                "organisation_id",
                "direction",
                "category_id",
                "quantity",
                "unit",
                "period",
                "latitude",
                "longitude",
                "months",
                "destination",
            ],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()


async def connect(dsn: str) -> asyncpg.Connection:
    conn = await asyncpg.connect(dsn)
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")
    return conn


async def phases(conn: asyncpg.Connection, network_id: uuid.UUID) -> None:
    """The candidates' phases apart: the substitution statement, scoring its rows, pooling."""
    from api.synergies import pooling
    from api.synergies.detect import SUBSTITUTIONS, substitution
    from api.synergies.scoring import Scoring

    config = Scoring()
    started = time.perf_counter()
    rows = await conn.fetch(
        SUBSTITUTIONS, network_id, config.max_distance_km * 1000, config.candidates_per_demand
    )
    fetched = time.perf_counter()
    for row in rows:
        substitution(row, config)
    scored = time.perf_counter()
    await pooling.candidates(conn, network_id, config)
    print(
        f"  phases: substitution SQL {fetched - started:.2f} s ({len(rows)} pairs), scoring them "
        f"{scored - fetched:.2f} s, pooling (SQL + scoring) {time.perf_counter() - scored:.2f} s",
        flush=True,
    )


async def run_detect(admin_dsn: str, args: argparse.Namespace) -> bool:
    from api.auth.tokens import LocalIssuer
    from api.db.embedded import with_database
    from api.synergies.detect import candidates, detect
    from api.synergies.scoring import Scoring
    from bench import dataset
    from bench.symbiose_app import settings as symbiose_settings

    dsn = with_database(admin_dsn, dataset.DATABASE)
    if not args.reuse:
        issuer = LocalIssuer.from_settings(symbiose_settings())
        print(f"(a) loading {args.organisations} organisations, {args.listings} listings ...", flush=True)
        await dataset.build(admin_dsn, issuer, listings=args.listings, organisations=args.organisations)
        await add_flows(dsn, args.flows, random.Random(15))
    conn = await connect(dsn)
    try:
        counts = await conn.fetchrow(
            """SELECT (SELECT count(*) FROM organisations) AS organisations,
                      (SELECT count(*) FROM flows) AS flows, (SELECT count(*) FROM listings) AS listings"""
        )
        assert counts is not None
        size = (
            f"{counts['organisations']} organisations, {counts['flows']} flows, {counts['listings']} listings"
        )
        print(
            f"\n(a) detect: {size}, {os.cpu_count()} CPUs, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", flush=True
        )
        await conn.execute("DELETE FROM synergy_events; DELETE FROM synergies")
        network_id = await conn.fetchval("SELECT id FROM networks LIMIT 1")
        started = time.perf_counter()
        found = await candidates(conn, network_id, Scoring())
        print(
            f"candidates (SQL + scoring): {len(found)} in {time.perf_counter() - started:.2f} s "
            f"(load average {_load()})",
            flush=True,
        )
        await phases(conn, network_id)
        timings = []
        for label in ("first run", "re-run"):
            started = time.perf_counter()
            async with conn.transaction():
                result = await detect(conn, network_id, Scoring())
            seconds = time.perf_counter() - started
            timings.append(seconds)
            print(
                f"{label:10} {seconds:6.2f} s  proposed {result.proposed} "
                f"({result.substitutions} substitutions, {result.poolings} poolings), "
                f"already known {result.already_known} (load average {_load()})",
                flush=True,
            )
    finally:
        await conn.close()
    ok = all(seconds < 5 for seconds in timings)
    print("detect:", "PASS" if ok else "FAIL", "(target: under 5 s)", flush=True)
    return ok


def wrk(
    port: int, lines: Path, seconds: float, connections: int, threads: int, token: str, org: str
) -> dict[str, int]:
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    env = {**os.environ, "WRK_REQUESTS": str(lines), "WRK_THREADS": str(threads),
           "WRK_TOKEN": token, "WRK_ORGANISATION": org}  # fmt: skip
    # fmt: off
    command = [exe, "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(seconds))}s",
               "--timeout", "10s", "-s", str(LUA), f"http://127.0.0.1:{port}"]
    # fmt: on
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    found = re.search(r"^WRKJSON (.*)$", out, re.MULTILINE)
    if found is None:
        raise SystemExit(f"wrk printed no summary:\n{out}")
    result: dict[str, int] = json.loads(found[1])
    return result


async def explain(dsn: str, organisation: uuid.UUID) -> None:
    from api.listings.repository import COLUMNS
    from api.matches.repository import NEAREST_OF_CATEGORY, candidate_params
    from api.matches.service import MAX_CANDIDATES
    from api.search.repository import active_networks
    from api.synergies.scoring import Scoring
    from schemas.listings import Listing

    conn = await connect(dsn)
    try:
        row = await conn.fetchrow(
            f"""SELECT {COLUMNS} FROM listings l WHERE l.direction = 'need'
                AND l.category_id = 'wood.pallets' ORDER BY l.id LIMIT 1"""
        )
        import msgspec

        assert row is not None, "the dataset has no pallet need"
        listing = msgspec.convert(dict(row), Listing)
        networks = await active_networks(conn, organisation)
        params = candidate_params(
            listing,
            networks=list(networks),
            metres=Scoring().max_distance_km * 1000,
            category=None,
            last=MAX_CANDIDATES,
        )
        for _ in range(3):  # warm
            await conn.fetch(NEAREST_OF_CATEGORY, *params)
        plan = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + NEAREST_OF_CATEGORY, *params)
    finally:
        await conn.close()
    print(f"\nEXPLAIN ANALYZE of the candidates of pallet need {listing.id}:")
    print("\n".join(r[0] for r in plan))


async def run_matches(admin_dsn: str, args: argparse.Namespace) -> bool:
    from api.auth.tokens import LocalIssuer
    from api.db.embedded import with_database
    from bench import dataset
    from bench.symbiose_app import settings as symbiose_settings
    from bench.wrk_bench import Server, write_lines

    env = {"BENCH_POOL_SIZE": str(args.pool_size), "BENCH_DATA_DIR": str(args.data_dir.resolve())}
    os.environ.update(env)
    issuer = LocalIssuer.from_settings(symbiose_settings())
    dsn = with_database(admin_dsn, dataset.DATABASE)
    if not args.reuse:
        print(f"(b) loading {args.match_listings} listings ...", flush=True)
        data = await dataset.build(
            admin_dsn, issuer, listings=args.match_listings, organisations=args.match_organisations
        )
        print(f"  loaded in {data.load_seconds:.1f} s", flush=True)
    conn = await connect(dsn)
    try:
        ids = [str(r["id"]) for r in await conn.fetch("SELECT id FROM listings")]
        organisation = await conn.fetchval(
            """SELECT r.organisation_id FROM organisation_roles r JOIN users u ON u.id = r.user_id
               WHERE u.email = $1""",
            dataset.ADMIN_EMAIL,
        )
    finally:
        await conn.close()
    token = issuer.mint(email=dataset.ADMIN_EMAIL, ttl_s=3600)
    random.Random(15).shuffle(ids)
    paths = iter(f"/v1/listings/{i}/matches" for i in ids)
    work = args.data_dir / "wrk"
    env["BENCH_DATABASE_URL"] = dsn
    counts = [int(c) for c in str(args.connections).split(",")]
    print(
        f"\n(b) matches: {len(ids)} listings, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC, "
        f"{args.warmup:g} s warm-up + {args.seconds:g} s a row, 1 uvicorn worker, "
        f"pool {args.pool_size}, {os.cpu_count()} CPUs (shared: load average {_load()}), "
        "each request a different listing",
        flush=True,
    )
    ok = True
    with Server("bench.symbiose_app:create_app", env) as server:
        await server.ready("/health/ready")
        for connections in counts:
            threads = min(args.threads, connections)
            # Each row its own lines, more than a row can send: no listing is asked twice in the run.
            warm = write_lines(work / f"matches-warm-{connections}.txt", [next(paths) for _ in range(1500)])
            lines = [next(paths) for _ in range(min(int(400 * args.seconds), len(ids) // (2 * len(counts))))]
            measured = write_lines(work / f"matches-{connections}.txt", lines)
            if args.warmup > 0:
                await asyncio.to_thread(
                    wrk, server.port, warm, args.warmup, connections, threads, token, str(organisation)
                )
            result = await asyncio.to_thread(
                wrk, server.port, measured, args.seconds, connections, threads, token, str(organisation)
            )
            seconds = result["duration_us"] / 1e6
            p50, p99 = result["p50_us"] / 1000, result["p99_us"] / 1000
            errors = result["status_errors"] + result["socket_errors"]
            row_ok = p50 < 50 and errors == 0 and not result["repeated"]
            ok = ok and row_ok
            print(
                f"  wrk {threads} threads {connections:2} connections: {result['requests']} requests, "
                f"{result['requests'] / seconds:.0f} req/s, p50 {p50:.1f} ms, p99 {p99:.1f} ms, "
                f"max {result['max_us'] / 1000:.1f} ms, errors {errors} -> {'PASS' if row_ok else 'FAIL'}"
                + ("  REPEATED: the request file was too short" if result["repeated"] else ""),
                flush=True,
            )
    print("matches:", "PASS" if ok else "FAIL", "(target: p50 under 50 ms)", flush=True)
    if args.explain:
        await explain(dsn, organisation)
    return ok


async def main(args: argparse.Namespace) -> int:
    embedded = None
    admin_dsn = os.environ.get("DATABASE_URL")
    if not admin_dsn:
        from api.db.embedded import start_embedded_server

        embedded = start_embedded_server(args.data_dir)
        admin_dsn = embedded.admin_dsn
    results = []
    try:
        os.environ.update({"BENCH_DATA_DIR": str(args.data_dir.resolve())})
        if args.only in (None, "matches"):
            results.append(await run_matches(admin_dsn, args))
        if args.only in (None, "detect"):
            results.append(await run_detect(admin_dsn, args))
    finally:
        if embedded is not None:
            embedded.stop()
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main(parse_args())))
