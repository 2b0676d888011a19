"""Reads and computed searches under wrk, Symbiose beside a bare endpoint, in one run.

    uv run python bench/wrk_bench.py                                # 100 000 listings, ~5 min on 2 cores
    uv run python bench/wrk_bench.py --listings 10000 --seconds 10  # about 1.5 minutes
    uv run python bench/wrk_bench.py --help

The listings go in through the importer `symbiose import` runs (bench/dataset.py `via_import`), in
files of 50 000 rows; the texts are the field's French vocabulary. One uvicorn worker per server
(uvloop, httptools, no access log), `--connections` keep-alive connections from wrk (Debian's
`wrk`; `apt-get install wrk`) on loopback, `--threads` wrk threads, a bounded duration per row.

- read: `GET /v1/listings/{id}` (anonymous, public listings in random order) against
  bench/baseline_app.py (bare Litestar + msgspec + asyncpg, the same row), alternating the servers
  for `--rounds` rounds; req/s, p50, p99 and server CPU per request; the verdict is the ratio of the
  medians (target >= 0.6).
- text and browse: searches of bench/queries.py, each sent once in the run (the result cache is on,
  as in production, and serves nothing it has not computed: the share it served is printed from
  /metrics); target p50 < 30 ms, p99 < 100 ms. Warm-up searches are drawn apart from the measured.

`--compare DIR` adds the Symbiose of another checkout (a `git worktree add DIR main`) to every row,
so a change is measured against what it changes in the same run. The machine is shared: compare
ratios within one run, not absolute figures across runs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import re
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LUA = ROOT / "bench" / "wrk_requests.lua"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--listings", type=int, default=100_000)
    parser.add_argument("--organisations", type=int, default=500)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--seconds", type=float, default=20.0, help="measured seconds per row (default 20)")
    parser.add_argument("--warmup", type=float, default=3.0, help="warm-up seconds per row (default 3)")
    parser.add_argument("--rounds", type=int, default=2, help="read rounds alternating the servers")
    parser.add_argument("--pool-size", type=int, default=10)
    parser.add_argument("--seed", type=int, default=17, help="query generator seed")
    parser.add_argument("--only", choices=["read", "search"], default=None, help="run one part only")
    parser.add_argument(
        "--compare", type=Path, default=None, metavar="DIR", help="another checkout's Symbiose too"
    )
    parser.add_argument("--reuse", action="store_true", help="keep the database of a previous run")
    parser.add_argument("--explain", type=int, default=0, metavar="N", help="time a sample of searches one "
                        "by one and print EXPLAIN (ANALYZE, BUFFERS) of the N slowest")  # fmt: skip
    parser.add_argument("--py-spy", type=Path, default=None, metavar="DIR", help="sample every "
                        "server's measured rows with py-spy (on PATH) into DIR, and summarise")  # fmt: skip
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "bench")
    return parser.parse_args(argv)


@dataclass
class Row:
    part: str
    server: str
    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    errors: int
    server_cpu_s: float
    postgres_cpu_s: float | None
    cache: tuple[int, int, int] | None = None
    repeated: bool = False

    @property
    def rps(self) -> float:
        return self.requests / self.seconds

    @property
    def cpu_us(self) -> float:
        return self.server_cpu_s / max(1, self.requests) * 1e6

    @property
    def cache_line(self) -> str:
        if self.cache is None:
            return ""
        hits, revalidated, misses = self.cache
        total = hits + revalidated + misses
        if total == 0:
            return "cache: no searches counted"
        return f"{(hits + revalidated) / total * 100:.1f} % from the cache ({hits + revalidated} of {total})"


class Server:
    """One app under uvicorn in a subprocess; `app_dir` is the checkout it is imported from."""

    def __init__(self, factory: str, env: dict[str, str], app_dir: Path = ROOT) -> None:
        from bench.listing_read import free_port

        self.factory, self.app_dir = factory, app_dir
        self.port = free_port()
        self.env = {**os.environ, **env, "PYTHONPATH": str(app_dir)}
        self.process: subprocess.Popen[bytes] | None = None

    def __enter__(self) -> Server:
        # fmt: off
        command = [
            sys.executable, "-m", "uvicorn", "--factory", self.factory, "--host", "127.0.0.1",
            "--port", str(self.port), "--workers", "1", "--loop", "uvloop", "--http", "httptools",
            "--no-access-log", "--log-level", "warning", "--lifespan", "on", "--app-dir", str(self.app_dir),
        ]
        # fmt: on
        self.process = subprocess.Popen(command, cwd=self.app_dir, env=self.env)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    async def ready(self, path: str) -> None:
        from bench.listing_read import get

        deadline = time.monotonic() + 30
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SystemExit(f"{self.factory} exited with status {self.process.returncode}")
            try:
                if (await get(self.port, path))[0] == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.factory} not ready after 30 s")
            await asyncio.sleep(0.2)

    async def index_built(self) -> None:
        """Wait until the search backend's in-memory index is built (readiness says so); until then
        searches are computed in SQL, which is not what the search rows measure."""
        from bench.listing_read import get

        started = time.monotonic()
        while True:
            _, body = await get(self.port, "/health/ready")
            if b"index building" not in body:
                print(f"  search index ready after {time.monotonic() - started:.1f} s", flush=True)
                return
            if time.monotonic() - started > 600:
                raise SystemExit("the search index was not built within 10 minutes")
            await asyncio.sleep(0.5)

    def cpu_s(self) -> float:
        import psutil

        assert self.process is not None
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)


def wrk(port: int, requests: Path, seconds: float, args: argparse.Namespace, *, wrap: bool) -> dict[str, int]:
    exe = shutil.which("wrk")
    if exe is None:
        raise SystemExit("wrk is needed: apt-get install -y wrk")
    env = {**os.environ, "WRK_REQUESTS": str(requests), "WRK_THREADS": str(args.threads),
           "WRK_WRAP": "1" if wrap else "0"}  # fmt: skip
    # fmt: off
    command = [
        exe, "-t", str(args.threads), "-c", str(args.connections), "-d", f"{max(1, round(seconds))}s",
        "--timeout", "10s", "-s", str(LUA), f"http://127.0.0.1:{port}",
    ]
    # fmt: on
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True).stdout
    found = re.search(r"^WRKJSON (.*)$", out, re.MULTILINE)
    if found is None:
        raise SystemExit(f"wrk printed no summary:\n{out}")
    result: dict[str, int] = json.loads(found[1])
    return result


_CACHE = re.compile(r"^symbiose_search_cache_(hits|revalidated|misses)(?:_total)? (\S+)$", re.MULTILINE)


async def cache_counters(port: int) -> tuple[int, int, int]:
    from bench.listing_read import get

    _, body = await get(port, "/metrics")
    values = {m[1]: int(float(m[2])) for m in _CACHE.finditer(body.decode())}
    return values.get("hits", 0), values.get("revalidated", 0), values.get("misses", 0)


async def measure(
    part: str, label: str, server: Server, dsn: str, files: tuple[Path, Path], args: argparse.Namespace,
    *, wrap: bool, cache: bool = False,
) -> Row:  # fmt: skip
    from bench.listing_read import PostgresCpu

    warm, measured = files
    if args.warmup > 0:
        await asyncio.to_thread(wrk, server.port, warm, args.warmup, args, wrap=wrap)
    before_cache = await cache_counters(server.port) if cache else None
    pg = await PostgresCpu.of(dsn)
    spy = None
    if args.py_spy is not None:
        assert server.process is not None
        args.py_spy.mkdir(parents=True, exist_ok=True)
        profile = args.py_spy / f"{part}-{label}-{int(time.time())}.txt"
        # fmt: off
        spy = subprocess.Popen(  # noqa: ASYNC220
            ["py-spy", "record", "--pid", str(server.process.pid), "--duration", str(int(args.seconds)),
             "--rate", "200", "--format", "raw", "--output", str(profile), "--nonblocking"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        # fmt: on
    pg_before, cpu_before = pg.seconds(), server.cpu_s()
    result = await asyncio.to_thread(wrk, server.port, measured, args.seconds, args, wrap=wrap)
    if spy is not None:
        await asyncio.to_thread(spy.wait)
        from bench.pyspy_summary import summarise

        print(f"py-spy ({profile}):\n{summarise(profile)}")
    cpu, pg_after = server.cpu_s() - cpu_before, pg.seconds()
    counters = None
    if before_cache is not None:
        after = await cache_counters(server.port)
        counters = (after[0] - before_cache[0], after[1] - before_cache[1], after[2] - before_cache[2])
    row = Row(
        part, label, result["requests"], result["duration_us"] / 1e6, result["p50_us"] / 1000,
        result["p99_us"] / 1000, result["status_errors"] + result["socket_errors"], cpu,
        None if pg_before is None or pg_after is None else pg_after - pg_before, counters,
        bool(result["repeated"]) and not wrap,
    )  # fmt: skip
    print(
        f"  {part:6} {label:16} {row.rps:7.0f} req/s  p50 {row.p50_ms:7.2f} ms  p99 {row.p99_ms:7.2f} ms  "
        f"errors {row.errors}  server {row.cpu_us:6.0f} us/req  {row.cache_line}"
        + ("  REPEATED: the request file was too short" if row.repeated else ""),
        flush=True,
    )
    return row


def write_lines(path: Path, lines: list[str]) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def main(args: argparse.Namespace) -> int:
    import asyncpg

    from api.auth.tokens import LocalIssuer
    from api.db.embedded import with_database
    from api.db.pool import STATEMENT_TIMEOUT_S, create_pool
    from api.synergies.nightly import detect_due
    from bench import dataset, queries
    from bench.symbiose_app import settings as symbiose_settings

    embedded = None
    admin_dsn = os.environ.get("DATABASE_URL")
    if not admin_dsn:
        from api.db.embedded import start_embedded_server

        embedded = start_embedded_server(args.data_dir)
        admin_dsn = embedded.admin_dsn
    rows: list[Row] = []
    try:
        env = {"BENCH_POOL_SIZE": str(args.pool_size), "BENCH_DATA_DIR": str(args.data_dir.resolve())}
        os.environ.update(env)
        dsn = with_database(admin_dsn, dataset.DATABASE)
        if not args.reuse:
            print(f"importing {args.listings} listings through the importer ...", flush=True)
            data = await dataset.build(
                admin_dsn, LocalIssuer.from_settings(symbiose_settings()), listings=args.listings,
                organisations=args.organisations, via_import=True,
            )  # fmt: skip
            print(f"  imported in {data.load_seconds:.1f} s", flush=True)
        # The servers' sweep runs the daily synergy detection of a network due; run it first, so
        # that it does not run while searches are measured (bench/synergy_detect.py measures it).
        started = time.perf_counter()
        detection = await create_pool(dsn, min_size=1, max_size=1, statement_timeout_s=STATEMENT_TIMEOUT_S)
        try:
            proposed = await detect_due(detection)
        finally:
            await detection.close()
        print(
            f"  daily synergy detection before measuring: {sum(proposed.values())} proposed"
            f" in {time.perf_counter() - started:.1f} s",
            flush=True,
        )
        conn = await asyncpg.connect(dsn)
        try:
            public = [
                str(r["id"]) for r in await conn.fetch("SELECT id FROM listings WHERE visibility = 'public'")
            ]
            listings = await conn.fetchval("SELECT count(*) FROM listings")
        finally:
            await conn.close()
        env["BENCH_DATABASE_URL"] = dsn
        work = args.data_dir / "wrk"
        random.Random(args.seed).shuffle(public)
        reads = write_lines(work / "reads.txt", [f"/v1/listings/{i}" for i in public])
        bare = write_lines(work / "reads-bare.txt", [f"/listings/{i}" for i in public])
        generator = queries.Generator(args.seed)
        # More than a server can answer in the time (no repeats); warm-up lines drawn apart.
        budget = int(1500 * (args.seconds + 1))
        searches = {
            mix: (
                write_lines(work / f"{mix}-warm.txt", generator.paths(mix, int(1500 * (args.warmup + 1)))),
                write_lines(work / f"{mix}.txt", generator.paths(mix, budget)),
            )
            for mix in ("text", "browse")
        }
        symbioses = [("symbiose", ROOT)] + (
            [("symbiose@compare", args.compare.resolve())] if args.compare else []
        )
        if args.only in (None, "read"):
            print(f"read: {len(public)} public listings in random order", flush=True)
            for round_ in range(1, args.rounds + 1):
                print(f" round {round_}/{args.rounds}", flush=True)
                with Server("bench.baseline_app:create_app", env) as server:
                    await server.ready(f"/listings/{public[0]}")
                    rows.append(await measure("read", "bare", server, dsn, (bare, bare), args, wrap=True))
                for label, app_dir in symbioses:
                    with Server("bench.symbiose_app:create_app", env, app_dir) as server:
                        await server.ready(f"/v1/listings/{public[0]}")
                        # Steady state: the build (seconds of the worker's CPU at 100 000 listings)
                        # runs once at start-up, not during every read row.
                        await server.index_built()
                        rows.append(
                            await measure("read", label, server, dsn, (reads, reads), args, wrap=True)
                        )
        if args.only in (None, "search"):
            for label, app_dir in symbioses:
                with Server("bench.symbiose_app:create_app", env, app_dir) as server:
                    await server.ready("/health/ready")
                    await server.index_built()
                    for mix, files in searches.items():
                        rows.append(
                            await measure(mix, label, server, dsn, files, args, wrap=False, cache=True)
                        )
        if args.explain:
            from bench.explain_searches import slowest

            await slowest(dsn, [p for _, f in searches.values() for p in f.read_text().split()], args.explain)
    finally:
        if embedded is not None:
            embedded.stop()
    report(rows, args, listings)
    return 0 if all(r.errors == 0 and not r.repeated for r in rows) else 1


def report(rows: list[Row], args: argparse.Namespace, listings: int) -> None:
    print(
        f"\n{listings} listings (imported), wrk {args.threads} threads {args.connections} connections, "
        f"{args.warmup:g} s warm-up + {args.seconds:g} s per row, 1 uvicorn worker, pool {args.pool_size}, "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs (shared: compare within this run)"
    )
    columns = ["part", "server", "req/s", "p50 ms", "p99 ms", "errors", "server CPU us/req"]
    print("| " + " | ".join([*columns, "postgres CPU us/req", "cache"]) + " |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        pg = "n/a" if r.postgres_cpu_s is None else f"{r.postgres_cpu_s / max(1, r.requests) * 1e6:.0f}"
        print(f"| {r.part} | {r.server} | {r.rps:.0f} | {r.p50_ms:.2f} | {r.p99_ms:.2f} | {r.errors} "
              f"| {r.cpu_us:.0f} | {pg} | {r.cache_line} |")  # fmt: skip
    bare = [r.rps for r in rows if r.part == "read" and r.server == "bare"]
    bare_cpu = [r.cpu_us for r in rows if r.part == "read" and r.server == "bare"]
    for label in dict.fromkeys(r.server for r in rows if r.server != "bare"):
        mine = [r for r in rows if r.part == "read" and r.server == label]
        if bare and mine:
            ratio = statistics.median(r.rps for r in mine) / statistics.median(bare)
            cpu = statistics.median(bare_cpu) / statistics.median(r.cpu_us for r in mine)
            verdict = "PASS" if ratio >= 0.6 else "FAIL"
            print(f"read {label}: {ratio:.2f} of the bare endpoint's req/s (median of {len(mine)} rounds; "
                  f"CPU per request ratio {cpu:.2f}); target >= 0.6 -> {verdict}")  # fmt: skip
        for r in rows:
            if r.server == label and r.part in ("text", "browse"):
                verdict = "PASS" if r.p50_ms < 30 and r.p99_ms < 100 else "FAIL"
                print(f"{r.part} {label}: p50 {r.p50_ms:.1f} ms, p99 {r.p99_ms:.1f} ms, {r.rps:.0f} req/s, "
                      f"{r.cache_line}; target p50 < 30 ms, p99 < 100 ms -> {verdict}")  # fmt: skip


def run() -> None:
    args = parse_args()
    import uvloop

    sys.exit(uvloop.run(main(args)))


if __name__ == "__main__":
    run()
