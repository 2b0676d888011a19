"""The bounded scalar types of every input: decimals, timestamps, days and text.

Each value a client sends is checked once, where it is decoded, against what PostgreSQL will store:

- decimals are finite, within the column's range and at most its scale (a `numeric(14, 3)` takes
  three decimal places: `0.0001` would be stored as `0.000` and break a `> 0` check, so it is
  refused, not rounded);
- timestamps carry a UTC offset, are converted to UTC without overflowing, and fall in
  [`EARLIEST`, `LATEST`) (2000-01-01 to 2100-01-01 UTC); days likewise;
- text refuses U+0000 and the other control characters (long text allows tab and newlines).

msgspec 0.22 puts no numeric constraints on `Decimal` and parses any year, so decimals and
timestamps are marker classes that msgspec hands to `decode_hook` (Litestar's `type_decoders`, the
CSV import). The hook returns a plain `Decimal` or `datetime`, which is what every other module
sees (the markers' metaclass lets msgspec accept it); for the type checker the markers *are*
`Decimal`, `datetime` and `date`.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any, ClassVar

import msgspec

EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
"""Timestamps are accepted in [EARLIEST, LATEST)."""
EARLIEST_DAY = EARLIEST.date()
LATEST_DAY = date(2099, 12, 31)
"""Days are accepted in [EARLIEST_DAY, LATEST_DAY]."""

DECIMAL_TEXT = re.compile(r"^[+-]?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]{1,4})?$")
_MAX_DECIMAL_TEXT = 64


class _Plain(type):
    """Metaclass of the markers: an instance of a marker is a plain value (`Decimal`, `datetime`,
    `date`) within its bounds. msgspec checks a hook's result with `isinstance`, and the hook answers
    the plain type, which msgspec and asyncpg encode; Litestar skips the hook for a value that is
    already an instance, so an out-of-bounds `Decimal` must not count as one."""

    def __instancecheck__(cls, instance: Any) -> bool:
        plain = next(base for base in cls.__mro__ if not isinstance(base, _Plain))
        if not isinstance(instance, plain):
            return False
        try:
            cls.parse(instance)  # type: ignore[attr-defined]
        except ValueError:
            return False
        return True


class BoundedDecimal(Decimal, metaclass=_Plain):
    """A decimal within [minimum, maximum] (minimum excluded when `exclusive_minimum`), at most `places`
    decimal places. Subclasses name one column's bounds."""

    places: ClassVar[int] = 3
    minimum: ClassVar[Decimal] = Decimal(0)
    exclusive_minimum: ClassVar[bool] = False
    maximum: ClassVar[Decimal] = Decimal("99999999999.999")

    @classmethod
    def describe(cls) -> str:
        low = f"more than {cls.minimum}" if cls.exclusive_minimum else f"at least {cls.minimum}"
        return f"{low} and at most {cls.maximum}, with at most {cls.places} decimal places"

    @classmethod
    def parse(cls, value: Any) -> Decimal:
        """The value as a `Decimal`; `ValueError` saying what is accepted otherwise."""
        number = _to_decimal(value)
        if number is None or not number.is_finite():
            raise ValueError(f"expected a finite decimal number {cls.describe()}")
        too_low = number <= cls.minimum if cls.exclusive_minimum else number < cls.minimum
        if too_low or number > cls.maximum:
            raise ValueError(f"expected a decimal {cls.describe()}")
        step = Decimal(1).scaleb(-cls.places)
        quantised = number.quantize(step)
        if quantised != number:
            raise ValueError(f"expected at most {cls.places} decimal places (the value is stored so)")
        return quantised + 0  # `-0.000` becomes `0.000`


def _to_decimal(value: Any) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, float):
        return Decimal(repr(value)) if math.isfinite(value) else None
    if isinstance(value, str) and len(value) <= _MAX_DECIMAL_TEXT and DECIMAL_TEXT.match(value.strip()):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return None
    return None


class _Quantity(BoundedDecimal):
    """`numeric(14, 3)`, more than 0: a listing's quantity or capacity, a transfer's or booking's."""

    exclusive_minimum = True


class _Measured(BoundedDecimal):
    """`numeric(14, 3)`, 0 or more: a quantity received or refused, a search's lower bound."""


class _Kilometres(BoundedDecimal):
    """`numeric(9, 2)`, 0 or more: a transport distance."""

    places = 2
    maximum = Decimal("9999999.99")


class _Radius(BoundedDecimal):
    """`numeric(8, 3)`, more than 0 and at most 500: a zone's radius."""

    exclusive_minimum = True
    maximum = Decimal(500)


class BoundedTimestamp(datetime, metaclass=_Plain):
    """An RFC 3339 date-time with an offset, answered in UTC, in [EARLIEST, LATEST)."""

    @classmethod
    def describe(cls) -> str:
        return f"from {EARLIEST:%Y-%m-%d} (included) to {LATEST:%Y-%m-%d} (excluded), UTC"

    @classmethod
    def parse(cls, value: Any) -> datetime:
        if isinstance(value, str):
            try:
                value = msgspec.convert(value, datetime)
            except msgspec.ValidationError:
                raise ValueError("expected an RFC 3339 date-time, e.g. 2026-03-02T08:00:00Z") from None
        if not isinstance(value, datetime):
            raise ValueError("expected an RFC 3339 date-time, e.g. 2026-03-02T08:00:00Z")
        if value.tzinfo is None or value.utcoffset() is None:
            raise ValueError("give a UTC offset, e.g. 2026-03-02T08:00:00Z or +01:00")
        try:
            moment = value.astimezone(UTC)
        except OverflowError:
            moment = None
        if moment is None or not EARLIEST <= moment < LATEST:
            raise ValueError(f"expected a date-time {cls.describe()}")
        return moment


class BoundedDay(date, metaclass=_Plain):
    """An RFC 3339 full-date (`2026-03-02`) in [EARLIEST_DAY, LATEST_DAY]."""

    @classmethod
    def describe(cls) -> str:
        return f"from {EARLIEST_DAY} to {LATEST_DAY}"

    @classmethod
    def parse(cls, value: Any) -> date:
        if isinstance(value, str):
            try:
                value = msgspec.convert(value, date)
            except msgspec.ValidationError:
                raise ValueError("expected a date, e.g. 2026-03-02") from None
        if isinstance(value, datetime) or not isinstance(value, date):
            raise ValueError("expected a date, e.g. 2026-03-02")
        if not EARLIEST_DAY <= value <= LATEST_DAY:
            raise ValueError(f"expected a date {cls.describe()}")
        return date(value.year, value.month, value.day)


def is_bounded_type(target: Any) -> bool:
    """Whether `decode_hook` decodes values of `target`."""
    return isinstance(target, type) and issubclass(target, BoundedDecimal | BoundedTimestamp | BoundedDay)


def decode_hook(target: type, value: Any) -> Any:
    """msgspec's `dec_hook` for the types of this module; a `ValueError` becomes a field error."""
    if isinstance(target, type) and issubclass(target, BoundedDecimal | BoundedTimestamp | BoundedDay):
        return target.parse(value)
    raise NotImplementedError(f"no decoder for {target!r}")


if TYPE_CHECKING:
    Quantity = Decimal
    Measured = Decimal
    Kilometres = Decimal
    Radius = Decimal
    Timestamp = datetime
    Day = date
else:
    Quantity, Measured, Kilometres, Radius = _Quantity, _Measured, _Kilometres, _Radius
    Timestamp, Day = BoundedTimestamp, BoundedDay

# Text: `(?![\s\S])` is the end of the text (Python's `$` also matches before a final newline).
# U+0000 breaks PostgreSQL's `text`; other control characters are never meant in a field.
SHORT_TEXT_PATTERN = r"^[^\x00-\x1f\x7f-\x9f]*(?![\s\S])"
LONG_TEXT_PATTERN = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*(?![\s\S])"
"""Long text allows tab, line feed and carriage return. Use either as a `msgspec.Meta(pattern=...)`."""
URL_PATTERN = r"^https?://[^\x00-\x20\x7f-\x9f]*(?![\s\S])"
"""An http(s) URL without spaces or control characters."""


_PATTERN_MESSAGES = {
    SHORT_TEXT_PATTERN: "expected text without control characters (U+0000-U+001F, U+007F-U+009F)",
    LONG_TEXT_PATTERN: "expected text without control characters other than tab and newlines",
    URL_PATTERN: "expected an http(s) URL without spaces or control characters",
}


def readable(message: str) -> str:
    """msgspec's message for a text pattern of this module, in words a person can act on."""
    for pattern, words in _PATTERN_MESSAGES.items():
        if message.startswith("Expected `str` matching regex") and repr(pattern)[1:-1] in message:
            return words
    return message


__all__ = [
    "EARLIEST",
    "LATEST",
    "LONG_TEXT_PATTERN",
    "SHORT_TEXT_PATTERN",
    "URL_PATTERN",
    "Day",
    "Kilometres",
    "Measured",
    "Quantity",
    "Radius",
    "Timestamp",
    "decode_hook",
    "is_bounded_type",
    "readable",
]
