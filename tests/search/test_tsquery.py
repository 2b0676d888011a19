"""The tsquery text PostgreSQL prints, parsed for the in-memory index; what it cannot evaluate is
refused, so that the search goes through SQL."""

from __future__ import annotations

import gc

import asyncpg
import pytest

from search.postgres.tsquery import All, Any, Lexeme, UnsupportedError, parse


def test_lexemes_prefixes_and_precedence() -> None:
    assert parse("'palett' | 'palettes':* & 'bois'") == Any(
        (Lexeme("palett", False), All((Lexeme("palettes", True), Lexeme("bois", False))))
    )
    assert parse("( 'a' | 'b' ) & 'c'") == All(
        (Any((Lexeme("a", False), Lexeme("b", False))), Lexeme("c", False))
    )
    assert parse("'l''eau' & 'c:\\\\'") == All((Lexeme("l'eau", False), Lexeme("c:\\", False)))


@pytest.mark.parametrize("text", ["!'a'", "'a' <-> 'b'", "'a':AB", "'a' &", "('a'", "'a"])
def test_what_the_index_does_not_evaluate_is_refused(text: str) -> None:
    with pytest.raises(UnsupportedError):
        parse(text)


async def test_parses_what_postgresql_prints(db: asyncpg.Connection) -> None:
    printed = await db.fetchval("SELECT $1::tsquery::text", "(palettes | 'l''eau':*) & bois")
    assert parse(printed) == All(
        (Any((Lexeme("palettes", False), Lexeme("l'eau", True))), Lexeme("bois", False))
    )


def test_kept_parses_give_the_garbage_collector_nothing_to_walk() -> None:
    tree = parse("( 'palet' | 'palettes':* ) & 'bois'")
    assert isinstance(tree, All)
    assert isinstance(tree.terms[0], Any)
    assert not any(gc.is_tracked(node) for node in (tree, tree.terms[0], tree.terms[1]))
