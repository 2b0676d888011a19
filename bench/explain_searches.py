"""Where a computed search spends its time: the slowest of a sample, each timed alone, explained.

Each search path (as bench/queries.py writes them) is turned into the statement the PostgreSQL
backend runs first (`search.postgres.repository._summary_sql`: the page's ids, the total and the
facets), for an anonymous caller, and timed alone on one connection with the API's session
settings; the N slowest are printed with `EXPLAIN (ANALYZE, BUFFERS)`.

    uv run python bench/explain_searches.py --sample 200 --top 3 [FILE]   # after bench/wrk_bench.py
"""

from __future__ import annotations

import argparse
import asyncio
import random
import sys
import time
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

LIST_PARAMETERS = {"direction", "nature", "category", "condition", "price", "facets", "network", "zone"}


def statement(path: str) -> tuple[str, list[object], int]:
    """The summary statement of one search path, its values, and how many words it has."""
    from api.search.service import request_from
    from search.postgres import repository
    from search.postgres.text import query_words
    from search.query import Viewer, to_query

    values: dict[str, object] = {}
    for key, value in parse_qsl(urlsplit(path).query):
        if key in LIST_PARAMETERS:
            values.setdefault(key, []).append(value)  # type: ignore[union-attr]
        elif key in ("radius_km",):
            values[key] = float(value)
        elif key in ("page", "hits_per_page"):
            values[key] = int(value)
        else:
            values[key] = value
    query = to_query(request_from(values))
    words = query_words(query.text)
    sql, params = repository._summary_sql(query, Viewer(), words)
    return sql, params, len(words)


async def slowest(dsn: str, paths: list[str], top: int, sample: int = 200, seed: int = 5) -> None:
    import asyncpg

    from api.db.pool import SERVER_SETTINGS

    chosen = random.Random(seed).sample(paths, min(sample, len(paths)))
    conn = await asyncpg.connect(dsn, server_settings=SERVER_SETTINGS)
    try:
        timed: list[tuple[float, str]] = []
        for path in chosen:
            sql, params, _ = statement(path)
            started = time.perf_counter()
            await conn.fetchrow(sql, *params)
            timed.append((time.perf_counter() - started, path))
        timed.sort(reverse=True)
        ms = sorted(t * 1000 for t, _ in timed)
        print(
            f"\n{len(timed)} searches timed alone (summary statement, anonymous): "
            f"p50 {ms[len(ms) // 2]:.1f} ms, p90 {ms[int(len(ms) * 0.9)]:.1f} ms, max {ms[-1]:.1f} ms"
        )
        for seconds, path in timed[:top]:
            sql, params, _ = statement(path)
            rows = await conn.fetch("EXPLAIN (ANALYZE, BUFFERS) " + sql, *params)
            print(f"\n{seconds * 1000:.1f} ms: {path}")
            print("\n".join(r[0] for r in rows))
    finally:
        await conn.close()


def main() -> None:
    from api.db.embedded import start_embedded_server, with_database
    from bench import dataset

    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", nargs="*", type=Path)
    parser.add_argument("--sample", type=int, default=200)
    parser.add_argument("--top", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=ROOT / "var" / "bench")
    args = parser.parse_args()
    files = args.files or [args.data_dir / "wrk" / "text.txt", args.data_dir / "wrk" / "browse.txt"]
    embedded = start_embedded_server(args.data_dir)
    try:
        dsn = with_database(embedded.admin_dsn, dataset.DATABASE)
        for file in files:
            print(f"== {file}")
            asyncio.run(slowest(dsn, file.read_text(encoding="utf-8").split(), args.top, args.sample))
    finally:
        embedded.stop()


if __name__ == "__main__":
    main()
