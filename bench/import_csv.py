"""How long importing a 10 000-row CSV takes, through the real HTTP route (target: under 10 s).

    uv run python bench/import_csv.py [--rows 10000]

Uses DATABASE_URL's server when set, else an embedded PostgreSQL under var/bench.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import time
import uuid
from pathlib import Path

import asyncpg
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.auth.tokens import LocalIssuer, local_subject
from api.db.embedded import start_embedded_server, with_database
from api.db.migrations import migrate
from api.demo.data import siret
from api.settings import Settings

TARGET_S = 10.0
TITLES = [
    ("testwood.pallets", "pallet", "Palettes Europe 80x120 reconditionnées"),
    ("testwood", "kg", "Chutes de bois non traité"),
    ("testwood", "t", "Bois de coffrage réemployable"),
    ("teststorage", "m2", "Surface de stockage couverte"),
]


async def prepare(dsn: str, issuer: LocalIssuer, organisations: int) -> tuple[uuid.UUID, list[str], str]:
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        await conn.execute(
            """INSERT INTO units (code, label_fr, label_en, dimension, kg_factor) VALUES
                   ('kg', 'kg', 'kg', 'mass', 1), ('t', 't', 't', 'mass', 1000),
                   ('pallet', 'palette', 'pallet', 'count', NULL), ('m2', 'm²', 'm²', 'area', NULL)
               ON CONFLICT DO NOTHING;
               INSERT INTO categories (id, parent_id, label_fr, label_en, nature, default_unit, allowed_units,
                                       kg_per_unit, co2e_kg_per_kg, factor_source) VALUES
                   ('testwood', NULL, 'Bois', 'Wood', 'material', 'kg', '{kg,t}', '{}', 0.5, 'bench'),
                   ('testwood.pallets', 'testwood', 'Palettes', 'Pallets', 'material', 'pallet',
                    '{pallet,kg,t}', '{"pallet": 25}', 0.5, 'bench'),
                   ('teststorage', NULL, 'Stockage', 'Storage', 'service', 'm2', '{m2}', '{}', NULL, NULL)
               ON CONFLICT DO NOTHING"""
        )
        network_id = await conn.fetchval(
            "INSERT INTO networks (slug, name, latitude, longitude) VALUES ($1, 'Bench', 45.7, 4.85) "
            "RETURNING id",
            f"bench-{uuid.uuid4().hex[:8]}",
        )
        operator = await conn.fetchval(
            "INSERT INTO users (issuer, subject, email) VALUES ($1, $2, 'op@bench.fr') RETURNING id",
            issuer.issuer,
            local_subject("op@bench.fr"),
        )
        await conn.execute("INSERT INTO network_operators VALUES ($1, $2)", network_id, operator)
        sirets = [siret(str(200_000_000 + i)) for i in range(organisations)]
        ids = await conn.fetch(
            """INSERT INTO organisations (name, siret, latitude, longitude)
               SELECT 'Entreprise ' || s, s, 45.6 + random() / 5, 4.8 + random() / 5 FROM unnest($1::text[]) s
               RETURNING id""",
            sirets,
        )
        await conn.executemany(
            "INSERT INTO memberships (network_id, organisation_id, status) VALUES ($1, $2, 'active')",
            [(network_id, r["id"]) for r in ids],
        )
        return network_id, sirets, issuer.mint(email="op@bench.fr")
    finally:
        await conn.close()


def make_csv(sirets: list[str], rows: int) -> bytes:
    rng = random.Random(42)
    lines = ["siret;direction;category;title;unit;quantity;capacity;capacity_period;publish"]
    for index in range(rows):
        category, unit, title = rng.choice(TITLES)
        amount = f"{rng.randint(1, 500)}.{rng.randint(0, 9)}"
        service = category == "teststorage"
        lines.append(
            ";".join(
                [
                    rng.choice(sirets),
                    rng.choice(["offer", "need"]),
                    category,
                    f"{title} (lot {index})",
                    unit,
                    "" if service else amount,
                    amount if service else "",
                    "month" if service else "",
                    rng.choice(["true", "false"]),
                ]
            )
        )
    return ("\n".join(lines) + "\n").encode()


async def main(rows: int) -> None:
    server = None
    admin = os.environ.get("DATABASE_URL")
    if not admin:
        server = start_embedded_server(Path("var/bench"))
        admin = server.admin_dsn
    name = f"symbiose_bench_import_{uuid.uuid4().hex[:6]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    dsn = with_database(admin, name)
    data_dir = Path("var/bench-import")
    settings = Settings(database_url=dsn, symbiose_data_dir=str(data_dir), log_level="WARNING")
    issuer = LocalIssuer.from_settings(settings)
    try:
        network_id, sirets, token = await prepare(dsn, issuer, organisations=300)
        body = make_csv(sirets, rows)
        async with AsyncTestClient(app=create_asgi(settings), timeout=120) as client:
            started = time.perf_counter()
            response = await client.post(
                f"/v1/networks/{network_id}/imports",
                content=body,
                headers={"authorization": f"Bearer {token}", "content-type": "text/csv"},
            )
            elapsed = time.perf_counter() - started
        assert response.status_code == 201, response.text
        created = response.json()["created"]
        verdict = "PASS" if elapsed < TARGET_S else "FAIL"
        print(f"rows={rows} bytes={len(body)} created={created}")
        print(f"import: {elapsed:.2f} s ({rows / elapsed:,.0f} rows/s); target < {TARGET_S:.0f} s: {verdict}")
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
        if server is not None:
            server.stop()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=10_000)
    asyncio.run(main(parser.parse_args().rows))
