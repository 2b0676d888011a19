"""Highlights of the PostgreSQL backend: a hit's title and description, HTML-escaped, with every word
the search's tsquery matches between `<mark>` and `</mark>`.

A word is marked when one of its lexemes under `symbiose_fr` (the configuration of the documents'
French stems) is a lexeme of the tsquery or starts with one of its prefixes, which is what
`ts_headline('symbiose_fr', text, tsquery, 'HighlightAll=true')` marks. ts_headline analyses both
texts of every hit again at every search: about 1.6 ms of PostgreSQL's time for a page of 20, most of
what a text search costs it. A word's lexemes depend on the word alone, so the `Lexicon` asks
PostgreSQL for them once per word, and a search finds the words it marks among those it knows.

Words are what `query_words` splits a query into: runs of letters and digits. PostgreSQL's parser
keeps a URL, an e-mail address, a path (`EUR/EPAL`) or a decimal number whole and takes `<bois>`
for an XML tag, where this splits them at their punctuation: a word inside one of those is marked
like any other word.
"""

from __future__ import annotations

import re
from bisect import bisect_left, insort
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

from api.db.pool import Connection
from search.postgres.text import WORD
from search.postgres.tsquery import Lexeme, Node, parse

_LETTER: Final = re.compile(r"[^\W_]")
LEXEMES_SQL: Final = """SELECT w, array_to_string(tsvector_to_array(to_tsvector('symbiose_fr', w)), ' ')
    FROM unnest($1::text[]) AS w"""
# Past this many words (or texts known to hold only known words) the lexicon starts again empty and
# learns from the pages; the field's vocabulary is a few tens of thousands of words.
MAX_WORDS: Final = 300_000
MAX_TEXTS: Final = 200_000
MAX_MARKERS: Final = 1024
# Past this many words to mark (a short prefix) the text's words are looked up one by one instead of
# compiling an expression of them all.
_MAX_ALTERNATIVES: Final = 256


def escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def tsquery_lexemes(tsquery: str) -> tuple[frozenset[str], tuple[str, ...]]:
    """The exact lexemes and the prefixes of a tsquery as PostgreSQL prints it (as `TSQUERY`
    builds it: lexemes, prefixes, `&` and `|`, which `tsquery.parse` reads)."""
    exact: set[str] = set()
    prefixes: set[str] = set()
    pending: list[Node] = [parse(tsquery)]
    while pending:
        node = pending.pop()
        if isinstance(node, Lexeme):
            (prefixes if node.prefix else exact).add(node.text)
        else:
            pending.extend(node.terms)
    return frozenset(exact), tuple(sorted(prefixes))


@dataclass(frozen=True, slots=True)
class Marker:
    """Marks the words of one search in texts (which it HTML-escapes)."""

    words: frozenset[str]
    pattern: re.Pattern[str] | None

    def __call__(self, text: str) -> str:
        return self.all([text])[0]

    def all(self, texts: list[str]) -> list[str]:
        """Each of `texts` marked; a page's texts go through the expression as one string."""
        if not self.words:
            return [escape(text) for text in texts]
        joined = "\x00".join(texts)
        if joined.count("\x00") == len(texts) - 1:
            return self._one(joined).split("\x00")
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> str:
        escaped = escape(text)
        lowered = escaped.lower()
        if self.pattern is None or len(lowered) != len(escaped):  # else offsets are shared
            return self._word_by_word(text)
        parts: list[str] = []
        at = 0
        for found in self.pattern.finditer(lowered):
            start, end = found.span()
            if start and (escaped[start - 1] == "&" or _LETTER.match(escaped, start - 1)):
                continue  # inside a word, or the name of an entity escape() wrote
            parts += (escaped[at:start], "<mark>", escaped[start:end], "</mark>")
            at = end
        parts.append(escaped[at:])
        return "".join(parts)

    def _word_by_word(self, text: str) -> str:
        parts: list[str] = []
        at = 0
        for found in WORD.finditer(text):
            if found.group().lower() in self.words:
                parts += (escape(text[at : found.start()]), "<mark>", escape(found.group()), "</mark>")
                at = found.end()
        parts.append(escape(text[at:]))
        return "".join(parts)


def _marker(words: frozenset[str]) -> Marker:
    if not words or len(words) > _MAX_ALTERNATIVES:
        return Marker(words, None)
    alternatives = "|".join(re.escape(w) for w in sorted(words, key=lambda w: (-len(w), w)))
    # Searched in the lower-cased text, a match is a word when no letter or digit follows (and, as
    # Marker checks, none precedes): starting with the words lets the engine skip ahead.
    return Marker(words, re.compile(rf"(?:{alternatives})(?![^\W_])"))


class Lexicon:
    """The `symbiose_fr` lexemes of every word the pages have shown, learnt from PostgreSQL.

    Only strings are kept (lexemes joined by spaces), which the garbage collector does not walk."""

    def __init__(self, max_words: int = MAX_WORDS, max_texts: int = MAX_TEXTS) -> None:
        self.max_words, self.max_texts = max_words, max_texts
        self.learnt = 0
        self._forget()

    def _forget(self) -> None:
        self._lexemes: dict[str, str] = {}  # lower-cased word -> its lexemes
        self._words: dict[str, str] = {}  # lexeme -> the words that have it
        self._sorted: list[str] = []  # the lexemes, for prefixes
        self._texts: set[int] = set()  # hashes of texts whose words are all known
        self._markers: dict[str, Marker] = {}  # tsquery -> its marker, while no word is learnt

    def __len__(self) -> int:
        return len(self._lexemes)

    def unknown(self, texts: Iterable[str]) -> list[str]:
        """The words of `texts` whose lexemes are not known yet."""
        found: set[str] = set()
        checked = self._texts
        for text in texts:
            key = hash(text)
            if key in checked:
                continue
            words = WORD.findall(text.lower())
            missing = [w for w in words if w not in self._lexemes]
            if missing:
                found.update(missing)
            elif len(checked) < self.max_texts:
                checked.add(key)
        return sorted(found)

    async def learn(self, conn: Connection, words: list[str]) -> None:
        """Ask PostgreSQL for the lexemes of `words`."""
        if len(self._lexemes) + len(words) > self.max_words:
            self._forget()
        for word, lexemes in await conn.fetch(LEXEMES_SQL, words):
            self._add(word, lexemes or "")
        self._markers.clear()

    def _add(self, word: str, lexemes: str) -> None:
        if word in self._lexemes:
            return
        self._lexemes[word] = lexemes
        self.learnt += 1
        for lexeme in lexemes.split():
            known = self._words.get(lexeme)
            if known is None:
                self._words[lexeme] = word
                insort(self._sorted, lexeme)
            else:
                self._words[lexeme] = f"{known} {word}"

    def marker(self, tsquery: str) -> Marker:
        """What marks the known words `tsquery` matches."""
        marker = self._markers.get(tsquery)
        if marker is None:
            if len(self._markers) >= MAX_MARKERS:
                self._markers.clear()
            marker = self._markers[tsquery] = _marker(self.matching(tsquery))
        return marker

    def matching(self, tsquery: str) -> frozenset[str]:
        """The known words one of whose lexemes `tsquery` matches."""
        exact, prefixes = tsquery_lexemes(tsquery)
        words: list[str] = []
        for lexeme in exact:
            if (known := self._words.get(lexeme)) is not None:
                words += known.split()
        ordered = self._sorted
        for prefix in prefixes:
            at = bisect_left(ordered, prefix)
            while at < len(ordered) and ordered[at].startswith(prefix):
                words += self._words[ordered[at]].split()
                at += 1
        return frozenset(words)
