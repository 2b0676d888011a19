"""Query text → the words the PostgreSQL backend searches for."""

from __future__ import annotations

import re
from typing import Final

# Like Meilisearch, only the first ten words of a query count.
MAX_WORDS: Final = 10
# A word of this many letters or more also matches words one edit (insert, delete, substitute) away.
TYPO_MIN_LETTERS: Final = 5
# Words a French or English query may carry that say nothing about what is sought: every query word
# must match, so without this "palettes de bois" would miss "Palettes bois". The same list as the
# Meilisearch backend's, so both answer the same.
STOP_WORDS: Final = frozenset(
    {
        *("le", "la", "les", "l", "un", "une", "des", "de", "du", "d", "et", "ou", "en", "au", "aux"),
        *("a", "à", "pour", "par", "sur", "avec", "dans"),
        *("the", "an", "of", "and", "or", "for", "to", "in", "on", "with"),
    }
)
# A word: a run of letters and digits (the highlights split texts the same way).
WORD: Final = re.compile(r"[^\W_]+")


def query_words(text: str) -> list[str]:
    """The words of `text`, lower-cased, stop words left out, at most `MAX_WORDS`.

    Accents are kept: PostgreSQL folds them with the same dictionary it folded the documents with."""
    return [w for w in WORD.findall(text.lower()) if w not in STOP_WORDS][:MAX_WORDS]
