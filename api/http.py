"""HTTP conventions shared by every feature: ETags and If-Match, opaque cursors, languages."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Annotated, Any

from litestar.params import HeaderParameter, QueryParameter

from api.errors import AppError, PreconditionFailedError, RequestValidationError

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        description="The resource's current `ETag`; a stale value is refused with 412.",
    ),
]


AcceptLanguage = Annotated[
    str | None,
    HeaderParameter(
        name="Accept-Language",
        required=False,
        description="`fr` or `en` (q-values honoured, e.g. `en-GB,en;q=0.9,fr;q=0.8`); French by default.",
    ),
]

# `FromQuery[Annotated[int, msgspec.Meta(ge=1)]]` does not enforce its bounds on a query string;
# Litestar's own parameter constraints do.
LimitQuery = Annotated[int, QueryParameter(ge=1, le=200, description="Items per page (1-200).")]

LANGUAGES = ("fr", "en")
DEFAULT_LANGUAGE = "fr"


class PreconditionRequiredError(AppError):
    status, slug, title_text = 428, "precondition-required", "If-Match is required"


def etag(version: int) -> str:
    return f'"{version}"'


def expected_version(if_match: str | None) -> int:
    """The version an update was based on, read from `If-Match`."""
    if if_match is None:
        raise PreconditionRequiredError(
            "send If-Match with the ETag you read, so that concurrent edits are not lost"
        )
    value = if_match.strip()
    if value.startswith("W/"):
        value = value[2:]
    value = value.strip('"')
    if not value.isdigit():
        raise PreconditionFailedError(f"If-Match {if_match!r} is not an ETag this API issued")
    return int(value)


def stale(current_version: int) -> PreconditionFailedError:
    return PreconditionFailedError(
        f"the resource changed since you read it (now at ETag {etag(current_version)}); read it again",
        headers={"ETag": etag(current_version)},
    )


def encode_cursor(*values: Any) -> str:
    raw = json.dumps(list(values), separators=(",", ":"), default=str).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The values a cursor carries; a cursor not issued by us is a 422 on `query.cursor`."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != arity:
        raise RequestValidationError(
            "cursor is not valid; pass back the next_cursor of a previous page",
            extra={"errors": [{"path": "query.cursor", "message": "invalid cursor", "source": "query"}]},
        )
    return values


def preferred_language(accept_language: str | None) -> str:
    """The supported language the caller prefers, from an `Accept-Language` header (RFC 9110).

    Ranges are matched on their primary tag (`en-GB` is English); `*` stands for the default; a
    range with `q=0` is refused; ties keep the caller's order. Nothing acceptable means French.
    """
    best, best_q = DEFAULT_LANGUAGE, 0.0
    refused: set[str] = set()
    for part in (accept_language or "").split(","):
        tag, _, params = part.strip().partition(";")
        primary = tag.strip().lower().split("-")[0]
        weight = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        language = DEFAULT_LANGUAGE if primary == "*" else primary
        if language not in LANGUAGES:
            continue
        if weight <= 0:
            refused.add(language)
        elif weight > best_q and language not in refused:
            best, best_q = language, weight
    if best_q == 0.0 and DEFAULT_LANGUAGE in refused:
        return next((lang for lang in LANGUAGES if lang not in refused), DEFAULT_LANGUAGE)
    return best
