"""The bounded types refuse what PostgreSQL would reject or round, and keep everything else."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
import pytest

from schemas.types import (
    LONG_TEXT_PATTERN,
    SHORT_TEXT_PATTERN,
    Day,
    Kilometres,
    Quantity,
    Radius,
    Timestamp,
    decode_hook,
)


class Sample(msgspec.Struct):
    quantity: Quantity | None = None
    km: Kilometres | None = None
    radius: Radius | None = None
    at: Timestamp | None = None
    day: Day | None = None


def decode(**fields: Any) -> Sample:
    return msgspec.convert(fields, Sample, dec_hook=decode_hook)


@pytest.mark.parametrize(
    ("field", "value", "expected"),
    [
        ("quantity", "1.5", Decimal("1.500")),
        ("quantity", 2, Decimal("2.000")),
        ("quantity", 0.125, Decimal("0.125")),
        ("quantity", "99999999999.999", Decimal("99999999999.999")),
        ("km", "0", Decimal("0.00")),
        ("km", 12.34, Decimal("12.34")),
        ("radius", "0.001", Decimal("0.001")),
        ("radius", 500, Decimal("500.000")),
    ],
)
def test_decimals_in_bounds_are_kept_at_the_columns_scale(field: str, value: Any, expected: Decimal) -> None:
    decoded = getattr(decode(**{field: value}), field)
    assert decoded == expected
    assert type(decoded) is Decimal
    assert decoded.as_tuple().exponent == expected.as_tuple().exponent


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity", "NaN"),
        ("quantity", "sNaN"),
        ("quantity", "Infinity"),
        ("quantity", float("inf")),
        ("quantity", float("nan")),
        ("quantity", Decimal("1e400")),
        ("quantity", "1e400"),
        ("quantity", "0"),
        ("quantity", "-1"),
        ("quantity", "0.0001"),
        ("quantity", 5e-324),
        ("quantity", "100000000000"),
        ("quantity", "1_000"),
        ("quantity", True),
        ("quantity", "1" * 100),
        ("km", "-0.01"),
        ("km", "1.005"),
        ("km", "10000000"),
        ("radius", "0"),
        ("radius", "0.0001"),
        ("radius", "500.001"),
    ],
)
def test_decimals_out_of_bounds_or_finer_than_stored_are_refused_naming_the_field(
    field: str, value: Any
) -> None:
    with pytest.raises(msgspec.ValidationError, match=rf"at `\$\.{field}`"):
        decode(**{field: value})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-03-02T08:00:00Z", datetime(2026, 3, 2, 8, tzinfo=UTC)),
        ("2026-03-02T10:00:00+02:00", datetime(2026, 3, 2, 8, tzinfo=UTC)),
        ("2000-01-01T00:00:00Z", datetime(2000, 1, 1, tzinfo=UTC)),
        ("2100-01-01T13:59:59+14:00", datetime(2099, 12, 31, 23, 59, 59, tzinfo=UTC)),
    ],
)
def test_timestamps_in_range_are_answered_in_utc(value: str, expected: datetime) -> None:
    decoded = decode(at=value).at
    assert decoded == expected
    assert decoded is not None
    assert decoded.tzinfo is UTC


@pytest.mark.parametrize(
    "value",
    [
        "0001-01-01T00:00:00+14:00",
        "9999-12-31T23:59:59-14:00",
        "0001-01-01T00:00:00Z",
        "1999-12-31T23:59:59Z",
        "2000-01-01T00:00:00+00:01",
        "2100-01-01T00:00:00Z",
        "2026-03-02T08:00:00",
        "0001-01-01",
        "yesterday",
        12,
    ],
)
def test_timestamps_out_of_range_overflowing_or_without_offset_are_refused(value: Any) -> None:
    with pytest.raises(msgspec.ValidationError, match=r"at `\$\.at`"):
        decode(at=value)


def test_days_are_bounded_too() -> None:
    assert decode(day="2026-03-02").day == date(2026, 3, 2)
    for value in ("0001-01-01", "1999-12-31", "2100-01-01", "2026-03-02T00:00:00Z"):
        with pytest.raises(msgspec.ValidationError, match=r"at `\$\.day`"):
            decode(day=value)


@pytest.mark.parametrize(
    ("text", "short", "long"),
    [
        ("Palettes Europe 80x120, état neuf", True, True),
        ("ligne 1\nligne 2\r\n\tfin", False, True),
        ("fin\n", False, True),
        ("a\u0000b", False, False),
        ("a\u001bb", False, False),
        ("a\u007fb", False, False),
        ("a\u0085b", False, False),
    ],
)
def test_text_patterns_refuse_control_characters(text: str, short: bool, long: bool) -> None:
    for pattern, accepted in ((SHORT_TEXT_PATTERN, short), (LONG_TEXT_PATTERN, long)):
        try:
            msgspec.convert(text, Annotated[str, msgspec.Meta(pattern=pattern)])
        except msgspec.ValidationError:
            assert not accepted, (pattern, text)
        else:
            assert accepted, (pattern, text)
