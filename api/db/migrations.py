"""Numbered plain-SQL migrations, applied in order under an advisory lock.

Files are `migrations/NNNN_name.sql`. Each runs in its own transaction and is recorded with the
SHA-256 of its text, so a migration edited after it was applied is refused rather than ignored.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from importlib import resources

from api.db.pool import Connection

# Arbitrary but fixed: every Symbiose instance contends for the same lock.
MIGRATION_LOCK_KEY = 7_361_984_220_415
_FILE_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")


class SchemaError(Exception):
    """The database schema does not match the migrations this code ships."""


@dataclass(frozen=True, slots=True)
class Migration:
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def load_migrations() -> list[Migration]:
    """The shipped migrations, in order; versions must run 1, 2, 3... without gaps."""
    found: list[Migration] = []
    for entry in resources.files("api.db").joinpath("migrations").iterdir():
        match = _FILE_NAME.match(entry.name)
        if match is None:
            continue
        found.append(Migration(int(match[1]), match[2], entry.read_text(encoding="utf-8")))
    found.sort(key=lambda m: m.version)
    for expected, migration in enumerate(found, start=1):
        if migration.version != expected:
            raise SchemaError(f"migration {expected:04d} is missing (found {migration.version:04d})")
    return found


_CREATE_TABLE = """
CREATE TABLE IF NOT EXISTS schema_migrations (
    version integer PRIMARY KEY,
    name text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
)
"""


async def _applied(conn: Connection) -> dict[int, tuple[str, str]]:
    exists = await conn.fetchval("SELECT to_regclass('schema_migrations') IS NOT NULL")
    if not exists:
        return {}
    rows = await conn.fetch("SELECT version, name, checksum FROM schema_migrations ORDER BY version")
    return {row["version"]: (row["name"], row["checksum"]) for row in rows}


def _pending(applied: dict[int, tuple[str, str]], migrations: list[Migration]) -> list[Migration]:
    """Check what was applied against what ships; return what is left to apply."""
    known = {m.version: m for m in migrations}
    newer = sorted(v for v in applied if v not in known)
    if newer:
        raise SchemaError(
            f"the database has migration {newer[-1]:04d}, newer than this code knows "
            f"(latest {max(known, default=0):04d}); deploy the newer code"
        )
    for version, (name, checksum) in applied.items():
        if known[version].checksum != checksum:
            raise SchemaError(
                f"migration {version:04d}_{name} was edited after it was applied; "
                "applied migrations are never edited, add a new one instead"
            )
    return [m for m in migrations if m.version not in applied]


async def migrate(conn: Connection, migrations: list[Migration] | None = None) -> list[Migration]:
    """Apply every pending migration; return those applied. Safe to run from several processes."""
    migrations = load_migrations() if migrations is None else migrations
    await conn.execute("SELECT pg_advisory_lock($1)", MIGRATION_LOCK_KEY)
    try:
        await conn.execute(_CREATE_TABLE)
        pending = _pending(await _applied(conn), migrations)
        for migration in pending:
            async with conn.transaction():
                await conn.execute(migration.sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                    migration.version,
                    migration.name,
                    migration.checksum,
                )
        return pending
    finally:
        await conn.execute("SELECT pg_advisory_unlock($1)", MIGRATION_LOCK_KEY)


async def check_schema(conn: Connection, migrations: list[Migration] | None = None) -> None:
    """Raise `SchemaError` unless the database is exactly at this code's latest migration."""
    migrations = load_migrations() if migrations is None else migrations
    pending = _pending(await _applied(conn), migrations)
    if pending:
        raise SchemaError(
            f"the database is not migrated ({len(pending)} pending, first {pending[0].version:04d}_"
            f"{pending[0].name}); run `symbiose migrate`"
        )
