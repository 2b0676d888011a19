"""What the in-memory index promises beyond the contract suite: it answers exactly what SQL answers,
and a committed change is in the very next search."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg
import msgspec
import pytest

from api.db.pool import Pool
from bench.queries import Generator
from schemas.search import SearchResult
from search.postgres import PostgresBackend
from search.postgres.repository import forget_old_changes
from search.query import Point, SearchQuery, Viewer
from tests.search import dataset, generated
from tests.search.dataset import Spec


@pytest.fixture
async def indexed(pool: Pool) -> AsyncIterator[PostgresBackend]:
    backend = PostgresBackend(pool, index=True)
    yield backend
    await backend.close()


async def ids(backend: PostgresBackend, text: str = "", viewer: Viewer | None = None) -> set[str]:
    result = await backend.search(SearchQuery(text=text, hits_per_page=100), viewer or Viewer())
    return {str(h.id) for h in result.hits}


def comparable(result: SearchResult) -> SearchResult:
    return msgspec.structs.replace(result, processing_time_ms=0, backend="postgres")


def to_query(
    params: list[tuple[str, str]], rng: random.Random, catalogue: generated.Catalogue
) -> SearchQuery:
    """A bench/queries.py search, with what the generator leaves out drawn on top: every sort,
    other filters and facets, other pages."""
    fields: dict[str, Any] = {"facets": ("category", "direction", "nature", "condition", "price")}
    categories: list[str] = []
    for name, value in params:
        if name == "q":
            fields["text"] = value
        elif name == "near":
            lat, lon = value.split(",")
            fields["near"] = Point(float(lat), float(lon))
        elif name == "radius_km":
            fields["radius_km"] = float(value)
        elif name == "category":
            categories.append(value)
        elif name == "direction":
            fields["direction"] = (value,)
        elif name == "page":
            fields["page"] = int(value)
    if categories:
        fields["category"] = tuple(categories)
    draw = rng.random
    fields["sort"] = rng.choice(
        ["relevance", "relevance", "newest", "quantity"] + (["distance"] if "near" in fields else [])
    )
    if draw() < 0.3:
        fields["near"] = fields.get("near") or Point(
            45.70 + rng.uniform(-0.1, 0.1), 4.85 + rng.uniform(-0.1, 0.1)
        )
    if draw() < 0.15:
        fields["quantity_at_least"] = Decimal(rng.choice(["1", "10.5", "100", "250.25"]))
    if draw() < 0.15:
        fields["available_on"] = date.today() + timedelta(days=rng.choice([0, 10, 30, 90]))
    if draw() < 0.1:
        fields["ess"] = rng.random() < 0.5
    if draw() < 0.1:
        fields["hazardous"] = rng.random() < 0.5
    if draw() < 0.15:
        fields["price"] = (rng.choice(["free", "paid"]),)
    if draw() < 0.15:
        fields["condition"] = tuple(rng.sample(["new", "good", "used", "for_parts"], 2))
    if draw() < 0.1:
        fields["organisation"] = tuple(rng.sample(catalogue.organisations, 3))
    if draw() < 0.1:
        fields["zone"] = (rng.choice(catalogue.zones),)
    if draw() < 0.1:
        fields["network"] = (catalogue.other_network,)
    if draw() < 0.3:
        names = ["category", "direction", "nature", "network", "zone", "organisation", "condition", "price"]
        fields["facets"] = tuple(rng.sample([*names, "ess", "hazardous"], 4))
    if draw() < 0.2:
        fields["hits_per_page"] = rng.choice([5, 50, 100])
        fields["page"] = rng.choice([1, 2, 3])
    return SearchQuery(**fields)


async def test_the_index_answers_exactly_what_sql_answers(db: asyncpg.Connection, pool: Pool) -> None:
    catalogue = await generated.load(db, listings=3000, organisations=60)
    sql, indexed = PostgresBackend(pool), PostgresBackend(pool, index=True)
    await indexed.refresh()
    rng = random.Random(11)
    generator = Generator(23)
    viewers = [Viewer(), Viewer(frozenset({catalogue.network})), Viewer(frozenset({catalogue.other_network}))]
    compared = found = 0
    for mix in ("text", "browse"):
        for _ in range(150):
            query = to_query(generator.text() if mix == "text" else generator.browse(), rng, catalogue)
            viewer = rng.choice(viewers)
            expected, got = await sql.search(query, viewer), await indexed.search(query, viewer)
            assert comparable(got) == comparable(expected), query
            compared += 1
            found += expected.total_hits > 0
    assert (indexed.computed_by_index, indexed.computed_in_sql) == (compared, 0)
    assert found > compared // 2  # most generated searches find something: the comparison is not vacuous
    await indexed.close()


async def test_pages_stay_in_rank_order_after_older_listings_change(
    db: asyncpg.Connection, pool: Pool
) -> None:
    """Updated older listings are appended out of rank order, new ones at the top, and some of both
    moved again: every page still comes in SQL's order."""
    catalogue = await generated.load(db, listings=1500, organisations=40)
    sql, indexed = PostgresBackend(pool), PostgresBackend(pool, index=True)
    await indexed.refresh()
    assert indexed.keeper is not None
    rng = random.Random(17)
    listings = [r["id"] for r in await db.fetch("SELECT id FROM listings ORDER BY published_at, id")]
    for round_ in range(3):
        older = rng.sample(listings[: len(listings) // 2], 40)
        await db.execute("UPDATE listings SET title = title || ' révisé' WHERE id = ANY($1::uuid[])", older)
        newer = rng.sample(listings, 15)
        await db.execute(
            "UPDATE listings SET published_at = now() - make_interval(secs => $2) WHERE id = ANY($1::uuid[])",
            newer,
            float(3 - round_),
        )
    generator = Generator(31)
    compared = 0
    for mix in ("text", "browse"):
        for _ in range(60):
            query = to_query(generator.text() if mix == "text" else generator.browse(), rng, catalogue)
            query = dataclasses.replace(query, sort=rng.choice(["relevance", "newest"]))
            expected, got = await sql.search(query, Viewer()), await indexed.search(query, Viewer())
            assert comparable(got) == comparable(expected), query
            compared += len(expected.hits)
    index = indexed.keeper.index
    assert index is not None
    assert len(index.misplaced) > 0
    assert compared > 500
    assert indexed.computed_in_sql == 0
    await indexed.close()


async def test_a_committed_change_is_in_the_next_search_while_others_search(
    db: asyncpg.Connection, indexed: PostgresBackend
) -> None:
    world = await dataset.load(db)
    await indexed.refresh()
    stop = asyncio.Event()

    async def search_meanwhile() -> int:
        count = 0
        while not stop.is_set():
            await ids(indexed, "bobines")
            count += 1
        return count

    others = [asyncio.create_task(search_meanwhile()) for _ in range(3)]
    try:
        for n in range(15):
            new = await dataset.insert(
                db, world, Spec(f"b{n}", "A", "N1", f"Bobines lot{n} vides", days_ago=0)
            )
            assert str(new) in await ids(indexed, f"lot{n}")
            await db.execute("UPDATE listings SET status = 'paused' WHERE id = $1", new)
            assert await ids(indexed, f"lot{n}") == set()
    finally:
        stop.set()
    assert all(count > 0 for count in await asyncio.gather(*others))
    assert indexed.computed_in_sql == 0


async def test_expiry_is_evaluated_when_searching(db: asyncpg.Connection, indexed: PostgresBackend) -> None:
    world = await dataset.load(db)
    soon = datetime.now(UTC) + timedelta(seconds=2)
    new = await dataset.insert(db, world, Spec("soon", "A", "N1", "Tourets éphémères", available_until=soon))
    await indexed.refresh()
    assert await ids(indexed, "tourets") == {str(new)}
    generation = await db.fetchval("SELECT value FROM search_generation")
    await asyncio.sleep((soon - datetime.now(UTC)).total_seconds() + 0.2)
    assert await ids(indexed, "tourets") == set()
    assert await db.fetchval("SELECT value FROM search_generation") == generation  # no write in between
    assert indexed.computed_in_sql == 0


async def test_a_suspension_hides_the_members_listings_at_its_commit(
    db: asyncpg.Connection, indexed: PostgresBackend
) -> None:
    world = await dataset.load(db)
    await indexed.refresh()
    assert str(world.ids["poly1"]) in await ids(indexed, "polystyrene")
    await db.execute(
        "UPDATE memberships SET status = 'suspended' WHERE organisation_id = $1", world.organisations["B"]
    )
    assert await ids(indexed, "polystyrene") == set()
    await db.execute(
        "UPDATE memberships SET status = 'active' WHERE organisation_id = $1", world.organisations["B"]
    )
    assert str(world.ids["poly1"]) in await ids(indexed, "polystyrene")
    assert indexed.computed_in_sql == 0


async def test_the_index_is_rebuilt_when_the_change_log_no_longer_covers_it(
    db: asyncpg.Connection, indexed: PostgresBackend
) -> None:
    world = await dataset.load(db)
    await indexed.refresh()
    assert indexed.keeper is not None
    assert indexed.keeper.builds == 1
    new = await dataset.insert(db, world, Spec("new", "A", "N1", "Tourets de câble", days_ago=0))
    assert await forget_old_changes(db, timedelta(0)) > 0
    assert await ids(indexed, "tourets") == {str(new)}  # answered through SQL while it rebuilds
    assert indexed.computed_in_sql == 1
    await indexed.refresh()
    assert indexed.keeper.builds == 2
    assert await ids(indexed, "tourets") == {str(new)}
    assert indexed.computed_in_sql == 1


async def test_a_change_the_log_cannot_name_rebuilds_the_index(
    db: asyncpg.Connection, indexed: PostgresBackend
) -> None:
    world = await dataset.load(db)
    await indexed.refresh()
    await db.execute("TRUNCATE listing_events, listings CASCADE")
    assert await ids(indexed, "palettes") == set()
    await indexed.refresh()
    assert indexed.keeper is not None
    assert indexed.keeper.builds == 2
    assert await ids(indexed, "palettes") == set()
    assert world.ids  # the world was loaded before the truncation


async def test_a_search_is_answered_in_one_statement_until_a_commit_widens_its_words(
    db: asyncpg.Connection, indexed: PostgresBackend
) -> None:
    """The words' terms are kept at the generation they were expanded at: after a commit that brings
    a word one typo away into the vocabulary, the search expands them again and finds the listing."""
    world = await dataset.load(db)
    await indexed.refresh()
    assert await ids(indexed, "zorglux") == set()
    assert indexed.answered_optimistically == 0  # the words were never expanded
    assert await ids(indexed, "zorglux") == set()
    assert await ids(indexed, "") != set()
    assert indexed.answered_optimistically == 2
    new = await dataset.insert(db, world, Spec("z", "A", "N1", "Zorglub en vrac", days_ago=0))
    assert str(new) in await ids(indexed, "")  # brings the index to the commit, not the terms
    assert await ids(indexed, "zorglux") == {str(new)}
    assert indexed.answered_optimistically == 2
    assert await ids(indexed, "zorglux") == {str(new)}
    assert indexed.answered_optimistically == 3
    assert indexed.computed_in_sql == 0
