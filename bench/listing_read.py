"""Listing read throughput: Symbiose's `GET /v1/listings/{id}` against a bare Litestar + asyncpg endpoint.

Requirement: with 100 000 listings, `GET /v1/listings/{id}` keeps at least 60 % of the throughput of
a bare Litestar + asyncpg endpoint reading the same row, measured in the same run, same settings.

    uv run python bench/listing_read.py            # under 2 minutes on 2 cores
    uv run python bench/listing_read.py --help

Uses DATABASE_URL if set (the role needs CREATEDB), else the embedded PostgreSQL under var/bench.
Each run drops and reloads the database `symbiose_bench`. Both servers run in a uvicorn subprocess
with the same settings (1 worker, uvloop, httptools, no access log, log level warning, same pool
size), one after the other; the load generator (bench/loadgen.py) runs in this process.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` and `api` importable
    sys.path.insert(0, str(ROOT))


@dataclass
class Row:
    server: str
    caller: str
    result: Any  # loadgen.Result
    server_cpu_s: float
    postgres_cpu_s: float | None
    wall_s: float
    machine_busy: float
    profile: str | None = None


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--listings", type=int, default=100_000, help="listings to load (default 100000)")
    parser.add_argument("--organisations", type=int, default=500, help="organisations (default 500)")
    parser.add_argument("--concurrency", type=int, default=16, help="keep-alive connections (default 16)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds not measured (default 2)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds measured (default 10)")
    parser.add_argument("--pool-size", type=int, default=10, help="asyncpg pool size of both servers")
    parser.add_argument("--threshold", type=float, default=60.0, help="required %% of baseline (default 60)")
    parser.add_argument(
        "--client-addresses",
        type=int,
        default=10_000,
        help="distinct client addresses sent in X-Forwarded-For (default 10000; 0 = none, every request "
        "then comes from 127.0.0.1 and the anonymous rate limiter keeps one ever-growing history)",
    )
    parser.add_argument("--rounds", type=int, default=2, help="rounds alternating the servers (default 2)")
    parser.add_argument("--no-auth", action="store_true", help="skip the authenticated variant")
    parser.add_argument(
        "--py-spy",
        type=Path,
        default=None,
        metavar="DIR",
        help="sample the Symbiose server with py-spy during its rows and write collapsed stacks and a "
        "summary to DIR (run with `uv run --with py-spy python bench/listing_read.py --py-spy DIR`)",
    )
    parser.add_argument(
        "--data-dir", type=Path, default=ROOT / "var" / "bench", help="embedded PostgreSQL and keys"
    )
    return parser.parse_args(argv)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


class Server:
    """One app under uvicorn in a subprocess, with the settings both apps share."""

    def __init__(self, factory: str, env: dict[str, str]) -> None:
        self.factory = factory
        self.port = free_port()
        self.env = {**os.environ, **env}
        self.process: subprocess.Popen[bytes] | None = None

    async def __aenter__(self) -> Server:
        # fmt: off
        command = [
            sys.executable, "-m", "uvicorn", "--factory", self.factory,
            "--host", "127.0.0.1", "--port", str(self.port), "--workers", "1",
            "--loop", "uvloop", "--http", "httptools", "--no-access-log", "--log-level", "warning",
            "--lifespan", "on", "--app-dir", str(ROOT),
        ]
        # fmt: on
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env)  # noqa: ASYNC220
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.process is not None
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    async def wait_ready(self, path: str, timeout_s: float = 30.0) -> None:
        deadline = time.monotonic() + timeout_s
        while True:
            assert self.process is not None
            if self.process.poll() is not None:
                raise SystemExit(f"{self.factory} exited with status {self.process.returncode}")
            try:
                status, _ = await get(self.port, path)
                if status == 200:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise SystemExit(f"{self.factory} not ready after {timeout_s:.0f} s")
            await asyncio.sleep(0.2)

    def cpu_seconds(self) -> float:
        import psutil

        assert self.process is not None
        times = psutil.Process(self.process.pid).cpu_times()
        return float(times.user + times.system)


async def get(port: int, path: str, headers: dict[str, str] | None = None) -> tuple[int, bytes]:
    from bench.loadgen import _Connection, build_requests

    loop = asyncio.get_running_loop()
    transport, conn = await loop.create_connection(_Connection, "127.0.0.1", port)
    try:
        [request] = build_requests("127.0.0.1", port, path, [""], headers or {})
        return await asyncio.wait_for(conn.request(request), 10)
    finally:
        transport.close()


class PostgresCpu:
    """CPU used by the server's pooled PostgreSQL backends, when they run on this machine."""

    def __init__(self, processes: list[Any]) -> None:
        self.processes = processes

    @classmethod
    async def of(cls, dsn: str) -> PostgresCpu:
        import asyncpg
        import psutil

        conn = await asyncpg.connect(dsn)
        try:
            pids = await conn.fetch(
                """SELECT pid FROM pg_stat_activity
                   WHERE datname = current_database() AND pid <> pg_backend_pid()"""
            )
        finally:
            await conn.close()
        processes = []
        for row in pids:
            try:
                process = psutil.Process(row["pid"])
                if "postgres" in process.name() or "postgres" in " ".join(process.cmdline()[:1]):
                    processes.append(process)
            except (psutil.Error, OSError):
                continue
        return cls(processes)

    def seconds(self) -> float | None:
        if not self.processes:
            return None
        total = 0.0
        for process in self.processes:
            try:
                times = process.cpu_times()
                total += times.user + times.system
            except Exception:  # a backend may have gone away
                continue
        return total


async def measure(
    server: Server,
    dsn: str,
    label: str,
    caller: str,
    path: str,
    ids: list[str],
    args: argparse.Namespace,
    headers: dict[str, str] | None = None,
    *,
    round_: int = 1,
) -> Row:
    import psutil

    from bench import loadgen

    spy = None
    profile = None
    if args.py_spy is not None and label == "symbiose":
        args.py_spy.mkdir(parents=True, exist_ok=True)
        profile = str(args.py_spy / f"{label}-{caller}-r{round_}.txt")
        spy = start_py_spy(server, profile, args.warmup + args.duration)
    pg = await PostgresCpu.of(dsn)
    pg_before, server_before = pg.seconds(), server.cpu_seconds()
    machine_before = psutil.cpu_times()
    started = time.perf_counter()
    result = await loadgen.run(
        f"{label}/{caller}",
        "127.0.0.1",
        server.port,
        path,
        ids,
        headers=headers,
        concurrency=args.concurrency,
        warmup_s=args.warmup,
        duration_s=args.duration,
        client_addresses=args.client_addresses,
    )
    wall = time.perf_counter() - started
    pg_after = pg.seconds()
    pg_cpu = None if pg_before is None or pg_after is None else pg_after - pg_before
    machine_after = psutil.cpu_times()
    idle = (machine_after.idle - machine_before.idle) + (machine_after.iowait - machine_before.iowait)
    total = sum(machine_after) - sum(machine_before)
    busy = 1 - idle / total if total > 0 else float("nan")
    row = Row(label, caller, result, server.cpu_seconds() - server_before, pg_cpu, wall, busy, profile)
    if spy is not None:
        spy.wait()  # it stops on its own after the run's length
    print(
        f"  {label:9} {caller:13} {result.rps:8.0f} req/s  p50 {result.percentile_ms(50):6.2f} ms  "
        f"p99 {result.percentile_ms(99):6.2f} ms  errors {result.errors}",
        flush=True,
    )
    for sample in result.error_samples:
        print(f"    error sample: {sample}")
    return row


def start_py_spy(server: Server, output: str, seconds: float) -> subprocess.Popen[bytes]:
    import shutil

    exe = shutil.which("py-spy")
    if exe is None:
        raise SystemExit("--py-spy needs py-spy: uv run --with py-spy python bench/listing_read.py ...")
    assert server.process is not None
    # fmt: off
    command = [
        exe, "record", "--pid", str(server.process.pid), "--duration", str(max(1, int(seconds))),
        "--rate", "250", "--format", "raw", "--output", output, "--nonblocking",
    ]
    # fmt: on
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def expect(condition: bool, message: str) -> None:
    if not condition:
        raise SystemExit(f"sanity check failed: {message}")


async def main(args: argparse.Namespace) -> int:
    from api.auth.tokens import LocalIssuer
    from bench import dataset
    from bench.symbiose_app import settings as symbiose_settings

    embedded = None
    admin_dsn = os.environ.get("DATABASE_URL")
    if not admin_dsn:
        from api.db.embedded import start_embedded_server

        print(f"starting the embedded PostgreSQL under {args.data_dir}/pg ...", flush=True)
        embedded = start_embedded_server(args.data_dir)
        admin_dsn = embedded.admin_dsn
    try:
        env = {"BENCH_POOL_SIZE": str(args.pool_size), "BENCH_DATA_DIR": str(args.data_dir)}
        os.environ.update(env)  # so the settings below match the server's
        settings = symbiose_settings()
        issuer = LocalIssuer.from_settings(settings)
        print(f"loading {args.listings} listings into {dataset.DATABASE} ...", flush=True)
        data = await dataset.build(
            admin_dsn, issuer, listings=args.listings, organisations=args.organisations
        )
        print(f"  loaded in {data.load_seconds:.1f} s", flush=True)
        env["BENCH_DATABASE_URL"] = data.dsn
        public = [str(i) for i in data.public_ids]
        every = [str(i) for i in data.all_ids]
        auth = {
            "authorization": f"Bearer {data.admin_token}",
            "x-organisation-id": str(data.admin_organisation_id),
        }
        rows: list[Row] = []
        for round_ in range(1, args.rounds + 1):
            print(f"round {round_}/{args.rounds}", flush=True)
            async with Server("bench.baseline_app:create_app", env) as server:
                await server.wait_ready(f"/listings/{public[0]}")
                status, _ = await get(server.port, f"/listings/{data.network_only_id}")
                expect(status == 200, "the baseline reads any listing")
                rows.append(
                    await measure(
                        server,
                        data.dsn,
                        "baseline",
                        "anonymous",
                        "/listings/{id}",
                        public,
                        args,
                        round_=round_,
                    )
                )
            async with Server("bench.symbiose_app:create_app", env) as server:
                await server.wait_ready(f"/v1/listings/{public[0]}")
                status, _ = await get(server.port, f"/v1/listings/{data.network_only_id}")
                expect(status == 404, f"anonymous callers must not see a network-only listing (got {status})")
                rows.append(
                    await measure(
                        server,
                        data.dsn,
                        "symbiose",
                        "anonymous",
                        "/v1/listings/{id}",
                        public,
                        args,
                        round_=round_,
                    )
                )
                if not args.no_auth:
                    status, body = await get(server.port, f"/v1/listings/{data.network_only_id}", auth)
                    expect(
                        status == 200, f"a network member sees network-only listings (got {status} {body!r})"
                    )
                    rows.append(
                        await measure(
                            server,
                            data.dsn,
                            "symbiose",
                            "authenticated",
                            "/v1/listings/{id}",
                            every,
                            args,
                            auth,
                            round_=round_,
                        )
                    )
    finally:
        if embedded is not None:
            embedded.stop()

    ratio = print_report(rows, args, data.listing_count, data.load_seconds)
    return 0 if ratio >= args.threshold and all(r.result.errors == 0 for r in rows) else 1


def _pct(seconds: float | None, wall: float) -> str:
    return "n/a" if seconds is None else f"{seconds / wall * 100:.0f} %"


def server_us(row: Row) -> float:
    return row.server_cpu_s / max(1, row.result.completed) * 1e6


def others_cpu(row: Row) -> float:
    ours = row.server_cpu_s + (row.postgres_cpu_s or 0.0) + row.result.client_cpu_s
    return max(0.0, row.machine_busy * (os.cpu_count() or 1) * row.wall_s - ours)


def median_rps(rows: list[Row], server: str, caller: str) -> float | None:
    values = [r.result.rps for r in rows if r.server == server and r.caller == caller]
    return statistics.median(values) if values else None


def print_report(rows: list[Row], args: argparse.Namespace, listings: int, load_s: float) -> float:
    """Print the table and the verdict; return the anonymous ratio in percent."""
    out: Callable[[str], None] = print
    baseline = median_rps(rows, "baseline", "anonymous") or float("nan")
    out("")
    out(
        f"GET one listing by id - {listings} listings (loaded in {load_s:.1f} s), {args.concurrency} "
        f"keep-alive connections, {args.warmup:g} s warm-up + {args.duration:g} s measured per row, "
        f"{args.client_addresses} client addresses, {args.rounds} round(s) alternating the servers"
    )
    out(
        f"uvicorn 1 worker, uvloop + httptools, no access log, log level warning, pool {args.pool_size}; "
        f"Python {platform.python_version()}, {os.cpu_count()} CPUs"
    )
    out("CPU columns: share of one core over the row's wall time (warm-up included); postgres = the "
        f"server's pooled backends; machine busy = all {os.cpu_count()} cores together; others = the rest "
        "of the machine (other processes, kernel): high values mean a noisy run")  # fmt: skip
    header = (
        f"| {'round':>5} | {'server':9} | {'caller':13} | {'req/s':>7} | {'p50 ms':>6} | {'p99 ms':>6} "
        f"| {'errors':>6} | {'server CPU':>10} | {'postgres CPU':>12} | {'loadgen CPU':>11} "
        f"| {'machine busy':>12} | {'others CPU':>10} | {'server us/req':>13} | {'% of baseline':>13} |"
    )
    out(header)
    out("|" + "|".join("-" * (len(cell)) for cell in header.split("|")[1:-1]) + "|")
    per_round = max(1, len(rows) // max(1, args.rounds))
    for index, row in enumerate(rows):
        r = row.result
        out(
            f"| {index // per_round + 1:5d} | {row.server:9} | {row.caller:13} | {r.rps:7.0f} "
            f"| {r.percentile_ms(50):6.2f} | {r.percentile_ms(99):6.2f} | {r.errors:6d} "
            f"| {_pct(row.server_cpu_s, row.wall_s):>10} | {_pct(row.postgres_cpu_s, row.wall_s):>12} "
            f"| {_pct(r.client_cpu_s, row.wall_s):>11} | {row.machine_busy * 100:10.0f} % "
            f"| {_pct(others_cpu(row), row.wall_s):>10} | {server_us(row):13.0f} "
            f"| {r.rps / baseline * 100:11.1f} % |"
        )
    out("")
    out("Median req/s over the rounds, and the ratio to the baseline's median:")
    ratio = float("nan")
    for server, caller in (
        ("baseline", "anonymous"),
        ("symbiose", "anonymous"),
        ("symbiose", "authenticated"),
    ):
        rps = median_rps(rows, server, caller)
        if rps is None:
            continue
        share = rps / baseline * 100
        if (server, caller) == ("symbiose", "anonymous"):
            ratio = share
        out(f"  {server:9} {caller:13} {rps:7.0f} req/s  {share:6.1f} %")
    base_us = statistics.median(server_us(r) for r in rows if r.server == "baseline")
    symb_us = statistics.median(
        server_us(r) for r in rows if r.server == "symbiose" and r.caller == "anonymous"
    )
    out(
        f"Server CPU per request (median): baseline {base_us:.0f} us, symbiose anonymous {symb_us:.0f} us "
        f"-> {base_us / symb_us * 100:.1f} % (the throughput ratio to expect when the server's one core "
        "is the bottleneck; less sensitive to other load on the machine)"
    )
    out("")
    verdict = "PASS" if ratio >= args.threshold else "FAIL"
    out(
        f"Requirement: symbiose anonymous = {ratio:.1f} % of baseline "
        f"(need >= {args.threshold:g} %) -> {verdict}"
    )
    auth = median_rps(rows, "symbiose", "authenticated")
    if auth is not None:
        auth_ratio = auth / baseline * 100
        auth_verdict = "PASS" if auth_ratio >= args.threshold else "FAIL"
        out(f"Authenticated variant (informative): {auth_ratio:.1f} % of baseline -> {auth_verdict}")
    if args.py_spy is not None:
        out("NOTE: py-spy sampled the Symbiose server (and used CPU) during its rows: ratios are biased low")
    for row in rows:
        if row.profile:
            from bench.pyspy_summary import summarise

            out(f"\npy-spy, {row.server} {row.caller} ({row.profile}):")
            out(summarise(Path(row.profile)))
    errors = sum(r.result.errors for r in rows)
    if errors:
        out(f"WARNING: {errors} failed requests; the numbers above are not trustworthy")
    return ratio


def run() -> None:
    args = parse_args()
    try:
        import uvloop
    except ImportError:  # uvicorn[standard] brings it; the plain loop works too, a bit slower
        sys.exit(asyncio.run(main(args)))
    sys.exit(uvloop.run(main(args)))


if __name__ == "__main__":
    run()
