"""Reading the import CSV into typed rows, with a precise error for each bad cell.

Cells go through the same bounded types as JSON bodies (`schemas.types`). A line the `csv` module
cannot read (a cell over its 128 KiB field limit, a stray NUL) ends the reading with an error on
that line: what follows it cannot be trusted to be split into the right rows.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Sequence
from typing import TypeVar

import msgspec

from schemas.imports import ImportRow
from schemas.types import decode_hook, readable

COLUMNS = tuple(ImportRow.__struct_fields__)
REQUIRED = ("siret", "direction", "category", "title", "unit")
_AT_PATH = re.compile(r" - at `\$\.(?P<field>[a-z_]+)`$")
Row = TypeVar("Row", bound=msgspec.Struct)


class CsvHeaderError(ValueError):
    """The header line itself is wrong: nothing can be read."""


def read_rows(text: str) -> Iterator[tuple[int, ImportRow | None, list[dict[str, str]]]]:
    """Yield (line number, row or None, errors) for each data line of `text`."""
    return read_typed_rows(text, ImportRow, REQUIRED)


def read_typed_rows(
    text: str, row_type: type[Row], required: Sequence[str]
) -> Iterator[tuple[int, Row | None, list[dict[str, str]]]]:
    """The same for any row Struct whose fields are the columns (the flows' import reads its own)."""
    columns = tuple(row_type.__struct_fields__)
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")), dialect=_dialect(text))
    header = [name.strip().lower() for name in reader.fieldnames or []]
    unknown = [name for name in header if name not in columns]
    missing = [name for name in required if name not in header]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"unknown columns {', '.join(unknown)}")
        if missing:
            parts.append(f"missing columns {', '.join(missing)}")
        raise CsvHeaderError(f"{'; '.join(parts)}; the columns are: {', '.join(columns)}")
    reader.fieldnames = header
    while True:
        try:
            record = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            yield reader.line_num, None, [_error("row", f"this line cannot be read as CSV ({exc})")]
            return
        line = reader.line_num
        cells = {
            k: v.strip() for k, v in record.items() if k is not None and v is not None and v.strip() != ""
        }
        if None in record:
            yield line, None, [_error("row", "more cells than columns in the header")]
            continue
        try:
            yield line, msgspec.convert(cells, row_type, strict=False, dec_hook=decode_hook), []
        except msgspec.ValidationError as exc:
            yield line, None, [_from_msgspec(str(exc))]


def _dialect(text: str) -> type[csv.Dialect]:
    """French spreadsheets export with semicolons; accept both."""
    first_line = text.lstrip("\ufeff").split("\n", 1)[0]
    return csv.excel if first_line.count(",") >= first_line.count(";") else _Semicolon


class _Semicolon(csv.excel):
    delimiter = ";"


def _from_msgspec(message: str) -> dict[str, str]:
    match = _AT_PATH.search(message)
    if match:
        return _error(f"row.{match['field']}", readable(message[: match.start()]))
    if message.startswith("Object missing required field"):
        field = message.split("`")[1]
        return _error(f"row.{field}", "this cell is required")
    return _error("row", message)


def _error(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message, "source": "body"}
