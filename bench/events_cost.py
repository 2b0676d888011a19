"""What the event feed costs: transfer actions with the event triggers on and off, and webhook
deliveries per second to a receiver on loopback.

    uv run python bench/events_cost.py              # about a minute on 2 cores
    uv run python bench/events_cost.py --help

1. Actions. Two databases, migrated alike; in the second every trigger that writes the feed
   (`*_events_public`, `payment_state_events`) is disabled. Each round runs `--transfers` whole
   transfer lifecycles (request, accept, schedule, dispatch, receive, complete: six actions, six
   events) through the app in this process (ASGI, no socket: the whole request path without the
   network stack), `--clients` at a time, alternately on each database (each first every other
   round); the cost is the median time with triggers over the median without, minus one (and the
   median of the rounds' pairs, run back to back, which the machine's load swings less). On a
   shared machine that ratio is noisy, so PostgreSQL's own count of the time spent in the trigger
   function (`track_functions`) is printed beside it, against an action's time; `--async-commit`
   runs both with `synchronous_commit=off`, to see what the commit's WAL flush adds.
2. Deliveries. `--deliveries` events queued to one endpoint whose receiver (a keep-alive HTTP/1.1
   server in a subprocess, answering 200 at once) listens on 127.0.0.1; the real worker
   (`Deliverer.drain`: numbering, fan-out, claims, signed POSTs, each result recorded) sends them all.

Uses DATABASE_URL if set (the role needs CREATEDB), else the embedded PostgreSQL under var/bench.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make `api` and `tests` importable
    sys.path.insert(0, str(ROOT))

from litestar.testing import AsyncTestClient  # noqa: E402

from api.app import create_asgi  # noqa: E402
from api.auth.tokens import LocalIssuer  # noqa: E402
from api.db.embedded import start_embedded_server, with_database  # noqa: E402
from api.db.migrations import migrate  # noqa: E402
from api.db.pool import create_pool  # noqa: E402
from api.settings import Settings  # noqa: E402
from api.webhooks.worker import Deliverer, http_client  # noqa: E402
from tests import factories  # noqa: E402
from tests.factories import Person  # noqa: E402

WITH, WITHOUT = "symbiose_bench_events_on", "symbiose_bench_events_off"
DELIVERIES = "symbiose_bench_events_deliveries"
FEED_TRIGGERS = (
    ("listing_events", "listing_events_public"),
    ("transfer_events", "transfer_events_public"),
    ("reservation_events", "reservation_events_public"),
    ("membership_events", "membership_events_public"),
    ("synergy_events", "synergy_events_public"),
    ("payment_intents", "payment_state_events"),
)
PLAN = {"scheduled_for": "2026-03-02T08:00:00Z", "transport_mode": "road"}


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--transfers", type=int, default=40, help="transfer lifecycles per round (40)")
    parser.add_argument("--clients", type=int, default=8, help="lifecycles run at once (8)")
    parser.add_argument("--rounds", type=int, default=5, help="rounds on each database (5)")
    parser.add_argument("--deliveries", type=int, default=3000, help="webhook deliveries to send (3000)")
    parser.add_argument(
        "--async-commit", action="store_true", help="synchronous_commit=off on both (is it the WAL flush?)"
    )
    parser.add_argument("--only", choices=("actions", "deliveries"), help="run one of the two")
    parser.add_argument(
        "--data-dir", type=Path, default=ROOT / "var" / "bench", help="embedded PostgreSQL, keys"
    )
    return parser.parse_args(argv)


@dataclass
class Park:
    offer: Any
    giver: Any
    taker: Any
    alice: Person
    tom: Person


async def recreate(admin_dsn: str, name: str, template: str | None = None) -> str:
    admin = await asyncpg.connect(admin_dsn)
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        source = f' TEMPLATE "{template}"' if template else ""
        await admin.execute(f'CREATE DATABASE "{name}"{source}')
    finally:
        await admin.close()
    return with_database(admin_dsn, name)


async def seed(dsn: str, issuer: LocalIssuer) -> Park:
    """A network, a giver with an offer of a million pallets, a taker."""
    db = await asyncpg.connect(dsn)
    try:
        await migrate(db)
        alice = await factories.person(db, issuer, "alice@giver.fr")
        tom = await factories.person(db, issuer, "tom@taker.fr")
        network = await factories.network(db, "parc-bench")
        giver = await factories.organisation(db, "Giver", admins=(alice,))
        taker = await factories.organisation(db, "Taker", admins=(tom,))
        for organisation in (giver, taker):
            await factories.membership(db, network, organisation, "active")
        offer = await factories.listing(db, network, giver)
        await db.execute(
            "UPDATE listings SET quantity = 1000000, available_quantity = 1000000 WHERE id = $1", offer
        )
        return Park(offer, giver, taker, alice, tom)
    finally:
        await db.close()


def settings_for(dsn: str, data_dir: Path) -> Settings:
    return Settings(
        database_url=dsn,
        symbiose_data_dir=str(data_dir),
        sweep_interval_seconds=0,
        webhook_worker_in_process=False,
        rate_limit_authenticated_per_minute=10_000_000,
        log_level="WARNING",
    )


async def lifecycle(client: AsyncTestClient[Any], park: Park) -> None:
    giver, taker = park.alice.headers(park.giver), park.tom.headers(park.taker)
    made = await client.post(f"/v1/listings/{park.offer}/transfers", json={"quantity": "2"}, headers=taker)
    assert made.status_code == 201, made.text
    tid = made.json()["id"]
    for action, body, headers in (
        ("accept", {}, giver),
        ("schedule", PLAN, giver),
        ("dispatch", {}, giver),
        ("receive", {"received_quantity": "2"}, taker),
        ("complete", {}, giver),
    ):
        response = await client.post(f"/v1/transfers/{tid}/{action}", json=body, headers=headers)
        assert response.status_code == 200, f"{action}: {response.text}"


async def round_time(client: AsyncTestClient[Any], park: Park, transfers: int, clients: int) -> float:
    queue = list(range(transfers))

    async def one_client() -> None:
        while queue:
            queue.pop()
            await lifecycle(client, park)

    started = time.perf_counter()
    await asyncio.gather(*(one_client() for _ in range(clients)))
    return time.perf_counter() - started


async def bench_actions(admin_dsn: str, args: argparse.Namespace) -> tuple[dict[str, list[float]], float]:
    """Seconds of each round on each database, and the milliseconds of a trigger call."""
    data_dir: Path = args.data_dir
    issuer = LocalIssuer.from_settings(settings_for(admin_dsn, data_dir))
    on = await recreate(admin_dsn, WITH)
    park = await seed(on, issuer)
    off = await recreate(admin_dsn, WITHOUT, template=WITH)
    admin = await asyncpg.connect(admin_dsn)
    try:  # time spent in PL/pgSQL functions, to say where the cost goes
        await admin.execute(f"ALTER DATABASE \"{WITH}\" SET track_functions = 'pl'")
        for name in (WITH, WITHOUT) if args.async_commit else ():
            await admin.execute(f'ALTER DATABASE "{name}" SET synchronous_commit = off')
    finally:
        await admin.close()
    db = await asyncpg.connect(off)
    try:
        for table, trigger in FEED_TRIGGERS:
            await db.execute(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}")
    finally:
        await db.close()
    times: dict[str, list[float]] = {"on": [], "off": []}
    async with (
        AsyncTestClient(app=create_asgi(settings_for(on, data_dir))) as with_events,
        AsyncTestClient(app=create_asgi(settings_for(off, data_dir))) as without_events,
    ):
        for client in (with_events, without_events):  # warm up: plans, pools, caches
            await round_time(client, park, args.clients, args.clients)
        pair = [("on", with_events), ("off", without_events)]
        for i in range(args.rounds):  # each goes first every other round
            for name, client in pair if i % 2 == 0 else pair[::-1]:
                times[name].append(await round_time(client, park, args.transfers, args.clients))
    per_call = 0.0
    for name, dsn in (("on", on), ("off", off)):
        db = await asyncpg.connect(dsn)
        try:
            written = await db.fetchval("SELECT count(*) FROM events")
            print(f"  events written with triggers {name}: {written}")
            if name == "on":
                for row in await db.fetch(
                    """SELECT funcname, calls, total_time FROM pg_stat_user_functions
                       WHERE funcname IN ('record_public_event', 'event_type') ORDER BY funcname DESC"""
                ):
                    per_call = row["total_time"] / max(row["calls"], 1)
                    print(
                        f"  {row['funcname']}: {row['calls']} calls, {per_call:.3f} ms a call (in PostgreSQL)"
                    )
        finally:
            await db.close()
    return times, per_call


def serve_receiver(port: Any, ready: Any) -> None:
    """A keep-alive HTTP/1.1 server that answers every request 200 at once (run in a subprocess)."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":", 1)[1])
                await reader.readexactly(length)
                writer.write(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=1024)
        port.value = server.sockets[0].getsockname()[1]
        ready.set()
        await server.serve_forever()

    asyncio.run(main())


async def bench_deliveries(admin_dsn: str, args: argparse.Namespace) -> tuple[float, float, float, int]:
    """(seconds in all, seconds sending, the worker's CPU seconds sending, deliveries made)."""
    dsn = await recreate(admin_dsn, DELIVERIES)
    await seed(dsn, LocalIssuer.from_settings(settings_for(dsn, args.data_dir)))
    port = multiprocessing.Value("i", 0)
    ready = multiprocessing.Event()
    receiver = multiprocessing.Process(target=serve_receiver, args=(port, ready), daemon=True)
    receiver.start()
    ready.wait(10)
    pool = await create_pool(dsn, min_size=2, max_size=10)
    try:
        async with pool.acquire() as conn:
            giver = await conn.fetchval("SELECT id FROM organisations WHERE name = 'Giver'")
            await conn.execute(
                """INSERT INTO webhook_endpoints (organisation_id, url, secret)
                   VALUES ($1, $2, 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw')""",
                giver,
                f"http://127.0.0.1:{port.value}/hook",
            )
            await conn.execute(
                """INSERT INTO membership_events (membership_id, action, from_status, to_status)
                   SELECT m.id, 'suspend', 'active', 'suspended' FROM memberships m, generate_series(1, $2)
                   WHERE m.organisation_id = $1""",
                giver,
                args.deliveries,
            )
        async with http_client() as client:
            worker = Deliverer(pool, client, allow_insecure=True)
            started = time.perf_counter()
            await worker.prepare()
            sending, cpu = time.perf_counter(), time.process_time()
            await worker.drain()
            ended, cpu = time.perf_counter(), time.process_time() - cpu
        async with pool.acquire() as conn:
            succeeded = await conn.fetchval(
                "SELECT count(*) FROM webhook_deliveries WHERE status = 'succeeded'"
            )
        return ended - started, ended - sending, cpu, int(succeeded)
    finally:
        await pool.close()
        receiver.terminate()


async def report_actions(admin_dsn: str, args: argparse.Namespace) -> None:
    print(
        f"1. {args.rounds} rounds of {args.transfers} transfer lifecycles (6 actions), {args.clients} at once"
    )
    times, per_call = await bench_actions(admin_dsn, args)
    actions = args.transfers * 6
    for name in ("on", "off"):
        rounds = ", ".join(f"{t:.2f}" for t in times[name])
        median = statistics.median(times[name])
        print(f"  triggers {name:3}: {actions / median:5.0f} actions/s (median {median:.2f} s; {rounds})")
    cost = statistics.median(times["on"]) / statistics.median(times["off"]) - 1
    paired = statistics.median(on / off for on, off in zip(times["on"], times["off"], strict=True)) - 1
    print(f"  cost of writing the events: {cost * 100:+.1f} % of an action's time (target < 10 %)")
    print(f"  the same, median of each round's pair (run back to back): {paired * 100:+.1f} %")
    latency_ms = statistics.median(times["off"]) * 1000 * args.clients / actions
    print(
        f"  an action takes {latency_ms:.1f} ms without triggers; its trigger {per_call:.2f} ms "
        f"({per_call / latency_ms * 100:.1f} %)"
    )


async def report_deliveries(admin_dsn: str, args: argparse.Namespace) -> None:
    print(f"2. {args.deliveries} webhook deliveries to a receiver on 127.0.0.1")
    total, sending, cpu, done = await bench_deliveries(admin_dsn, args)
    print(f"  {done} delivered: {done / total:.0f}/s in all ({total:.2f} s, numbering and fan-out included)")
    print(f"  {done / sending:.0f}/s once queued (target >= 200/s)")
    print(
        f"  the worker's CPU: {cpu / done * 1e6:.0f} us a delivery ({done / cpu:.0f}/s on a core of its own)"
    )


async def main(args: argparse.Namespace) -> None:
    url = os.environ.get("DATABASE_URL")
    server = None if url else start_embedded_server(args.data_dir)
    admin_dsn = url or (server.admin_dsn if server else "")
    try:
        if args.only in (None, "actions"):
            await report_actions(admin_dsn, args)
        if args.only in (None, "deliveries"):
            await report_deliveries(admin_dsn, args)
    finally:
        if server is not None:
            server.stop()


if __name__ == "__main__":
    asyncio.run(main(parse_args()))
