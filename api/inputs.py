"""Reading request bodies and bounded values, the same way on every route.

- `type_decoders()`: Litestar decodes the bounded decimals, timestamps and days of `schemas.types`
  (bodies, query parameters) with their one hook; `BoundedTypesSchemaPlugin` documents them.
- `InputRequest.json()`: a body that is not UTF-8, not JSON, or nested deeper than `MAX_JSON_DEPTH`
  is a 400 `malformed-body`, never a parser's crash.
- `check_request` (the app's `before_request` hook, run before any parameter is read): no query
  parameter holds a control character (422); a route reading a JSON body takes `application/json`
  (or a `+json` type), a route declaring other types in `opt["body_media_types"]` (the CSV import)
  takes those, and anything else is a 415 (`check_content_type`).
"""

from __future__ import annotations

import math
import re
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import msgspec
from litestar import Request
from litestar._openapi.schema_generation import SchemaCreator
from litestar.enums import RequestEncodingType
from litestar.openapi.spec import OpenAPIFormat, OpenAPIType, Schema
from litestar.params import ParameterKwarg, QueryParameter
from litestar.plugins import OpenAPISchemaPlugin
from litestar.types import TypeDecodersSequence
from litestar.typing import FieldDefinition

from api.errors import MalformedBodyError, RequestValidationError, UnsupportedMediaTypeError
from schemas.types import (
    DECIMAL_TEXT,
    BoundedDay,
    BoundedDecimal,
    BoundedTimestamp,
    decode_hook,
    is_bounded_type,
)

MAX_JSON_DEPTH = 32
"""Our deepest body nests 3 levels; 32 leaves room and keeps every parser far from its stack's end."""

BODY_MEDIA_TYPES = "body_media_types"
"""The `opt` key naming the media types a route's raw body may have."""


def type_decoders() -> TypeDecodersSequence:
    return [(is_bounded_type, decode_hook)]


class BoundedTypesSchemaPlugin(OpenAPISchemaPlugin):
    """The OpenAPI schema of each bounded type: its range, scale and formats."""

    @staticmethod
    def is_plugin_supported_type(value: Any) -> bool:
        return is_bounded_type(value)

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        target = field_definition.annotation
        if issubclass(target, BoundedDecimal):
            low = float(target.minimum)
            return Schema(
                one_of=[
                    Schema(type=OpenAPIType.NUMBER),
                    Schema(type=OpenAPIType.STRING, pattern=DECIMAL_TEXT.pattern),
                ],
                minimum=None if target.exclusive_minimum else low,
                exclusive_minimum=low if target.exclusive_minimum else None,
                maximum=float(target.maximum),
                multiple_of=float(1 / 10**target.places),
                description=f"A decimal {target.describe()}, as a JSON number or string.",
            )
        if issubclass(target, BoundedTimestamp):
            return Schema(
                type=OpenAPIType.STRING,
                format=OpenAPIFormat.DATE_TIME,
                description=f"RFC 3339 with a UTC offset, {target.describe()}; answered in UTC.",
            )
        assert issubclass(target, BoundedDay)
        return Schema(
            type=OpenAPIType.STRING, format=OpenAPIFormat.DATE, description=f"A date {target.describe()}."
        )


def _number(text: str) -> float | Decimal:
    """JSON numbers beyond a float's range (`1e400`) stay decimals, for the field's type to judge."""
    value = float(text)
    return value if math.isfinite(value) else Decimal(text)


_JSON = msgspec.json.Decoder(float_hook=_number)


def instant_query(name: str, description: str) -> ParameterKwarg:
    """An optional query parameter `name` holding an RFC 3339 instant, declared as text so that
    `query_instant` reports a bad value as `query.<name>`, not under the Python parameter's name
    (`from` and `to` are not Python names): `Annotated[str | None, instant_query("from", ...)]`."""
    return QueryParameter(
        name=name, required=False, description=description, schema_extra={"format": "date-time"}
    )


DateFrom = Annotated[
    str | None, instant_query("from", "Completed at or after (RFC 3339, 2000-01-01 to 2100-01-01 UTC).")
]
"""The start of a report's period (impact, payments, synergies), as `query_instant` reads it."""
DateTo = Annotated[
    str | None, instant_query("to", "Completed before (RFC 3339, 2000-01-01 to 2100-01-01 UTC).")
]


def query_instant(value: str | None, name: str) -> datetime | None:
    """A query parameter's bounded RFC 3339 instant; a 422 naming `query.<name>` when it is not one.

    For parameters whose wire name is not a Python name (`from`, `to`): Litestar would report a
    bad value under the Python parameter's name, so they are read as text and parsed here."""
    if value is None:
        return None
    try:
        return BoundedTimestamp.parse(value)
    except ValueError as exc:
        path = f"query.{name}"
        raise RequestValidationError(
            f"{path}: {exc}", extra={"errors": [{"path": path, "message": str(exc), "source": "query"}]}
        ) from None


def json_depth(body: bytes) -> int:
    """How deep arrays and objects nest in `body` (brackets inside strings do not count)."""
    depth = deepest = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):
            depth += 1
            deepest = max(deepest, depth)
        elif byte in (0x5D, 0x7D):
            depth -= 1
    return deepest


def _fast_depth_bound(body: bytes) -> int:
    """An upper bound of the nesting depth: the number of opening brackets."""
    return body.count(b"[") + body.count(b"{")


def _malformed(detail: str) -> MalformedBodyError:
    return MalformedBodyError(
        detail, extra={"errors": [{"path": "body", "message": detail, "source": "body"}]}
    )


def decode_body(body: bytes) -> Any:
    """The JSON value of a request body; a 400 `malformed-body` saying why when it has none."""
    try:
        body.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise _malformed(f"the body is not UTF-8 (byte {exc.start}); send UTF-8 JSON") from None
    if _fast_depth_bound(body) > MAX_JSON_DEPTH and json_depth(body) > MAX_JSON_DEPTH:
        raise _malformed(f"the body nests arrays and objects deeper than {MAX_JSON_DEPTH} levels")
    try:
        return _JSON.decode(body)
    except (msgspec.DecodeError, RecursionError) as exc:
        raise _malformed(f"the body is not valid JSON ({exc})") from None


class InputRequest(Request[Any, Any, Any]):
    """Litestar's request, with the body's JSON read by `decode_body`."""

    async def json(self) -> Any:
        body = await self.body()
        return decode_body(body or b"null")


def _is_json(media_type: str) -> bool:
    return media_type == "application/json" or (
        media_type.startswith("application/") and media_type.endswith("+json")
    )


def accepted_media_types(request: Request[Any, Any, Any]) -> tuple[str, ...] | None:
    """The media types the route's body may have, or None when the route reads no body."""
    handler = request.route_handler
    declared = handler.opt.get(BODY_MEDIA_TYPES)
    if declared is not None:
        return tuple(declared)
    data = handler.parsed_fn_signature.parameters.get("data")
    if data is None:
        return None
    media_type = getattr(data.kwarg_definition, "media_type", None) or RequestEncodingType.JSON
    return (str(getattr(media_type, "value", media_type)),)


_CONTROL = re.compile(r"[\x00-\x1f\x7f]")


def check_query_text(request: Request[Any, Any, Any]) -> None:
    """A query parameter holding a control character (U+0000 breaks PostgreSQL's text) is a 422."""
    for name, value in request.query_params.multi_items():
        if _CONTROL.search(value) or _CONTROL.search(name):
            path = f"query.{_CONTROL.sub('?', name)}"
            message = "control characters (U+0000 to U+001F, U+007F) are not accepted"
            raise RequestValidationError(
                f"{path}: {message}",
                extra={"errors": [{"path": path, "message": message, "source": "query"}]},
            )


async def check_request(request: Request[Any, Any, Any]) -> None:
    """`before_request`: the checks every route shares, before any parameter is read."""
    check_query_text(request)
    await check_content_type(request)


async def check_content_type(request: Request[Any, Any, Any]) -> None:
    """A body whose `Content-Type` the route does not read is refused with 415."""
    accepted = accepted_media_types(request)
    if accepted is None or not await request.body():
        return
    media_type = request.content_type[0].lower()
    if media_type in accepted or (RequestEncodingType.JSON.value in accepted and _is_json(media_type)):
        return
    sent = media_type or "no Content-Type"
    raise UnsupportedMediaTypeError(
        f"this route reads {' or '.join(accepted)}, not {sent}",
        extra={
            "errors": [
                {
                    "path": "header.content-type",
                    "message": f"expected {' or '.join(accepted)}",
                    "source": "header",
                }
            ]
        },
    )
