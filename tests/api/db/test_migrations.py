from __future__ import annotations

import asyncio
from dataclasses import replace

import asyncpg
import pytest

from api.db.migrations import Migration, SchemaError, check_schema, load_migrations, migrate


async def _connect(url: str) -> asyncpg.Connection:
    return await asyncpg.connect(url)


async def test_migrate_applies_every_file_to_an_empty_database(empty_database_url: str) -> None:
    conn = await _connect(empty_database_url)
    try:
        applied = await migrate(conn)
        assert [m.version for m in applied] == [m.version for m in load_migrations()]
        await check_schema(conn)
        assert await conn.fetchval("SELECT count(*) FROM pg_extension WHERE extname = 'earthdistance'") == 1
    finally:
        await conn.close()


async def test_migrate_twice_applies_nothing_the_second_time(empty_database_url: str) -> None:
    conn = await _connect(empty_database_url)
    try:
        await migrate(conn)
        assert await migrate(conn) == []
        assert await conn.fetchval("SELECT count(*) FROM schema_migrations") == len(load_migrations())
    finally:
        await conn.close()


async def test_two_runners_at_once_build_one_schema(empty_database_url: str) -> None:
    first, second = await _connect(empty_database_url), await _connect(empty_database_url)
    try:
        results = await asyncio.gather(migrate(first), migrate(second))
        applied = sorted(len(r) for r in results)
        assert applied == [0, len(load_migrations())]
        rows = await first.fetch("SELECT version, count(*) AS n FROM schema_migrations GROUP BY version")
        assert all(row["n"] == 1 for row in rows)
        assert len(rows) == len(load_migrations())
    finally:
        await first.close()
        await second.close()


async def test_an_edited_applied_migration_is_refused(empty_database_url: str) -> None:
    conn = await _connect(empty_database_url)
    try:
        shipped = load_migrations()
        await migrate(conn, shipped)
        edited = [replace(shipped[0], sql=shipped[0].sql + "\n-- edited\n"), *shipped[1:]]
        with pytest.raises(SchemaError, match="edited after it was applied"):
            await migrate(conn, edited)
        with pytest.raises(SchemaError, match="edited after it was applied"):
            await check_schema(conn, edited)
    finally:
        await conn.close()


async def test_a_database_newer_than_the_code_is_refused(empty_database_url: str) -> None:
    conn = await _connect(empty_database_url)
    try:
        shipped = load_migrations()
        future = Migration(len(shipped) + 1, "from_the_future", "CREATE TABLE from_the_future (id int)")
        await migrate(conn, [*shipped, future])
        with pytest.raises(SchemaError, match="newer than this code"):
            await check_schema(conn, shipped)
    finally:
        await conn.close()


async def test_a_failing_migration_leaves_no_trace_of_itself(empty_database_url: str) -> None:
    conn = await _connect(empty_database_url)
    try:
        shipped = load_migrations()
        broken = Migration(len(shipped) + 1, "broken", "CREATE TABLE half_done (id int); SELECT 1/0;")
        with pytest.raises(asyncpg.DivisionByZeroError):
            await migrate(conn, [*shipped, broken])
        assert await conn.fetchval("SELECT to_regclass('half_done')") is None
        assert await conn.fetchval("SELECT max(version) FROM schema_migrations") == len(shipped)
        # The lock was released: another runner can proceed.
        assert await migrate(conn, shipped) == []
    finally:
        await conn.close()


async def test_unmigrated_database_is_reported_with_the_command_to_run(empty_database_url: str) -> None:
    conn = await _connect(empty_database_url)
    try:
        with pytest.raises(SchemaError, match="symbiose migrate"):
            await check_schema(conn)
    finally:
        await conn.close()
