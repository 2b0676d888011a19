"""Reservation throughput: `POST /v1/listings/{id}/reservations` with 16 clients, on distinct listings
and on one hot listing, then the provider accepting on the hot listing (where the listing row lock
serialises accepts).

    uv run python bench/reservations.py            # about 40 s on 2 cores
    uv run python bench/reservations.py --help

Uses DATABASE_URL if set (the role needs CREATEDB), else the embedded PostgreSQL under var/bench.
Each run drops and recreates the database `symbiose_bench_reservations`. The server runs in a
uvicorn subprocess (1 worker, uvloop, httptools, no access log), the load generator in this process:
each client is a keep-alive connection sending its next request when the last one is answered.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `bench` and `api` importable
    sys.path.insert(0, str(ROOT))

from api.auth.tokens import LocalIssuer, local_subject  # noqa: E402
from api.db.embedded import with_database  # noqa: E402
from api.db.migrations import migrate  # noqa: E402
from bench.listing_read import Server  # noqa: E402
from bench.loadgen import ProtocolError, Result, _Connection  # noqa: E402

DATABASE = "symbiose_bench_reservations"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--clients", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds not measured (default 1)")
    parser.add_argument(
        "--duration", type=float, default=6.0, help="seconds measured per scenario (default 6)"
    )
    parser.add_argument("--pool-size", type=int, default=10, help="the server's asyncpg pool size")
    parser.add_argument(
        "--data-dir", type=Path, default=ROOT / "var" / "bench", help="embedded PostgreSQL and keys"
    )
    return parser.parse_args(argv)


@dataclass
class Member:
    organisation_id: uuid.UUID
    token: str

    def headers(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}", "x-organisation-id": str(self.organisation_id)}


@dataclass
class Data:
    dsn: str
    providers: list[Member]
    requesters: list[Member]
    listings: list[uuid.UUID]
    """listings[i] belongs to providers[i]; listings[0] is the hot one."""


async def prepare(admin_dsn: str, issuer: LocalIssuer, clients: int) -> Data:
    """A network, `clients` providers each sharing one service, and `clients` requesters."""
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{DATABASE}"')
    finally:
        await admin.close()
    dsn = with_database(admin_dsn, DATABASE)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        async with conn.transaction():
            network = await conn.fetchval(
                """INSERT INTO networks (slug, name, latitude, longitude)
                   VALUES ('bench-services', 'Bench services', 45.7, 4.85) RETURNING id"""
            )
            category = await conn.fetchval(
                "SELECT id FROM categories WHERE nature = 'service' AND 'm2' = ANY(allowed_units) LIMIT 1"
            )

            async def member(name: str) -> Member:
                email = f"{name}@bench.example"
                user = await conn.fetchval(
                    "INSERT INTO users (issuer, subject, email, name) VALUES ($1, $2, $3, $4) RETURNING id",
                    issuer.issuer,
                    local_subject(email),
                    email,
                    name,
                )
                siren = f"{random.randrange(10**8, 10**9)}"
                organisation = await conn.fetchval(
                    "INSERT INTO organisations (name, siret, city) VALUES ($1, $2, 'Lyon') RETURNING id",
                    name,
                    _siret(siren),
                )
                await conn.execute(
                    """INSERT INTO organisation_roles (organisation_id, user_id, role)
                       VALUES ($1, $2, 'admin')""",
                    organisation,
                    user,
                )
                await conn.execute(
                    "INSERT INTO memberships (network_id, organisation_id, status) VALUES ($1, $2, 'active')",
                    network,
                    organisation,
                )
                return Member(organisation, issuer.mint(email=email, ttl_s=3600))

            providers = [await member(f"provider{i}") for i in range(clients)]
            requesters = [await member(f"requester{i}") for i in range(clients)]
            listings = [
                await conn.fetchval(
                    """INSERT INTO listings (organisation_id, network_id, direction, category_id, nature,
                           title, unit, capacity, capacity_period, price_kind, latitude, longitude, status,
                           published_at)
                       VALUES ($1, $2, 'offer', $3, 'service', 'Entrepôt partagé', 'm2', 1000000, 'month',
                               'free', 45.7, 4.85, 'published', now()) RETURNING id""",
                    provider.organisation_id,
                    network,
                    category,
                )
                for provider in providers
            ]
    finally:
        await conn.close()
    return Data(dsn, providers, requesters, listings)


def _siret(siren: str) -> str:
    from api.demo.data import siret

    return siret(siren)


def _post(port: int, path: str, headers: dict[str, str], body: bytes) -> bytes:
    extra = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return (
        f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n{extra}content-type: application/json\r\n"
        f"content-length: {len(body)}\r\n\r\n"
    ).encode() + body


def _bodies(count: int, rng: random.Random) -> list[bytes]:
    """Valid requests over the next 30 days, 2 to 8 hours long."""
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=1)
    bodies = []
    for _ in range(count):
        start = base + timedelta(hours=rng.randrange(24 * 30))
        end = start + timedelta(hours=rng.randrange(2, 9))
        bodies.append(
            json.dumps({"start": start.isoformat(), "end": end.isoformat(), "quantity": 1}).encode()
        )
    return bodies


async def drive(
    name: str, port: int, streams: list[list[bytes]], expected: int, args: argparse.Namespace
) -> Result:
    """One keep-alive connection per stream, each sending its requests in turn until time is up."""
    loop = asyncio.get_running_loop()
    result = Result(name, args.duration)
    start = time.perf_counter()
    measure_from, stop = start + args.warmup, start + args.warmup + args.duration

    async def client(requests: list[bytes]) -> None:
        _, conn = await loop.create_connection(_Connection, "127.0.0.1", port)
        try:
            for request in requests:
                sent = time.perf_counter()
                if sent >= stop:
                    return
                try:
                    status, body = await conn.request(request)
                except (ConnectionError, ProtocolError, ValueError) as exc:
                    result.errors += 1
                    result.error_samples.append(repr(exc))
                    return
                result.completed += 1
                if sent >= measure_from:
                    result.latencies_s.append(time.perf_counter() - sent)
                if status != expected:
                    result.errors += 1
                    if len(result.error_samples) < 5:
                        result.error_samples.append(f"{status} {body[:200]!r}")
        finally:
            if conn.transport is not None:
                conn.transport.close()

    await asyncio.gather(*(client(s) for s in streams))
    if time.perf_counter() < stop:  # a stream ran out before the time was up: count what was done
        result.duration_s = max(time.perf_counter() - measure_from, 1e-9)
    print(
        f"  {name:34} {result.rps:7.0f} req/s  p50 {result.percentile_ms(50):6.1f} ms  "
        f"p99 {result.percentile_ms(99):6.1f} ms  ({result.requests} measured, errors {result.errors})",
        flush=True,
    )
    for sample in result.error_samples[:3]:
        print(f"    error sample: {sample}")
    return result


async def main(args: argparse.Namespace) -> int:
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
        os.environ.update(env)
        settings = symbiose_settings()
        issuer = LocalIssuer.from_settings(settings)
        data = await prepare(admin_dsn, issuer, args.clients)
        env["BENCH_DATABASE_URL"] = data.dsn
        rng = random.Random(7)
        results = []
        async with Server("bench.symbiose_app:create_app", env) as server:
            await server.wait_ready("/health/ready")
            port = server.port
            per_client = 20_000
            bodies = _bodies(2_000, rng)

            def create(i: int, listing: uuid.UUID) -> list[bytes]:
                headers = data.requesters[i].headers()
                path = f"/v1/listings/{listing}/reservations"
                return [_post(port, path, headers, rng.choice(bodies)) for _ in range(per_client)]

            print(
                f"{args.clients} clients, {args.warmup:.0f} s warm-up + {args.duration:.0f} s measured each"
            )
            streams = [create(i, data.listings[i]) for i in range(args.clients)]
            results.append(await drive("create, distinct listings", port, streams, 201, args))
            streams = [create(i, data.listings[0]) for i in range(args.clients)]
            results.append(await drive("create, one hot listing", port, streams, 201, args))

            conn = await asyncpg.connect(data.dsn)
            try:
                ids = [
                    r["id"]
                    for r in await conn.fetch(
                        "SELECT id FROM reservations WHERE listing_id = $1 AND status = 'requested'",
                        data.listings[0],
                    )
                ]
            finally:
                await conn.close()
            provider = data.providers[0].headers()
            streams = [
                [_post(port, f"/v1/reservations/{r}/accept", provider, b"") for r in ids[i :: args.clients]]
                for i in range(args.clients)
            ]
            results.append(await drive("accept, one hot listing (locked)", port, streams, 200, args))
            conn = await asyncpg.connect(data.dsn)
            try:
                held = await conn.fetchval(
                    "SELECT count(*) FROM reservations WHERE listing_id = $1 AND holds", data.listings[0]
                )
            finally:
                await conn.close()
            print(f"  held on the hot listing after the run: {held} reservations")
    finally:
        if embedded is not None:
            embedded.stop()
    return 0 if all(r.errors == 0 for r in results) else 1


def run() -> None:
    raise SystemExit(asyncio.run(main(parse_args())))


if __name__ == "__main__":
    run()
