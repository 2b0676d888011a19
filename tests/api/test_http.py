from __future__ import annotations

from pathlib import Path
from unittest.mock import ANY

import pytest

from api.errors import PreconditionFailedError
from api.http import (
    InvalidCursorError,
    PreconditionRequiredError,
    check_if_match,
    cursor_key_in,
    decode_cursor,
    encode_cursor,
    preferred_language,
)


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


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ('"3"', True),
        ("*", True),
        ('"1", "3"', True),
        (' , "3" ,', True),
        ('"1","3"', True),
        ('W/"3"', False),
        ('"2"', False),
        ('"²"', False),
        ('""', False),
    ],
)
def test_if_match_compares_entity_tags_strongly(header: str, matches: bool) -> None:
    if matches:
        check_if_match(header, 3)
    else:
        with pytest.raises(PreconditionFailedError) as refused:
            check_if_match(header, 3)
        assert refused.value.headers == {"ETag": '"3"'}


@pytest.mark.parametrize("header", ["3", '"3" "4"', '"3', "", "W/3", '"3";'])
def test_if_match_that_is_not_entity_tag_syntax_is_412_naming_the_header(header: str) -> None:
    with pytest.raises(PreconditionFailedError) as refused:
        check_if_match(header, 3)
    assert refused.value.extra == {
        "errors": [{"path": "header.if-match", "message": ANY, "source": "header"}]
    }


def test_a_missing_if_match_is_428() -> None:
    with pytest.raises(PreconditionRequiredError):
        check_if_match(None, 3)


def test_cursors_round_trip_and_any_change_is_refused() -> None:
    cursor = encode_cursor("2026-03-02T08:00:00+00:00", "b2c1")
    assert decode_cursor(cursor, 2) == ["2026-03-02T08:00:00+00:00", "b2c1"]
    payload, _, signature = cursor.partition(".")
    for changed in (payload, payload[:-1] + "A." + signature, cursor + "A", "." + signature, "WzFd"):
        with pytest.raises(InvalidCursorError):
            decode_cursor(changed, 2)
    with pytest.raises(InvalidCursorError):
        decode_cursor(cursor, 3)


def test_the_cursor_key_is_kept_in_the_data_directory(tmp_path: Path) -> None:
    key = cursor_key_in(tmp_path / "keys")
    assert cursor_key_in(tmp_path / "keys") == key
    assert len(key) == 32
    assert (tmp_path / "keys" / "cursor.key").stat().st_mode & 0o777 == 0o600
