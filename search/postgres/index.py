"""The search index a worker keeps in memory: what `repository.summary` computes in SQL (the page's
ids, the exact total, the disjunctive facet counts), computed from compact arrays and bitmaps.

Every listing that can show in a search (published, of an active member, not exhausted) has a
position. Roaring bitmaps of positions say which listings are alive, public or visible in a network,
and which contain each lexeme of `search_document` and of `search_title` (PostgreSQL's own analysis:
`tsvector_to_array`), so a tsquery expanded by PostgreSQL is evaluated by bitmap ANDs and ORs.
NumPy arrays by position hold each facet's value (as a code), the coordinates, the dates and
amounts, so filters are vectorised masks, facet counts one `bincount` each, and the page a partial
sort. What depends on the clock (expiry, `available_on`) is evaluated at query time.

A listing changed is given a new position; the old one leaves `alive` (every result is within it),
so an update costs only appends. `rank` orders positions as `published_at DESC NULLS LAST, id DESC`
does: relevance and `newest` sort on it. A build lays the positions out in rank order, and a listing
published since lands at the end, where it ranks: a page is then the last positions of a bitmap,
with only those appended out of order (`misplaced`: an older listing updated) sorted.

A radius filter takes the cells of a grid (search/postgres/grid.py) its circle covers whole and
measures only the positions of the cells it crosses.

The index is current up to `generation` (migration 0011): search/postgres/keeper.py brings it up to
date from the change log before a search is answered from it.
"""

from __future__ import annotations

import math
import uuid
from array import array
from bisect import bisect_left, insort
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Final

import numpy as np
import numpy.typing as npt
from asyncpg.pgproto.pgproto import UUID
from pyroaring import BitMap

from schemas.search import FacetName
from search.postgres.grid import Grid
from search.postgres.repository import EARTH_RADIUS_KM, facet_filters
from search.postgres.tsquery import All, Lexeme, Node
from search.postgres.tsquery import Any as AnyOf
from search.query import Point, SearchQuery, Viewer

FACETS: Final[tuple[FacetName, ...]] = (
    "direction", "nature", "category", "network", "zone", "organisation", "condition", "price",
    "ess", "hazardous",
)  # fmt: skip
# PostgreSQL's radians(): degrees times this constant (float.c's RADIANS_PER_DEGREE).
RADIANS_PER_DEGREE: Final = 0.0174532925199432957692
NO_TIME_BEFORE: Final = np.iinfo(np.int64).min
NO_TIME_AFTER: Final = np.iinfo(np.int64).max
MICROSECONDS_PER_DAY: Final = 86_400_000_000
_EPOCH_DAY: Final = 719_163  # date(1970, 1, 1).toordinal()
_EPOCH: Final = datetime(1970, 1, 1, tzinfo=UTC)
# A facet of at most this many values is counted by bitmap intersections, a larger one by bincount.
_COUNT_BY_BITMAP: Final = 64
# Rounding of a dot product of unit vectors, with a wide margin: cosines this close to the bound are
# measured again exactly.
_COSINE_SLACK: Final = 1e-12
_EMPTY: Final = BitMap()
# Text matches kept per generation, at most (a broad word's pair of bitmaps is tens of kB).
_MATCHES_KEPT: Final = 1024

# The columns the index holds, for the listings of `WHERE`: a build reads every candidate, an
# update the listings the change log names (`candidate` false or no row: the listing leaves).
ROWS_SQL: Final = """SELECT l.id,
        l.status = 'published' AND l.member_active
            AND (l.available_quantity IS NULL OR l.available_quantity > 0) AS candidate,
        l.organisation_id, l.network_id, l.zone_id, l.direction, l.nature, l.category_id,
        l.condition, l.price_kind = 'free' AS free, l.organisation_ess, l.hazardous,
        l.visibility = 'public' AS public, l.latitude, l.longitude,
        (extract(epoch FROM l.available_from) * 1000000)::int8 AS from_us,
        (extract(epoch FROM l.available_until) * 1000000)::int8 AS until_us,
        (extract(epoch FROM l.published_at) * 1000000)::int8 AS published_us,
        coalesce(l.available_quantity, l.quantity, l.capacity) AS amount,
        tsvector_to_array(l.search_document) AS document,
        tsvector_to_array(l.search_title) AS title
    FROM listings l"""
CANDIDATES: Final = """WHERE l.status = 'published' AND l.member_active
    AND (l.available_quantity IS NULL OR l.available_quantity > 0)"""
# A build reads the candidates lowest rank first, so that positions are in rank order.
RANK_ORDER: Final = "ORDER BY l.published_at NULLS FIRST, l.id"


class Column:
    """A NumPy array that grows by appending; positions index it directly."""

    def __init__(self, dtype: npt.DTypeLike) -> None:
        self.data: npt.NDArray[Any] = np.empty(1024, dtype=dtype)
        self.size = 0

    def extend(self, values: Sequence[Any] | npt.NDArray[Any]) -> None:
        end = self.size + len(values)
        if end > len(self.data):
            grown = np.empty(max(end, 2 * len(self.data)), dtype=self.data.dtype)
            grown[: self.size] = self.data[: self.size]
            self.data = grown
        self.data[self.size : end] = values
        self.size = end


class Codes:
    """One facet's values as small integers (0 is no value), and the code of each position."""

    def __init__(self) -> None:
        self.values: list[str | None] = [None]
        self.code_of: dict[str | None, int] = {None: 0}
        self.column = Column(np.intp)
        self.bitmaps: list[BitMap] = [BitMap()]
        """The positions of each code (stale ones included: AND with the live positions)."""

    def code(self, value: str | None) -> int:
        code = self.code_of.get(value)
        if code is None:
            code = self.code_of[value] = len(self.values)
            self.values.append(value)
            self.bitmaps.append(BitMap())
        return code

    def extend(self, codes: list[int], start: int) -> None:
        self.column.extend(codes)
        found: dict[int, list[int]] = {}
        for offset, code in enumerate(codes):
            found.setdefault(code, []).append(start + offset)
        for code, positions in found.items():
            self.bitmaps[code].update(positions)

    def matching(self, lookup: npt.NDArray[np.bool_]) -> BitMap:
        """The positions of the codes `lookup` lets through."""
        return _union([self.bitmaps[c] for c in np.flatnonzero(lookup)])

    def count(self, within: BitMap) -> dict[str, int]:
        """How many positions of `within` hold each value (those holding one), most first."""
        if len(self.values) <= _COUNT_BY_BITMAP:
            tally = {
                value: within.intersection_cardinality(self.bitmaps[c])
                for c, value in enumerate(self.values)
                if value is not None
            }
            counts = {value: n for value, n in tally.items() if n > 0}
        else:
            codes = np.take(self.column.data, SearchIndex.positions(within))
            bins = np.bincount(codes, minlength=len(self.values))
            counts = {str(self.values[c]): int(bins[c]) for c in np.flatnonzero(bins) if c != 0}
        return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))

    def allowed(self, accepted: Iterable[str], *, descendants: bool = False) -> npt.NDArray[np.bool_]:
        """Which codes a filter on `accepted` lets through (categories: and their sub-categories)."""
        wanted = set(accepted)
        lookup = np.zeros(len(self.values), dtype=np.bool_)
        for code, value in enumerate(self.values):
            if value is None:
                continue
            if value in wanted or (descendants and any(value.startswith(c + ".") for c in wanted)):
                lookup[code] = True
        return lookup


class Postings:
    """Lexeme → the positions whose vector holds it, with the lexemes sorted for prefixes."""

    def __init__(self) -> None:
        self.of: dict[str, BitMap] = {}
        self.sorted: list[str] = []

    def add(self, found: dict[str, list[int]]) -> None:
        for lexeme, positions in found.items():
            bitmap = self.of.get(lexeme)
            if bitmap is None:
                self.of[lexeme] = BitMap(positions)
                insort(self.sorted, lexeme)
            else:
                bitmap.update(positions)

    def match(self, node: Node) -> BitMap:
        """The positions whose vector matches `node` (stale positions included: AND with alive)."""
        if isinstance(node, Lexeme):
            if not node.prefix:
                return self.of.get(node.text, _EMPTY)
            start = bisect_left(self.sorted, node.text)
            end = start
            while end < len(self.sorted) and self.sorted[end].startswith(node.text):
                end += 1
            return _union([self.of[w] for w in self.sorted[start:end]])
        if isinstance(node, AnyOf):
            return _union([self.match(term) for term in node.terms])
        assert isinstance(node, All)
        found = sorted((self.match(term) for term in node.terms), key=len)
        result = found[0]
        for bitmap in found[1:]:
            if not result:
                break
            result = result & bitmap
        return result


def _union(bitmaps: list[BitMap]) -> BitMap:
    if not bitmaps:
        return _EMPTY
    if len(bitmaps) == 1:
        return bitmaps[0]
    return BitMap.union(*bitmaps)


@dataclass
class Live:
    """The positions alive and unexpired at `since`, which stay so until `next_expiry` (the earliest
    `available_until` after `since`) at `generation`; and what each viewer sees of them."""

    generation: int
    since: int
    next_expiry: int | None
    bitmap: BitMap
    visible: dict[frozenset[uuid.UUID], BitMap] = field(default_factory=dict)


def _bitmap(positions: npt.NDArray[np.intp]) -> BitMap:
    return BitMap(array("I", positions.astype(np.uint32).tobytes()))


@dataclass
class Found:
    ids: list[uuid.UUID]
    total: int
    facets: dict[str, dict[str, int]] = field(default_factory=dict)


def unit_vector(latitude: float, longitude: float) -> tuple[float, float, float]:
    lat, lon = latitude * RADIANS_PER_DEGREE, longitude * RADIANS_PER_DEGREE
    return math.cos(lat) * math.cos(lon), math.cos(lat) * math.sin(lon), math.sin(lat)


def haversine_one(lat: float, lon: float, lat0: float, lon0: float) -> float:
    """The same with the C library's functions, as PostgreSQL computes it (for the boundary)."""
    a = (
        math.sin((lat - lat0) * RADIANS_PER_DEGREE / 2) ** 2
        + math.cos(lat0 * RADIANS_PER_DEGREE)
        * math.cos(lat * RADIANS_PER_DEGREE)
        * math.sin((lon - lon0) * RADIANS_PER_DEGREE / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


class SearchIndex:
    def __init__(self, generation: int) -> None:
        self.generation = generation
        self.size = 0
        """Positions given so far (the listings at positions: `ids_at`)."""
        # Keyed by the id's integer: a dict of ints is outside the garbage collector's reach, where
        # 100 000 UUIDs made a full collection 41 ms long (3 ms without), a pause every search waited.
        self.position_of: dict[int, int] = {}
        self.alive = BitMap()
        self.public = BitMap()
        self.network_visible: dict[uuid.UUID, BitMap] = {}
        self.documents = Postings()
        self.titles = Postings()
        self.codes: dict[FacetName, Codes] = {name: Codes() for name in FACETS}
        self.latitude = Column(np.float64)
        self.longitude = Column(np.float64)
        self.x, self.y, self.z = Column(np.float64), Column(np.float64), Column(np.float64)
        self.available_from = Column(np.int64)
        self.available_until = Column(np.int64)
        self.published = Column(np.int64)
        self.amount = Column(np.float64)
        self.amounts: list[Decimal | None] = []
        self.id_high = Column(np.uint64)
        self.id_low = Column(np.uint64)
        self.rank = Column(np.float64)
        self.grid = Grid()
        self.top_rank = -1.0
        self.misplaced = BitMap()
        """Positions out of rank order: every other live one ranks above every lower position."""
        self._ordered_top = -1.0
        self._matched: dict[Node, tuple[BitMap, BitMap]] = {}
        self._matched_at = generation
        self._live_at: Live | None = None

    def __len__(self) -> int:
        return len(self.alive)

    @property
    def dead(self) -> int:
        return self.size - len(self.alive)

    # Upkeep.

    def add(self, rows: Sequence[Any], previous: dict[uuid.UUID, int] | None = None) -> bool:
        """Append the candidate `rows`; `previous` maps an id to its former position (whose rank a row
        with the same `published_at` keeps). Returns whether the ranks must be computed again."""
        start = self.size
        documents: dict[str, list[int]] = {}
        titles: dict[str, list[int]] = {}
        values: dict[FacetName, list[int]] = {name: [] for name in FACETS}
        ranks: list[float] = []
        rerank = False
        top = self._top_published() if previous is not None else 0
        codes = self.codes
        for offset, row in enumerate(rows):
            position = start + offset
            listing: uuid.UUID = row["id"]
            self.position_of[listing.int] = position
            for lexeme in row["document"]:
                documents.setdefault(lexeme, []).append(position)
            for lexeme in row["title"]:
                titles.setdefault(lexeme, []).append(position)
            if row["public"]:
                self.public.add(position)
            else:
                self.network_visible.setdefault(row["network_id"], BitMap()).add(position)
            zone = row["zone_id"]
            values["direction"].append(codes["direction"].code(row["direction"]))
            values["nature"].append(codes["nature"].code(row["nature"]))
            values["category"].append(codes["category"].code(row["category_id"]))
            values["network"].append(codes["network"].code(str(row["network_id"])))
            values["zone"].append(codes["zone"].code(None if zone is None else str(zone)))
            values["organisation"].append(codes["organisation"].code(str(row["organisation_id"])))
            values["condition"].append(codes["condition"].code(row["condition"]))
            values["price"].append(codes["price"].code("free" if row["free"] else "paid"))
            values["ess"].append(codes["ess"].code("true" if row["organisation_ess"] else "false"))
            values["hazardous"].append(codes["hazardous"].code("true" if row["hazardous"] else "false"))
            amount = row["amount"]
            self.amounts.append(amount)
            published = _time(row["published_us"], NO_TIME_BEFORE)
            former = None if previous is None else previous.get(listing)
            if former is not None and self.published.data[former] == published:
                ranks.append(float(self.rank.data[former]))
            elif previous is not None and published > top:
                # Newer than every listing ranked so far: first, without ranking the rest again.
                top = published
                self.top_rank += 1
                ranks.append(self.top_rank)
            else:
                ranks.append(-1.0)
                rerank = True
        for name in FACETS:
            codes[name].extend(values[name], start)
        latitudes = [row["latitude"] for row in rows]
        longitudes = [row["longitude"] for row in rows]
        self.latitude.extend(latitudes)
        self.longitude.extend(longitudes)
        self.grid.add(start, latitudes, longitudes)
        vectors = [unit_vector(row["latitude"], row["longitude"]) for row in rows]
        self.x.extend([v[0] for v in vectors])
        self.y.extend([v[1] for v in vectors])
        self.z.extend([v[2] for v in vectors])
        self.available_from.extend([_time(row["from_us"], NO_TIME_BEFORE) for row in rows])
        self.available_until.extend([_time(row["until_us"], NO_TIME_AFTER) for row in rows])
        self.published.extend([_time(row["published_us"], NO_TIME_BEFORE) for row in rows])
        self.amount.extend([math.nan if row["amount"] is None else float(row["amount"]) for row in rows])
        self.id_high.extend([row["id"].int >> 64 for row in rows])
        self.id_low.extend([row["id"].int & 0xFFFF_FFFF_FFFF_FFFF for row in rows])
        self.rank.extend(ranks)
        if not rerank:
            for offset, rank in enumerate(ranks):
                if rank > self._ordered_top:
                    self._ordered_top = rank
                else:
                    self.misplaced.add(start + offset)
        self.size = start + len(rows)
        self.alive.update(range(start, self.size))
        self.documents.add(documents)
        self.titles.add(titles)
        return rerank

    def ids_at(self, positions: Sequence[int] | npt.NDArray[np.intp]) -> list[uuid.UUID]:
        """The listings at `positions` (asyncpg's UUIDs: a tenth of the cost of uuid.UUID's)."""
        at = np.asarray(positions, dtype=np.intp)
        packed = np.stack((self.id_high.data[at], self.id_low.data[at]), axis=1).astype(">u8").tobytes()
        return [UUID(packed[i : i + 16]) for i in range(0, len(packed), 16)]

    def _top_published(self) -> int:
        """`published_at` of the position ranked first (newest), or the earliest time if none."""
        if not self.alive:
            return int(NO_TIME_BEFORE)
        alive = self.positions(self.alive)
        return int(self.published.data[alive[np.argmax(self.rank.data[alive])]])

    def compute_ranks(self) -> None:
        """Rank every live position in the order `published_at DESC NULLS LAST, id DESC` (highest
        first)."""
        alive = self.positions(self.alive)
        order = np.lexsort((self.id_low.data[alive], self.id_high.data[alive], self.published.data[alive]))
        self.rank.data[alive[order]] = np.arange(len(alive), dtype=np.float64)
        self.top_rank = float(len(alive) - 1)
        ranks = self.rank.data[alive]
        highest = np.maximum.accumulate(ranks) if len(alive) else ranks
        self.misplaced = _bitmap(alive[ranks < highest])
        self._ordered_top = float(highest[-1]) if len(alive) else -1.0

    def remove(self, listing: uuid.UUID) -> int | None:
        position = self.position_of.pop(listing.int, None)
        if position is not None:
            self.alive.discard(position)
        return position

    def apply(self, generation: int, listings: Iterable[uuid.UUID], rows: Sequence[Any]) -> None:
        """The changed `listings` as they are at `generation`: `rows` holds those that exist (a
        listing in `listings` without a row, or whose row is not a candidate, leaves)."""
        previous: dict[uuid.UUID, int] = {}
        for listing in listings:
            position = self.remove(listing)
            if position is not None:
                previous[listing] = position
        kept = [row for row in rows if row["candidate"]]
        if kept and self.add(kept, previous):
            self.compute_ranks()
        self.generation = generation

    def _live(self, now_us: int) -> Live:
        """The live positions at `now_us`, from the cache while nothing expired since."""
        known = self._live_at
        if (
            known is not None
            and known.generation == self.generation
            and known.since <= now_us
            and (known.next_expiry is None or now_us < known.next_expiry)
        ):
            return known
        alive = self.positions(self.alive)
        until = self.available_until.data[alive]
        expired = until <= now_us
        ahead = until[~expired & (until != NO_TIME_AFTER)]
        live = Live(
            self.generation, now_us, int(ahead.min()) if len(ahead) else None,
            self.alive - _bitmap(alive[expired]),
        )  # fmt: skip
        self._live_at = live
        return live

    def unchanged_between(self, now_us: int) -> tuple[int, int | None]:
        """From when until when (microseconds, None: no end) the positions alive and unexpired at
        generation `self.generation` stay those at `now_us`."""
        live = self._live(now_us)
        return live.since, live.next_expiry

    def next_expiry(self, now_us: int) -> datetime | None:
        """The earliest `available_until` after `now_us` of a listing in the index: no search result
        loses a listing to expiry before then (search/postgres/cache.py `Catalogue`)."""
        return _datetime(self._live(now_us).next_expiry)

    # Search.

    @staticmethod
    def positions(bitmap: BitMap) -> npt.NDArray[np.intp]:
        """The positions as NumPy indices (intp: NumPy would convert narrower ones at every use)."""
        return np.frombuffer(bitmap.to_array(), dtype=np.uint32).astype(np.intp)

    def visible(self, viewer: Viewer, now_us: int) -> BitMap:
        """The positions `viewer` may see at `now_us` (unexpired)."""
        live = self._live(now_us)
        found = live.visible.get(viewer.networks)
        if found is None:
            seen = [self.public, *(self.network_visible.get(n, _EMPTY) for n in viewer.networks)]
            found = live.visible[viewer.networks] = live.bitmap & _union(seen)
            if len(live.visible) > 64:
                live.visible.pop(next(iter(live.visible)))
        return found

    def search(self, query: SearchQuery, viewer: Viewer, now_us: int, text: Node | None) -> Found:
        """What `repository.summary` answers, for a search whose tsquery is `text`."""
        candidates = self.visible(viewer, now_us)
        title: BitMap | None = None
        if text is not None:
            documents, titles = self._text(text)
            candidates = candidates & documents
            title = titles & candidates
        # Filters on facets that are counted stay apart: that facet's own counts leave them out.
        counted: dict[FacetName, BitMap] = {}
        for name, value in facet_filters(query).items():
            codes = self.codes[name]
            if isinstance(value, bool):
                lookup = codes.allowed(["true" if value else "false"])
            else:
                lookup = codes.allowed([str(v) for v in value], descendants=name == "category")
            if name in query.facets:
                counted[name] = codes.matching(lookup)
            else:
                candidates = candidates & codes.matching(lookup)
        if query.near is not None and query.radius_km is not None:
            candidates = self._within_radius(candidates, query.near, query.radius_km)
        if query.available_on is not None or query.quantity_at_least is not None:
            pos = self.positions(candidates)
            mask = np.ones(len(pos), dtype=np.bool_)
            if query.available_on is not None:
                start = (query.available_on.toordinal() - _EPOCH_DAY) * MICROSECONDS_PER_DAY
                mask &= self.available_from.data.take(pos) < start + MICROSECONDS_PER_DAY
                mask &= self.available_until.data.take(pos) > start
            if query.quantity_at_least is not None:
                mask &= self._at_least(pos, query.quantity_at_least)
            candidates = self._kept(candidates, pos, mask)

        def all_but(excluded: FacetName | None) -> BitMap:
            result = candidates
            for name, matching in sorted(counted.items(), key=lambda kv: len(kv[1])):
                if name != excluded:
                    result = result & matching
            return result

        everything = all_but(None)
        facets: dict[str, dict[str, int]] = {
            name: self.codes[name].count(everything if name not in counted else all_but(name))
            for name in dict.fromkeys(query.facets)
        }
        page = self._page(everything, query, title)
        return Found(self.ids_at(page), len(everything), facets)

    def _text(self, text: Node) -> tuple[BitMap, BitMap]:
        """The positions whose document, and whose title, match `text`, kept while the index stays
        at its generation (a prefix or a typo is a union of many lexemes' positions)."""
        if self._matched_at != self.generation or len(self._matched) >= _MATCHES_KEPT:
            self._matched.clear()
            self._matched_at = self.generation
        found = self._matched.get(text)
        if found is None:
            found = self._matched[text] = (self.documents.match(text), self.titles.match(text))
        return found

    def _within_radius(self, candidates: BitMap, near: Point, radius: float) -> BitMap:
        """The candidates within `radius` km of `near`: those of the grid's cells wholly inside, and
        of the cells the circle crosses those measured."""
        if radius / EARTH_RADIUS_KM >= math.pi:
            return candidates
        inside, edge = self.grid.split(near, radius)
        measured = candidates & edge
        within = candidates & inside
        if not measured:
            return within
        pos = self.positions(measured)
        return within | _bitmap(pos[self._within(pos, near, radius)])

    @staticmethod
    def _kept(candidates: BitMap, pos: npt.NDArray[np.intp], mask: npt.NDArray[np.bool_]) -> BitMap:
        """The candidates at `pos` where `mask` holds: a bitmap costs what it holds, so of the kept and
        the removed the smaller is built."""
        removed = int(len(mask) - np.count_nonzero(mask))
        if removed < len(mask) - removed:
            return candidates - _bitmap(pos[~mask])
        return _bitmap(pos[mask])

    def _at_least(self, pos: npt.NDArray[np.intp], least: Decimal) -> npt.NDArray[np.bool_]:
        """amount >= least, exactly: a float order is the decimal order except where the floats are
        equal, which are compared as decimals."""
        amounts = np.take(self.amount.data, pos)
        bound = float(least)
        passes = amounts > bound
        for i in np.flatnonzero(amounts == bound):
            exact = self.amounts[pos[i]]
            passes[i] = exact is not None and exact >= least
        return passes

    def _cosines(self, pos: npt.NDArray[np.intp], near: Point) -> npt.NDArray[np.float64]:
        """The cosine of the angle between each position and `near`: a dot product of unit vectors,
        in the order of the great-circle distance (the larger, the nearer)."""
        x0, y0, z0 = unit_vector(near.latitude, near.longitude)
        result: npt.NDArray[np.float64] = (
            np.take(self.x.data, pos) * x0 + np.take(self.y.data, pos) * y0 + np.take(self.z.data, pos) * z0
        )
        return result

    def _exact_km(self, position: int, near: Point) -> float:
        return haversine_one(
            float(self.latitude.data[position]),
            float(self.longitude.data[position]),
            near.latitude,
            near.longitude,
        )

    def _within(self, pos: npt.NDArray[np.intp], near: Point, radius: float) -> npt.NDArray[np.bool_]:
        """Which positions lie within `radius` km of `near`, as repository.DISTANCE_KM measures: the
        dot product decides wherever it is clearly on one side, and the positions at the boundary
        (where rounding could differ) are measured again the way PostgreSQL does."""
        angle = radius / EARTH_RADIUS_KM
        if angle >= math.pi:
            return np.ones(len(pos), dtype=np.bool_)
        cosines = self._cosines(pos, near)
        bound = math.cos(angle)
        within = cosines >= bound
        for i in np.flatnonzero(np.abs(cosines - bound) <= _COSINE_SLACK):
            within[i] = self._exact_km(int(pos[i]), near) <= radius
        return within

    def _page(self, everything: BitMap, query: SearchQuery, title: BitMap | None) -> list[int]:
        wanted = query.offset + query.hits_per_page
        if query.offset >= len(everything):
            return []
        if query.sort in ("relevance", "newest"):
            if title is None or query.sort == "newest":
                return self._top(everything, wanted)[query.offset :]
            first = title & everything
            page = self._top(first, wanted)
            if len(page) < wanted:
                page += self._top(everything - first, wanted - len(page))
            return page[query.offset :]
        selected = self.positions(everything)
        if query.sort == "distance":
            assert query.near is not None
            # The nearest by dot product, with every position as near as the last of the page
            # within rounding; those are then measured as PostgreSQL does and ordered by id on ties.
            cosines = self._cosines(selected, query.near)
            group = np.arange(len(selected))
            if wanted < len(selected):
                bound = -np.partition(-cosines, wanted - 1)[wanted - 1]
                group = np.flatnonzero(cosines >= bound - _COSINE_SLACK)
            nearest = selected[group]
            kms = [self._exact_km(int(p), query.near) for p in nearest]
            measured = sorted(zip(kms, self.ids_at(nearest), nearest.tolist(), strict=True))
            return [p for _, _, p in measured[query.offset : wanted]]
        amounts = self.amount.data[selected]
        amounts = np.where(np.isnan(amounts), -np.inf, amounts)
        order = np.lexsort((-self.rank.data[selected], -amounts))
        return [int(p) for p in selected[order[query.offset : wanted]]]

    def _top(self, positions: BitMap, count: int) -> list[int]:
        """The `count` positions of highest rank, highest first. Positions are in rank order but for
        those of `misplaced`: the last `count` of the others, merged with the misplaced ones."""
        if count <= 0 or not positions:
            return []
        ordered = positions - self.misplaced if self.misplaced else positions
        tail = ordered[max(0, len(ordered) - count) :]
        if len(ordered) == len(positions):
            return list(tail)[::-1]
        pool = self.positions(tail | (positions & self.misplaced))
        key = self.rank.data.take(pool)
        if count < len(pool):
            top = np.argpartition(-key, count - 1)[:count]
            return [int(p) for p in pool[top[np.argsort(-key[top])]]]
        return [int(p) for p in pool[np.argsort(-key)]]


def _datetime(microseconds: int | None) -> datetime | None:
    return None if microseconds is None else _EPOCH + timedelta(microseconds=microseconds)


def _time(value: int | None, missing: int) -> int:
    return missing if value is None else value
