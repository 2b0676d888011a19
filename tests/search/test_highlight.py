"""The PostgreSQL backend's highlights mark what ts_headline marks, with PostgreSQL's own analysis of
each word asked once."""

from __future__ import annotations

import asyncpg
import pytest

from api.db.pool import Pool
from search.postgres import PostgresBackend
from search.postgres.highlight import Lexicon, tsquery_lexemes
from search.postgres.repository import TSQUERY
from search.postgres.text import query_words
from search.query import SearchQuery, Viewer
from tests.search import dataset
from tests.search.dataset import Spec

TEXTS = [
    "Palettes EUR-EPAL 80x120 & caisses < 2 m > bois - lot de palettes",
    "Éco-conception : cartons d'emballage, film étirable (PEHD) ; BÉTON concassé, béton armé",
    "Matériel informatique : écrans, unités centrales, câbles — l'équipe s'occupe de l'enlèvement.",
    "Stockage sec à Villeurbanne ; accès poids-lourds, quai de chargement. Œuvres & cœur de métier",
    "Déchets de bois non traités (classe A) : palettes cassées, chutes de menuiserie, copeaux.",
]
QUERIES = [
    "palettes", "palette", "pal", "palettes bois", "caisse", "eco", "conception", "emballages",
    "beton", "BÉTON", "béton armé", "ecrans", "cable", "equipe", "enlevement", "stockage sec",
    "poids lourds", "villeurbane", "80x120", "amp", "lt", "oeuvres", "coeur", "chargemen",
    "dechet", "menuiseri", "classe", "epal", "unite centrale", "informatiques", "copaux",
]  # fmt: skip
# What the backend marked with ts_headline until the lexicon replaced it: the oracle.
HEADLINE = """SELECT replace(replace(replace(replace(replace(
    ts_headline('symbiose_fr', t, $2::tsquery,
                'StartSel=' || chr(2) || ', StopSel=' || chr(3) || ', HighlightAll=true'),
    '&', '&amp;'), '<', '&lt;'), '>', '&gt;'), chr(2), '<mark>'), chr(3), '</mark>')
    FROM unnest($1::text[]) WITH ORDINALITY AS u(t, i) ORDER BY i"""


async def tsquery(db: asyncpg.Connection, text: str) -> str:
    sql = f"SELECT query::text FROM ({TSQUERY.format(words='$1')}) q"
    found: str = await db.fetchval(sql, query_words(text))
    return found


async def test_words_are_marked_as_ts_headline_marks_them(db: asyncpg.Connection) -> None:
    world = await dataset.load(db)
    for i, text in enumerate(TEXTS):  # in the typo vocabulary, as listings put their words there
        await dataset.insert(db, world, Spec(f"t{i}", "A", "N1", text[:40], description=text))
    lexicon = Lexicon()
    await lexicon.learn(db, lexicon.unknown(TEXTS))
    marked = 0
    for q in QUERIES:
        query = await tsquery(db, q)
        expected = await db.fetch(HEADLINE, TEXTS, query)
        mark = lexicon.marker(query)
        assert [mark(t) for t in TEXTS] == [row[0] for row in expected], (q, query)
        marked += sum("<mark>" in row[0] for row in expected)
    assert marked > len(QUERIES)  # the queries do match: the comparison is not of unmarked texts


def test_the_lexemes_of_a_tsquery() -> None:
    query = "( 'palet' | 'pallet' | 'palettes':* ) & ( 'l''eau' | 'a\\\\b':* )"
    assert tsquery_lexemes(query) == (frozenset({"palet", "pallet", "l'eau"}), ("a\\b", "palettes"))


async def test_known_words_are_not_asked_again(db: asyncpg.Connection) -> None:
    lexicon = Lexicon()
    assert lexicon.unknown(TEXTS[:1]) == [
        "2", "80x120", "bois", "caisses", "de", "epal", "eur", "lot", "m", "palettes"
    ]  # fmt: skip
    await lexicon.learn(db, lexicon.unknown(TEXTS[:1]))
    assert lexicon.unknown(TEXTS[:1]) == []
    assert lexicon.unknown(TEXTS[:1]) == []  # now known as a text of known words
    assert lexicon.unknown(["Palettes de caisses"]) == []
    assert lexicon.unknown(["Palettes neuves"]) == ["neuves"]


def test_an_escaped_entity_is_never_marked() -> None:
    lexicon = Lexicon()
    lexicon._add("amp", "amp")
    lexicon._add("lt", "lt")
    assert lexicon.marker("'amp' & 'lt'")("amp < & lt") == "<mark>amp</mark> &lt; &amp; <mark>lt</mark>"


@pytest.mark.parametrize("index", [False, True], ids=["sql", "index"])
async def test_a_new_word_is_learnt_with_the_listing_that_brings_it(
    db: asyncpg.Connection, pool: Pool, index: bool
) -> None:
    world = await dataset.load(db)
    backend = PostgresBackend(pool, cache_entries=100, index=index)
    await backend.refresh()
    try:
        await backend.search(SearchQuery(text="palettes"), Viewer())
        learnt = backend.lexicon.learnt
        await backend.search(SearchQuery(text="palette"), Viewer())
        assert backend.lexicon.learnt == learnt  # the same pages: nothing new to ask
        new = Spec("new", "A", "N1", "Tourets de câble", description="Tourets vides")
        await dataset.insert(db, world, new)
        result = await backend.search(SearchQuery(text="touret"), Viewer())
        assert [h.highlights for h in result.hits] == [
            {"title": "<mark>Tourets</mark> de câble", "description": "<mark>Tourets</mark> vides"}
        ]
        assert backend.lexicon.learnt > learnt
    finally:
        await backend.close()


def test_a_page_is_marked_as_its_texts_one_by_one() -> None:
    lexicon = Lexicon()
    lexicon._add("palettes", "palet")
    lexicon._add("bois", "bois")
    mark = lexicon.marker("'palet' & 'bois'")
    texts = ["Palettes", "", "bois\x00 palettes", "<bois>", "PALETTES de bois"]
    assert mark.all(texts) == [mark(t) for t in texts]
    assert mark.all(texts[3:]) == ["&lt;<mark>bois</mark>&gt;", "<mark>PALETTES</mark> de <mark>bois</mark>"]
