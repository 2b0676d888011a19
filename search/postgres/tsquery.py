"""A tsquery as PostgreSQL prints it (`query::text`), parsed into the AND/OR tree of lexemes the
in-memory index evaluates. Operators the index cannot evaluate exactly (`!`, phrases `<->`,
weights) make the parse fail, and the search goes through SQL instead."""

from __future__ import annotations

from functools import lru_cache
from typing import TypeAlias

import msgspec


# Parses are kept (`parse`); untracked by the garbage collector, their thousands of nodes are not
# walked at every full collection.
class Lexeme(msgspec.Struct, frozen=True, gc=False):
    text: str
    prefix: bool


class All(msgspec.Struct, frozen=True, gc=False):
    terms: tuple[Node, ...]


class Any(msgspec.Struct, frozen=True, gc=False):
    terms: tuple[Node, ...]


Node: TypeAlias = Lexeme | All | Any


class UnsupportedError(ValueError):
    """The tsquery holds an operator the index does not evaluate."""


class _Parser:
    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def peek(self) -> str:
        while self.at < len(self.text) and self.text[self.at] == " ":
            self.at += 1
        return self.text[self.at] if self.at < len(self.text) else ""

    def either(self) -> Node:
        terms = [self.both()]
        while self.peek() == "|":
            self.at += 1
            terms.append(self.both())
        return terms[0] if len(terms) == 1 else Any(tuple(terms))

    def both(self) -> Node:
        terms = [self.operand()]
        while self.peek() == "&":
            self.at += 1
            terms.append(self.operand())
        return terms[0] if len(terms) == 1 else All(tuple(terms))

    def operand(self) -> Node:
        char = self.peek()
        if char == "(":
            self.at += 1
            node = self.either()
            if self.peek() != ")":
                raise UnsupportedError(f"expected ) at {self.at}")
            self.at += 1
            return node
        if char != "'":
            raise UnsupportedError(f"unexpected {char!r} at {self.at}")
        return self.lexeme()

    def lexeme(self) -> Lexeme:
        text, at = self.text, self.at + 1
        out: list[str] = []
        while True:
            if at >= len(text):
                raise UnsupportedError("unterminated lexeme")
            char = text[at]
            if char in "'\\":
                # PostgreSQL doubles a quote or a backslash inside a lexeme.
                if at + 1 < len(text) and text[at + 1] == char:
                    out.append(char)
                    at += 2
                    continue
                if char == "\\":
                    raise UnsupportedError("lone backslash")
                at += 1
                break
            out.append(char)
            at += 1
        prefix = False
        if at < len(text) and text[at] == ":":
            flags = ""
            at += 1
            while at < len(text) and text[at] not in " &|()":
                flags += text[at]
                at += 1
            if flags != "*":
                raise UnsupportedError(f"weights {flags!r}")
            prefix = True
        self.at = at
        return Lexeme("".join(out), prefix)


@lru_cache(maxsize=8192)
def parse(text: str) -> Node:
    """The tree of `text` (trees are immutable: the searches of one word share its parse)."""
    parser = _Parser(text)
    node = parser.either()
    if parser.peek() != "":
        raise UnsupportedError(f"trailing text at {parser.at}")
    return node
