"""Searches people type, never the same twice: a seeded, Zipf-like generator over the field's words.

The vocabulary is the words of the benchmark's own listings (bench/dataset.py: titles, descriptions,
towns), stop words left out, ranked by how many listings contain them; a word of rank r is drawn
with weight 1 / r, so the common words ("palettes", "stockage", the towns) come most often and
match 10 to 60 % of the listings, and the rare ones ("inox", "osb") a few. A third of the words are
typed without their accents, one in ten is cut to a prefix of at least four letters (the last word
of a query matches as a prefix).

Two mixes, each drawing until it has `count` distinct searches (a search is its whole query string,
so no two requests of a run can be answered by the same cached result):

- text: one word (70 %) or two, five facets, 40 % within 5 to 50 km of a point near one of the
  network's towns, 30 % in a category, page 1 (80 %) or 2;
- browsing: no text; one or two categories (weighted like the listings) and a direction, always
  within 5 to 50 km of a point, five facets, page 1 (80 %) or 2.
"""

from __future__ import annotations

import random
import re
import unicodedata
import uuid
from collections import Counter
from urllib.parse import urlencode

from bench import dataset

FACETS = ("category", "direction", "nature", "condition", "price")
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def _strip_accents(word: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", word) if unicodedata.category(c) != "Mn")


def vocabulary(sample: int = 4000, seed: int = 3) -> list[tuple[str, int]]:
    """(word, listings of the sample containing it), most frequent first."""
    from search.postgres.text import STOP_WORDS

    rng = random.Random(seed)
    orgs = dataset._organisations(50, rng)
    rows = dataset._listings(sample, uuid.uuid4(), orgs, [uuid.uuid4()], rng)
    counts: Counter[str] = Counter()
    for row in rows:
        text = f"{row[7]} {row[8]}".lower()
        counts.update({w for w in _WORD.findall(text) if w not in STOP_WORDS and len(w) >= 3})
    return counts.most_common()


class Generator:
    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        words = vocabulary()
        self.words = [w for w, _ in words]
        self.weights = [1 / rank for rank in range(1, len(words) + 1)]
        self.categories = list(dataset.CATEGORY_WEIGHTS)
        self.category_weights = list(dataset.CATEGORY_WEIGHTS.values())
        self.seen: set[str] = set()

    def word(self) -> str:
        word = self.rng.choices(self.words, self.weights)[0]
        if self.rng.random() < 1 / 3:
            word = _strip_accents(word)
        if len(word) >= 6 and self.rng.random() < 0.1:
            word = word[: self.rng.randint(4, len(word) - 1)]
        return word

    def near(self) -> list[tuple[str, str]]:
        _, _, lat, lon = self.rng.choice(dataset.CITIES)
        lat += self.rng.uniform(-0.03, 0.03)
        lon += self.rng.uniform(-0.03, 0.03)
        radius = self.rng.uniform(5, 50)
        return [("near", f"{lat:.5f},{lon:.5f}"), ("radius_km", f"{radius:.1f}")]

    def page(self) -> list[tuple[str, str]]:
        return [("page", "2")] if self.rng.random() < 0.2 else []

    def text(self) -> list[tuple[str, str]]:
        words = [self.word()]
        if self.rng.random() < 0.3:
            words.append(self.word())
        params = [("q", " ".join(words))]
        if self.rng.random() < 0.4:
            params += self.near()
        if self.rng.random() < 0.3:
            params.append(("category", self.rng.choices(self.categories, self.category_weights)[0]))
        return params + self.page()

    def browse(self) -> list[tuple[str, str]]:
        chosen = set(self.rng.choices(self.categories, self.category_weights, k=self.rng.choice([1, 2])))
        params = [("category", c) for c in sorted(chosen)]
        params.append(("direction", self.rng.choice(["offer", "need"])))
        return params + self.near() + self.page()

    def paths(self, mix: str, count: int) -> list[str]:
        """`count` search paths of `mix` ("text" or "browse") never drawn before by this generator."""
        draw = self.text if mix == "text" else self.browse
        out: list[str] = []
        attempts = 0
        while len(out) < count:
            attempts += 1
            if attempts > count * 50:
                raise RuntimeError(f"the {mix} mix cannot draw {count} distinct searches")
            params = draw()
            params += [("facets", f) for f in FACETS]
            path = "/v1/search/listings?" + urlencode(params)
            if path in self.seen:
                continue
            self.seen.add(path)
            out.append(path)
        return out
