from __future__ import annotations

import pytest

from api.http import preferred_language


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, "fr"),
        ("", "fr"),
        ("en", "en"),
        ("EN-us", "en"),
        ("fr-FR", "fr"),
        ("en-GB,en;q=0.9,fr;q=0.8", "en"),
        ("fr;q=0.5, en;q=0.8", "en"),
        ("de-DE, en;q=0.3", "en"),
        ("de, es", "fr"),
        ("*", "fr"),
        ("fr;q=0, *;q=0.1", "en"),
        ("en;q=0", "fr"),
        ("en;q=oops, fr;q=0.2", "fr"),
        ("en, fr", "en"),
        ("fr, en", "fr"),
    ],
)
def test_the_preferred_supported_language_is_chosen(header: str | None, expected: str) -> None:
    assert preferred_language(header) == expected
