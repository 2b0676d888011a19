"""The `symbiose` command line."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TYPE_CHECKING

import asyncpg
import click
import msgspec

from api.db.migrations import SchemaError, check_schema, migrate
from api.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from api.serving import StopRequest


def _settings() -> Settings:
    try:
        return load_settings()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def resolve_database_url(settings: Settings) -> Settings:
    """Return settings whose `database_url` is set, starting the embedded server if needed."""
    if settings.database_url is not None:
        return settings
    from api.db.embedded import embedded_database_url

    url = embedded_database_url(settings.data_dir)
    return msgspec.structs.replace(settings, database_url=url)


async def _run_migrations(dsn: str) -> list[str]:
    conn = await asyncpg.connect(dsn)
    try:
        return [f"{m.version:04d}_{m.name}" for m in await migrate(conn)]
    finally:
        await conn.close()


async def _check(dsn: str) -> None:
    conn = await asyncpg.connect(dsn)
    try:
        await check_schema(conn)
    finally:
        await conn.close()


def _migrate_or_fail(dsn: str) -> None:
    try:
        applied = asyncio.run(_run_migrations(dsn))
    except SchemaError as exc:
        raise click.ClickException(str(exc)) from exc
    for name in applied:
        click.echo(f"applied {name}")
    if not applied:
        click.echo("database is up to date")


@click.group()
def main() -> None:
    """Symbiose: an API for industrial and territorial ecology networks."""


@main.command()
@click.option("--demo", is_flag=True, help="Migrate and load the demo network before serving.")
@click.option("--migrate", "run_migrate", is_flag=True, help="Apply pending migrations before serving.")
@click.option("--host", default=None, help="Interface to listen on (default: SYMBIOSE_HOST).")
@click.option("--port", type=int, default=None, help="Port to listen on (default: SYMBIOSE_PORT).")
def serve(demo: bool, run_migrate: bool, host: str | None, port: int | None) -> None:
    """Serve the API (and its docs at /docs) until SIGINT or SIGTERM; the embedded PostgreSQL, if it
    started it, stops with it."""
    from api import serving

    settings = _settings()
    overrides: dict[str, object] = {}
    if host is not None:
        overrides["symbiose_host"] = host
    if port is not None:
        overrides["symbiose_port"] = port
    settings = msgspec.structs.replace(settings, **overrides)
    stop = serving.StopRequest()
    with stop.installed():
        if settings.database_url is not None:
            _serve(settings, demo, run_migrate, stop)
            return
        from api.db.embedded import embedded_database

        server, url = embedded_database(settings.data_dir)
        try:
            _serve(msgspec.structs.replace(settings, database_url=url), demo, run_migrate, stop)
        finally:
            server.stop()


def _serve(settings: Settings, demo: bool, run_migrate: bool, stop: StopRequest) -> None:
    from api import serving
    from api.app import create_asgi

    assert settings.database_url is not None
    if demo or run_migrate:
        _migrate_or_fail(settings.database_url)
    if demo:
        from api.auth.tokens import LOCAL_ISSUER
        from api.demo.loader import load_demo_sync

        click.echo(load_demo_sync(settings.database_url, LOCAL_ISSUER))
    try:
        asyncio.run(_check(settings.database_url))
    except SchemaError as exc:
        raise click.ClickException(f"refusing to serve: {exc}") from exc
    click.echo(f"Symbiose on {settings.public_url}  (API docs: {settings.public_url}/docs)")
    serving.run(create_asgi(settings), settings, stop)


@main.command(name="migrate")
def migrate_command() -> None:
    """Apply pending migrations (safe to run from several processes at once)."""
    settings = resolve_database_url(_settings())
    assert settings.database_url is not None
    _migrate_or_fail(settings.database_url)


@main.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option(
    "--network", "network_slug", required=True, help="Slug of the network whose members the rows name."
)
def import_command(file: Path, network_slug: str) -> None:
    """Import listings from a CSV FILE: all rows or none, with a report of every bad row."""
    from api.imports.service import ImportRejectedError, import_csv

    settings = resolve_database_url(_settings())
    assert settings.database_url is not None
    text = file.read_text(encoding="utf-8-sig")
    total = max(text.count("\n") - 1, 1)

    async def run(dsn: str) -> str:
        from api.auth import repository as users

        conn = await asyncpg.connect(dsn)
        try:
            network_id = await users.network_id_by_slug(conn, network_slug)
            if network_id is None:
                raise click.ClickException(f"no network with slug {network_slug!r}")
            with click.progressbar(length=total, label="checking and importing", file=sys.stderr) as bar:
                async with conn.transaction():
                    result = await import_csv(conn, network_id, text, created_by=None, progress=bar.update)
            return f"imported {result.created} listings ({result.published} published) as import {result.id}"
        finally:
            await conn.close()

    try:
        click.echo(asyncio.run(run(settings.database_url)))
    except ImportRejectedError as exc:
        lines = [str(exc.detail)]
        extra = exc.extra if isinstance(exc.extra, dict) else {}
        for row in extra.get("rows", []):
            for error in row["errors"]:
                lines.append(f"  line {row['row']}: {error['path'].removeprefix('row.')}: {error['message']}")
        raise click.ClickException("\n".join(lines)) from exc


@main.command()
def sweep() -> None:
    """Expire what is due (listings past their availability; reservations unanswered or unconfirmed in
    time; transfers unpaid past their deadline, whose quantity returns to the offer), start or
    complete confirmed reservations whose period began or ended, and forget Idempotency-Keys older
    than a day, the search change log older than an hour and events older than
    EVENT_RETENTION_DAYS, and detect synergies in each network not detected for a day; with payments
    configured, also `payments reconcile`. Safe to run alongside the API and alongside another sweep."""
    settings = resolve_database_url(_settings())
    assert settings.database_url is not None

    async def run(dsn: str) -> tuple[int, int, int]:
        from api.db.idempotency import forget_expired_keys
        from api.events.service import prune as prune_events
        from api.listings.service import expire_due
        from api.reservations.service import SWEEP_BATCH, sweep_due
        from api.transfers.service import expire_all_unpaid
        from search.postgres.repository import forget_old_changes

        conn = await asyncpg.connect(dsn)
        try:
            async with conn.transaction():
                listings = await expire_due(conn)
            reservations = 0
            while True:
                async with conn.transaction():
                    moved = await sweep_due(conn)
                reservations += moved
                if moved < SWEEP_BATCH:
                    break
            transfers = await expire_all_unpaid(conn)
            await forget_expired_keys(conn)
            await forget_old_changes(conn)
            await prune_events(conn, settings.event_retention_days)
            return listings, reservations, transfers
        finally:
            await conn.close()

    listings, reservations, transfers = asyncio.run(run(settings.database_url))
    click.echo(
        f"expired {listings} listings; moved {reservations} reservations; "
        f"expired {transfers} transfers unpaid"
    )
    detected = asyncio.run(_detect_synergies(settings, settings.database_url))
    click.echo(f"detected synergies in {len(detected)} networks due; proposed {sum(detected.values())}")
    if settings.payments_configured:
        looked, cancelled = asyncio.run(_reconcile_payments(settings, settings.database_url))
        click.echo(f"looked up {looked} payments awaiting; cancelled {cancelled}")


@main.group()
def payments() -> None:
    """Payments through Stripe (needs STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET)."""


@payments.command()
def reconcile() -> None:
    """Look up at Stripe the PaymentIntent of every reservation and transfer awaiting payment and
    apply what a lost webhook would have (a success confirms the reservation or pays the transfer, a
    failure records its reason), then cancel at Stripe those of reservations that expired or were
    cancelled unpaid, and of transfers cancelled unpaid. The sweep does the same."""
    settings = resolve_database_url(_settings())
    assert settings.database_url is not None
    if not settings.payments_configured:
        raise click.ClickException(
            "payments are not configured: set STRIPE_API_KEY and STRIPE_WEBHOOK_SECRET"
        )

    looked, cancelled = asyncio.run(_reconcile_payments(settings, settings.database_url))
    click.echo(f"looked up {looked} payments awaiting; cancelled {cancelled}")


async def _detect_synergies(settings: Settings, dsn: str) -> dict[uuid.UUID, int]:
    """Synergy detection for the networks whose last run is a day old (`api.synergies.nightly`)."""
    from api.db.pool import create_pool
    from api.synergies import scoring
    from api.synergies.nightly import detect_due

    scoring.configure(
        settings.synergy_weights,
        settings.synergy_half_distance_km,
        settings.synergy_max_distance_km,
        settings.synergy_pooling_radius_km,
        settings.synergy_staff_category,
    )
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        return await detect_due(pool)
    finally:
        await pool.close()


async def _reconcile_payments(settings: Settings, dsn: str) -> tuple[int, int]:
    """(payments looked up, intents cancelled): what `payments reconcile` and `sweep` do at Stripe."""
    from api.db.pool import create_pool
    from api.payments.stripe_client import create_stripe
    from api.payments.webhooks import cancel_requested, reconcile

    made = create_stripe(settings)
    assert made is not None
    pool = await create_pool(dsn, min_size=1, max_size=2)
    try:
        return await reconcile(pool, made[0]), await cancel_requested(pool, made[0])
    finally:
        await pool.close()
        await made[1].close_async()  # type: ignore[no-untyped-call]


def _meilisearch_settings() -> Settings:
    settings = resolve_database_url(_settings())
    if settings.meilisearch_url is None:
        raise click.ClickException("MEILISEARCH_URL is not set: there is no Meilisearch index to feed")
    return settings


@main.command()
@click.option("--batch-size", type=click.IntRange(1, 10_000), default=500, show_default=True)
def indexer(batch_size: int) -> None:
    """Feed Meilisearch from the outbox until SIGINT/SIGTERM (builds the index whole first if it
    never was). Retries with backoff while Meilisearch or PostgreSQL is down; loses nothing."""
    settings = _meilisearch_settings()
    click.echo(f"indexing into {settings.meilisearch_index} at {settings.meilisearch_url}")
    asyncio.run(_run_indexer(settings, batch_size))


async def _run_indexer(settings: Settings, batch_size: int) -> None:
    from api.db.pool import create_pool
    from search.meili import create_client
    from search.meili.indexer import Indexer
    from search.meili.rebuild import rebuild_live
    from search.meili.sender import MeiliSender
    from search.meili.settings import ensure_index

    assert settings.database_url is not None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    pool = await create_pool(settings.database_url, min_size=1, max_size=2)
    client = create_client(settings)
    uid = settings.meilisearch_index
    try:
        await _until_ready(stop, lambda: ensure_index(client, uid))

        async def rebuild() -> None:
            await rebuild_live(pool, client, uid)

        await Indexer(pool, MeiliSender(client, uid), uid, batch_size, rebuild=rebuild).run(stop)
    finally:
        await client.aclose()
        await pool.close()


@main.command()
def deliver() -> None:
    """Send webhooks until SIGINT/SIGTERM: number the event feed, queue a delivery per matching
    endpoint, send what is due, signed, with retries. Safe beside the API's own worker and other
    `deliver` processes (claims are exclusive); set WEBHOOK_WORKER_IN_PROCESS=false to leave
    delivery to these processes alone."""
    settings = resolve_database_url(_settings())
    assert settings.database_url is not None
    asyncio.run(_run_deliverer(settings.database_url, settings.webhook_allow_insecure))


async def _run_deliverer(dsn: str, allow_insecure: bool) -> None:
    from api.db.pool import create_pool
    from api.webhooks.worker import running

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    pool = await create_pool(dsn, min_size=1, max_size=4)
    try:
        click.echo("delivering webhooks")
        async with running(pool, allow_insecure=allow_insecure):
            await stop.wait()
    finally:
        await pool.close()


async def _until_ready(stop: asyncio.Event, attempt: Callable[[], Awaitable[None]]) -> None:
    """Retry `attempt` with capped backoff until it succeeds or `stop` is set."""
    from search.meili.indexer import next_delay, sleep_unless

    delay = 0.0
    while not stop.is_set():
        try:
            await attempt()
            return
        except Exception as exc:
            delay = next_delay(delay)
            click.echo(f"Meilisearch not ready ({exc}); retrying in {delay:.1f} s", err=True)
            await sleep_unless(stop, delay)


@main.command()
def reindex() -> None:
    """Rebuild the Meilisearch index whole under a new name and swap it in atomically."""
    settings = _meilisearch_settings()

    async def run() -> str:
        from api.db.pool import create_pool
        from search.meili import create_client
        from search.meili.rebuild import reindex as rebuild_and_swap

        assert settings.database_url is not None
        pool = await create_pool(settings.database_url, min_size=1, max_size=2)
        client = create_client(settings)
        try:
            return await rebuild_and_swap(pool, client, settings.meilisearch_index)
        finally:
            await client.aclose()
            await pool.close()

    built = asyncio.run(run())
    click.echo(f"built {built} and swapped it in as {settings.meilisearch_index}")


@main.command()
@click.option("--email", required=True, help="Whose token: the user's email.")
@click.option("--name", default=None, help="Display name (default: the email's local part).")
@click.option(
    "--org", "organisation_id", type=click.UUID, default=None, help="Grant a role in this organisation."
)
@click.option("--network", "network_slug", default=None, help="With --role operator: the network's slug.")
@click.option(
    "--role",
    type=click.Choice(["admin", "staff", "operator", "platform-admin"]),
    default=None,
    help="Role to grant before minting: admin/staff need --org, operator needs --network.",
)
@click.option(
    "--ttl", type=click.IntRange(60, 30 * 24 * 3600), default=3600, show_default=True, help="Seconds."
)
def token(
    email: str,
    name: str | None,
    organisation_id: uuid.UUID | None,
    network_slug: str | None,
    role: str | None,
    ttl: int,
) -> None:
    """Print a bearer token from the local issuer (development and scripts)."""
    from api.auth.tokens import LocalIssuer

    settings = _settings()
    if settings.oidc_issuer is not None:
        raise click.ClickException("OIDC_ISSUER is set: tokens come from your identity provider")
    if role in ("admin", "staff") and organisation_id is None:
        raise click.ClickException(f"--role {role} needs --org ORGANISATION_ID")
    if role == "operator" and network_slug is None:
        raise click.ClickException("--role operator needs --network SLUG")
    if organisation_id is not None and role is None:
        raise click.ClickException("--org needs --role admin or --role staff")
    issuer = LocalIssuer.from_settings(settings)
    if role is not None:
        settings = resolve_database_url(settings)
        assert settings.database_url is not None
        try:
            asyncio.run(
                _grant(settings.database_url, issuer.issuer, email, name, role, organisation_id, network_slug)
            )
        except LookupError as exc:
            raise click.ClickException(str(exc)) from exc
    click.echo(issuer.mint(email=email, name=name, ttl_s=ttl))


async def _grant(
    dsn: str,
    issuer: str,
    email: str,
    name: str | None,
    role: str,
    organisation_id: uuid.UUID | None,
    network_slug: str | None,
) -> None:
    from api.auth import repository as users
    from api.auth.tokens import local_subject

    conn = await asyncpg.connect(dsn)
    try:
        async with conn.transaction():
            user_id = await users.upsert_user(
                conn, issuer, local_subject(email), email, name, platform_admin=role == "platform-admin"
            )
            if role in ("admin", "staff") and organisation_id is not None:
                if not await users.organisation_exists(conn, organisation_id):
                    raise LookupError(f"no organisation {organisation_id}")
                await users.grant_organisation_role(conn, organisation_id, user_id, role)
            if role == "operator" and network_slug is not None:
                network_id = await users.network_id_by_slug(conn, network_slug)
                if network_id is None:
                    raise LookupError(f"no network with slug {network_slug!r}")
                await users.grant_operator(conn, network_id, user_id)
    finally:
        await conn.close()


@main.command()
@click.option(
    "--output", type=click.Path(dir_okay=False, path_type=Path), default=None, help="File to write."
)
def openapi(output: Path | None) -> None:
    """Write the OpenAPI document (to stdout without --output)."""
    text = openapi_document()
    if output is None:
        sys.stdout.write(text)
    else:
        output.write_text(text, encoding="utf-8")


def openapi_document() -> str:
    """The OpenAPI document as the code defines it; needs no database."""
    from api.app import create_app

    settings = Settings(database_url="postgresql://unused/unused")
    schema = create_app(settings).openapi_schema.to_schema()
    for item in schema.get("paths", {}).values():
        for operation in filter(lambda o: isinstance(o, dict), item.values()):
            for response in operation.get("responses", {}).values():
                # Litestar keeps a route's response headers in a frozenset: their order is the hash seed's.
                if "headers" in response:
                    response["headers"] = dict(sorted(response["headers"].items()))
    return json.dumps(schema, indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":  # pragma: no cover
    main()
