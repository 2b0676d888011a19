"""The command line as a user runs it: migrate, openapi, and serve from a clean data directory."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import asyncpg
import httpx
import psutil
from click.testing import CliRunner

from api.cli import main, openapi_document


def test_migrate_applies_then_reports_up_to_date(empty_database_url: str) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["migrate"], env={"DATABASE_URL": empty_database_url})
    assert first.exit_code == 0, first.output
    assert "applied 0001_" in first.output
    second = runner.invoke(main, ["migrate"], env={"DATABASE_URL": empty_database_url})
    assert second.exit_code == 0, second.output
    assert "up to date" in second.output


def test_serve_refuses_an_unmigrated_database(empty_database_url: str) -> None:
    result = CliRunner().invoke(main, ["serve"], env={"DATABASE_URL": empty_database_url})
    assert result.exit_code != 0
    assert "refusing to serve" in result.output
    assert "symbiose migrate" in result.output


def test_invalid_setting_stops_the_command_naming_the_variable() -> None:
    result = CliRunner().invoke(main, ["migrate"], env={"DATABASE_POOL_MAX_SIZE": "lots"})
    assert result.exit_code != 0
    assert "DATABASE_POOL_MAX_SIZE" in result.output


def test_openapi_writes_the_document(tmp_path: Path) -> None:
    target = tmp_path / "openapi.json"
    result = CliRunner().invoke(main, ["openapi", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == openapi_document()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _wait_for(url: str, process: subprocess.Popen[bytes], timeout_s: float = 60) -> httpx.Response:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve exited early with {process.returncode}")
        try:
            return httpx.get(url, timeout=1)
        except httpx.TransportError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer within {timeout_s}s")


def _embedded_postgres_running(data_dir: Path) -> bool:
    for proc in psutil.process_iter(["name", "cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if proc.info["name"] == "postgres" and str(data_dir / "pg") in " ".join(cmdline):
            return True
    return False


def test_serve_demo_from_nothing_then_ctrl_c_stops_everything(tmp_path: Path) -> None:
    data_dir = tmp_path / "var"
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"}
    env |= {"SYMBIOSE_DATA_DIR": str(data_dir), "SYMBIOSE_PORT": str(port)}
    process = subprocess.Popen(
        [sys.executable, "-m", "api.cli", "serve", "--demo"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        ready = _wait_for(f"http://127.0.0.1:{port}/health/ready", process)
        assert ready.status_code == 200
        docs = httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5)
        assert docs.status_code == 200
        assert "cdn" not in docs.text.lower()
        asset = httpx.get(f"http://127.0.0.1:{port}/docs-assets/swagger-ui-bundle.js", timeout=5)
        assert asset.status_code == 200
        assert _embedded_postgres_running(data_dir.resolve())
    finally:
        process.send_signal(signal.SIGINT)
        output = process.communicate(timeout=30)[0].decode()
    assert process.returncode == 0, output
    assert not _embedded_postgres_running(data_dir.resolve())


def test_token_grants_the_role_then_the_token_works(database_url: str, tmp_path: Path) -> None:
    import asyncio

    from litestar.testing import AsyncTestClient

    from api.app import create_asgi
    from api.settings import Settings

    async def create_network() -> object:
        conn = await asyncpg.connect(database_url)
        try:
            return await conn.fetchval(
                "INSERT INTO networks (slug, name, latitude, longitude) VALUES ('n', 'N', 45, 4) RETURNING id"
            )
        finally:
            await conn.close()

    network_id = asyncio.run(create_network())
    env = {"DATABASE_URL": database_url, "SYMBIOSE_DATA_DIR": str(tmp_path)}
    result = CliRunner().invoke(
        main, ["token", "--email", "claire@cci.fr", "--role", "operator", "--network", "n"], env=env
    )
    assert result.exit_code == 0, result.output
    token = result.output.strip()
    settings = Settings(database_url=database_url, database_pool_min_size=1, symbiose_data_dir=str(tmp_path))

    async def me() -> dict[str, object]:
        async with AsyncTestClient(app=create_asgi(settings)) as client:
            answer: dict[str, object] = (
                await client.get("/v1/me", headers={"authorization": f"Bearer {token}"})
            ).json()
            return answer

    assert asyncio.run(me())["operator_of_networks"] == [str(network_id)]


def test_token_refuses_a_role_without_its_target(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        main, ["token", "--email", "a@b.fr", "--role", "admin"], env={"SYMBIOSE_DATA_DIR": str(tmp_path)}
    )
    assert result.exit_code != 0
    assert "--org" in result.output


async def test_demo_data_loads_twice_without_duplicates(db: asyncpg.Connection) -> None:
    from api.auth.tokens import LOCAL_ISSUER
    from api.demo.loader import load_demo

    tables = ("networks", "organisations", "memberships", "listings", "reservations", "reservation_events")
    await load_demo(db, LOCAL_ISSUER)
    counts = [await db.fetchval(f"SELECT count(*) FROM {t}") for t in tables]
    await load_demo(db, LOCAL_ISSUER)
    assert [await db.fetchval(f"SELECT count(*) FROM {t}") for t in tables] == counts
    assert counts[1] >= 50
    assert counts[3] >= 200
    assert counts[4] == 6
    held = await db.fetchval("SELECT count(*) FROM reservations WHERE holds")
    assert (held, await db.fetchval("SELECT count(*) FROM reservations WHERE status = 'requested'")) == (4, 2)
    # Each reservation's last event says where it is.
    assert not await db.fetchval(
        """SELECT count(*) FROM reservations r WHERE r.status <> (SELECT e.to_status FROM reservation_events e
               WHERE e.reservation_id = r.id ORDER BY e.id DESC LIMIT 1)"""
    )
    published = await db.fetchval("SELECT count(*) FROM listings WHERE status = 'published'")
    assert published > counts[3] / 2


def test_indexer_and_reindex_need_meilisearch(database_url: str) -> None:
    for command in ("indexer", "reindex"):
        result = CliRunner().invoke(
            main, [command], env={"DATABASE_URL": database_url, "MEILISEARCH_URL": ""}
        )
        assert result.exit_code == 1, result.output
        assert "MEILISEARCH_URL is not set" in result.output
