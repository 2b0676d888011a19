"""The PostgreSQL search backend: search reads the listings tables themselves, so a change is
searchable the moment it commits."""

from __future__ import annotations

import asyncio
import math
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

import msgspec

from api.db.pool import Connection, Pool
from schemas.search import TOTAL_HITS_BOUND, SearchHit, SearchResult
from search.backend import BackendHealth
from search.postgres import repository
from search.postgres.cache import Catalogue, ResultCache
from search.postgres.highlight import Lexicon
from search.postgres.index import Found
from search.postgres.keeper import IndexKeeper
from search.postgres.repository import TERMS, Params, hits_json_sql, tsquery_of
from search.postgres.text import query_words
from search.postgres.tsquery import Node, UnsupportedError, parse
from search.query import SearchQuery, Viewer

HEALTH_TIMEOUT_S: Final = 2.0
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
_HITS: Final = msgspec.json.Decoder(list[SearchHit])
# What the index needs from PostgreSQL before it answers, in one round trip: the generation (is the
# index behind?), the clock (expiry) and, with text, the query's words expanded by PostgreSQL's
# analysis (repository.TERMS: the tsquery is `repository.tsquery_of` them).
_STATE: Final = """SELECT g.value, g.changes_kept_after, now(),
        (extract(epoch FROM now()) * 1000000)::int8 AS now_us, {terms} AS terms
    FROM search_generation g"""
STATE_SQL: Final = _STATE.format(terms="NULL::text[]")
STATE_WITH_TEXT_SQL: Final = _STATE.format(
    terms=f"(SELECT q.terms FROM ({TERMS.format(words='$1')}) q)"  # noqa: S608
)
# The optimistic answer's one statement: the page's rows (`{hits}`, visibility checked) and the
# generation and clock they were read at, which must be those the index answered at. The page comes
# as UTF-8 bytes, which msgspec decodes as they are: as text, asyncpg decoded the accented French
# into a str that was encoded back to bytes at once.
_CHECKED_PAGE: Final = """SELECT g.value, (extract(epoch FROM now()) * 1000000)::int8 AS now_us,
        convert_to({hits}, 'UTF8') AS hits
    FROM search_generation g"""
# Expanded terms kept, for the words of the searches since the generation they were read at.
TERMS_KEPT: Final = 50_000


@dataclass(frozen=True, slots=True)
class Answer:
    """What the index answers a search with, and the catalogue state it answered at."""

    found: Found
    tsquery: str | None
    generation: int
    next_expiry: datetime | None


class PostgresBackend:
    """Full text with French and English stems, accents folded, one typo from five letters and the
    last word as a prefix; filters, exact disjunctive facet counts and the radius in SQL."""

    name = "postgres"

    def __init__(self, pool: Pool, cache_entries: int = 0, *, index: bool = False) -> None:
        self.pool = pool
        self.cache = ResultCache(cache_entries) if cache_entries > 0 else None
        self.keeper = IndexKeeper(pool) if index else None
        self.computed_by_index = 0
        self.computed_in_sql = 0
        self.answered_optimistically = 0
        # (word, whether it is the query's last) -> its term, as expanded at `_terms_generation`.
        self._terms: dict[tuple[str, bool], str] = {}
        self._terms_generation = -1
        self.lexicon = Lexicon()

    def start(self) -> None:
        """Start building the in-memory index, if this backend keeps one."""
        if self.keeper is not None:
            self.keeper.start()

    async def search(self, query: SearchQuery, viewer: Viewer) -> SearchResult:
        if (
            self.keeper is not None
            and self.keeper.index is not None
            and (self.cache is None or (query, viewer) not in self.cache)
        ):
            result = await self._optimistic(query, viewer)
            if result is not None:
                return result
        if self.cache is None:
            return await self._compute(query, viewer)
        started = time.perf_counter()
        cache, key = self.cache, (query, viewer)
        words = query_words(query.text)
        # With the index built, the statement that reads the generation also expands the tsquery,
        # so that a miss is answered with one more round trip only (the page's rows).
        indexed = self.keeper is not None and self.keeper.index is not None
        answer: Answer | None = None
        async with self.pool.acquire() as conn:
            if indexed:
                row = await self._read_state(conn, words)
            else:
                row = await conn.fetchrow(repository.GENERATION_SQL)
            assert row is not None  # search_generation holds its one row from migration 0011 on
            generation = row["value"]
            entry = cache.get(key, row["now"])
            if entry is not None and entry.generation < generation:
                if words and await repository.untouched(conn, entry.generation, generation, words):
                    entry.renew(generation)
                    cache.stats.revalidated += 1
                else:
                    entry = None
            elif entry is not None:
                cache.stats.hits += 1
            if entry is None and indexed:
                answer = await self._answer(conn, row, query, viewer, words)
        if entry is None:
            cache.stats.misses += 1
            if answer is None and self.keeper is None:
                return await cache.compute(key, self._catalogue, lambda: self._compute(query, viewer))
            if answer is None:
                return await cache.compute(
                    key, self._catalogue, lambda: self._compute(query, viewer, use_index=not indexed)
                )
            found = answer

            async def catalogue() -> Catalogue:
                return Catalogue(found.generation, found.next_expiry)

            return await cache.compute(key, catalogue, lambda: self._compute(query, viewer, found))
        elapsed = round((time.perf_counter() - started) * 1000)
        return msgspec.structs.replace(entry.result, processing_time_ms=elapsed)

    async def _catalogue(self) -> Catalogue:
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(repository.CATALOGUE_SQL)
        assert row is not None  # search_generation holds its one row from migration 0011 on
        return Catalogue(row["value"], row["next_expiry"])

    async def _compute(
        self, query: SearchQuery, viewer: Viewer, answer: Answer | None = None, *, use_index: bool = True
    ) -> SearchResult:
        started = time.perf_counter()
        words = query_words(query.text)
        async with self.pool.acquire() as conn:
            found: Found | repository.Summary | None = None
            tsquery: str | None = None
            if answer is None and use_index and self.keeper is not None and self.keeper.index is not None:
                answer = await self._answer(conn, await self._read_state(conn, words), query, viewer, words)
            if answer is not None:
                found, tsquery = answer.found, answer.tsquery
                self.computed_by_index += 1
            if found is None:
                self.computed_in_sql += 1
                found = await repository.summary(conn, query, viewer, words)
                tsquery = found.tsquery
            page = await repository.hits_json(conn, found.ids, query, viewer)
            hits = await self._highlighted(_HITS.decode(page), tsquery, conn)
        return _result(query, found, hits, started)

    async def _optimistic(self, query: SearchQuery, viewer: Viewer) -> SearchResult | None:
        """The search answered from the index as it is, with its page's rows read in one statement
        with the generation and clock of their snapshot; None (nothing kept) unless those are what
        the index answered at. With text, the words' terms are those expanded at that generation:
        the typo vocabulary (search_words) only changes with listings, which bump the generation."""
        assert self.keeper is not None
        index = self.keeper.index
        if index is None:
            return None
        started = time.perf_counter()
        words = query_words(query.text)
        generation = index.generation
        tsquery: str | None = None
        text: Node | None = None
        if words:
            if self._terms_generation != generation:
                return None
            last = len(words) - 1
            terms = [self._terms.get((word, i == last)) for i, word in enumerate(words)]
            if None in terms:
                return None
            tsquery = tsquery_of([t for t in terms if t is not None])
            try:
                text = parse(tsquery)
            except UnsupportedError:
                return None
        now_us = time.time_ns() // 1000
        found = index.search(query, viewer, now_us, text)
        since, until = index.unchanged_between(now_us)
        p = Params()
        hits_sql = f"({hits_json_sql(p, found.ids, query, viewer)})" if found.ids else "'[]'"
        async with self.pool.acquire() as conn:
            row = await conn.fetchrow(_CHECKED_PAGE.format(hits=hits_sql), *p.values)
        assert row is not None  # search_generation holds its one row from migration 0011 on
        at = row["now_us"]
        if row["value"] != generation or at < since or (until is not None and at >= until):
            return None
        self.computed_by_index += 1
        self.answered_optimistically += 1
        hits = await self._highlighted(_HITS.decode(row["hits"]), tsquery)
        result = _result(query, found, hits, started)
        if self.cache is not None:
            self.cache.stats.misses += 1
            self.cache.store((query, viewer), Catalogue(generation, _datetime(until)), result)
        return result

    async def _highlighted(
        self, hits: list[SearchHit], tsquery: str | None, conn: Connection | None = None
    ) -> list[SearchHit]:
        """`hits` with their title and description marked where `tsquery` matches (none without
        text); words the lexicon does not know yet are asked of PostgreSQL first."""
        if tsquery is None or not hits:
            return hits
        lexicon = self.lexicon
        texts = [text for hit in hits for text in (hit.title, hit.description)]
        unknown = lexicon.unknown(texts)
        if unknown and conn is not None:
            await lexicon.learn(conn, unknown)
        elif unknown:
            async with self.pool.acquire() as connection:
                await lexicon.learn(connection, unknown)
        marked = lexicon.marker(tsquery).all(texts)
        for i, hit in enumerate(hits):
            hit.highlights = {"title": marked[2 * i], "description": marked[2 * i + 1]}
        return hits

    async def _read_state(self, conn: Connection, words: list[str]) -> Any:
        state = await (conn.fetchrow(STATE_WITH_TEXT_SQL, words) if words else conn.fetchrow(STATE_SQL))
        assert state is not None  # search_generation holds its one row from migration 0011 on
        if words and state["terms"] is not None:
            self._keep_terms(state["value"], words, state["terms"])
        return state

    def _keep_terms(self, generation: int, words: list[str], terms: list[str]) -> None:
        if generation < self._terms_generation:
            return
        if generation > self._terms_generation or len(self._terms) >= TERMS_KEPT:
            self._terms.clear()
            self._terms_generation = generation
        last = len(words) - 1
        for i, (word, term) in enumerate(zip(words, terms, strict=True)):
            self._terms[word, i == last] = term

    async def _answer(
        self, conn: Connection, state: Any, query: SearchQuery, viewer: Viewer, words: list[str]
    ) -> Answer | None:
        """The summary from the in-memory index, brought up to the generation of `state` first; None
        when it cannot answer (not built yet, rebuilding, or a tsquery it does not evaluate)."""
        assert self.keeper is not None
        terms: list[str] | None = state["terms"]
        tsquery: str | None = None
        text: Node | None = None
        if words:
            if terms is None:
                return None
            tsquery = tsquery_of(terms)
            try:
                text = parse(tsquery)
            except UnsupportedError:
                return None
        index = await self.keeper.current(conn, state["value"], state["changes_kept_after"])
        if index is None:
            self.keeper.current_or_retry()
            return None
        found = index.search(query, viewer, state["now_us"], text)
        return Answer(found, tsquery, state["value"], index.next_expiry(state["now_us"]))

    async def health(self) -> BackendHealth:
        """PostgreSQL answers; never behind, since search reads the tables."""
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_S), self.pool.acquire() as conn:
                await conn.fetchval("SELECT 1")
        except Exception as exc:  # reported, not raised: readiness says what is wrong
            return BackendHealth(ok=False, detail=f"postgresql: {type(exc).__name__}")
        detail = "postgresql: reads the listings tables, no lag"
        if self.cache is not None:
            stats = self.cache.stats
            detail += (
                f"; result cache {len(self.cache)}/{self.cache.max_entries} entries,"
                f" {stats.hits} hits, {stats.revalidated} revalidated, {stats.misses} misses"
            )
        if self.keeper is not None:
            index = self.keeper.index
            detail += (
                "; in-memory index building (searches computed in SQL meanwhile)"
                if index is None
                else f"; in-memory index of {len(index)} listings at generation {index.generation},"
                f" {self.computed_by_index} searches answered from it"
            )
        return BackendHealth(ok=True, detail=detail)

    async def refresh(self) -> None:
        """Every committed change is already searchable; with the in-memory index, wait until it is
        built (until then searches are computed in SQL, which is slower but as exact)."""
        if self.keeper is not None:
            await self.keeper.wait_built()

    async def close(self) -> None:
        """Stop a build under way; the pool belongs to the application."""
        if self.keeper is not None:
            await self.keeper.close()


def _result(
    query: SearchQuery, found: Found | repository.Summary, hits: list[SearchHit], started: float
) -> SearchResult:
    total = min(found.total, TOTAL_HITS_BOUND)
    return SearchResult(
        hits=hits,
        facet_distribution=found.facets,
        total_hits=total,
        total_hits_exact=found.total <= TOTAL_HITS_BOUND,
        page=query.page,
        hits_per_page=query.hits_per_page,
        total_pages=math.ceil(total / query.hits_per_page),
        processing_time_ms=round((time.perf_counter() - started) * 1000),
        backend="postgres",
    )


def _datetime(microseconds: int | None) -> datetime | None:
    return None if microseconds is None else _EPOCH + timedelta(microseconds=microseconds)
