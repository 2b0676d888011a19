"""HTTP conventions shared by every feature: ETags and If-Match, signed cursors, languages."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
from pathlib import Path
from typing import Annotated, Any, Protocol, TypeVar

from litestar import Response
from litestar.params import HeaderParameter, QueryParameter

from api.errors import AppError, PreconditionFailedError

IfMatch = Annotated[
    str | None,
    HeaderParameter(
        name="If-Match",
        required=False,
        description=(
            "The resource's current `ETag`, a comma-separated list of entity-tags, or `*` (any current "
            "version); compared strongly (RFC 9110), a value that does not match is refused with 412."
        ),
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


class InvalidCursorError(AppError):
    status, slug, title_text = 400, "invalid-cursor", "The cursor is not one this API issued"


def etag(version: int) -> str:
    return f'"{version}"'


class Versioned(Protocol):
    """A resource updated under `If-Match`: its `version` is its ETag."""

    @property
    def version(self) -> int: ...


V = TypeVar("V", bound=Versioned)


def tagged(resource: V, status_code: int = 200, **headers: str) -> Response[V]:
    """`resource` as the answer, with its version as `ETag` and any other `headers`."""
    return Response(resource, status_code=status_code, headers={"ETag": etag(resource.version), **headers})


# RFC 9110 §8.8.3: entity-tag = [ "W/" ] DQUOTE *etagc DQUOTE, etagc = %x21 / %x23-7E / obs-text.
_ENTITY_TAG = re.compile(r'(W/)?"([\x21\x23-\x7e\x80-\xff]*)"')
_LIST_SEPARATOR = re.compile(r"[ \t]*(?:,[ \t]*)*")


def _if_match_error(detail: str, current_version: int | None = None) -> PreconditionFailedError:
    return PreconditionFailedError(
        detail,
        extra={"errors": [{"path": "header.if-match", "message": detail, "source": "header"}]},
        headers={"ETag": etag(current_version)} if current_version is not None else None,
    )


def entity_tags(if_match: str) -> list[tuple[bool, str]] | None:
    """The `(weak, opaque-tag)` list of an `If-Match` value (RFC 9110 §13.1.1), None for `*`;
    `ValueError` when it is not that syntax."""
    value = if_match.strip(" \t")
    if value == "*":
        return None
    tags: list[tuple[bool, str]] = []
    position = _LIST_SEPARATOR.match(value, 0)
    index = position.end() if position else 0
    while index < len(value):
        tag = _ENTITY_TAG.match(value, index)
        if tag is None:
            raise ValueError(f"not an entity-tag list at character {index + 1}")
        tags.append((tag[1] is not None, tag[2]))
        separator = _LIST_SEPARATOR.match(value, tag.end())
        index = separator.end() if separator else tag.end()
        if index < len(value) and "," not in value[tag.end() : index]:
            raise ValueError(f"entity-tags are separated by commas (character {index + 1})")
    if not tags:
        raise ValueError("no entity-tag")
    return tags


def check_if_match(if_match: str | None, current_version: int) -> None:
    """Let an update through only when `If-Match` matches the resource's current `ETag`.

    RFC 9110 §13.1.1: `*` matches any current version; otherwise one of the listed entity-tags must
    match by strong comparison (a weak tag `W/"3"` never does). A missing header is 428; a header
    that does not match, or is not entity-tag syntax, is 412 with the current `ETag`.
    """
    if if_match is None:
        raise PreconditionRequiredError(
            "send If-Match with the ETag you read, so that concurrent edits are not lost",
            extra={"errors": [{"path": "header.if-match", "message": "required", "source": "header"}]},
        )
    try:
        tags = entity_tags(if_match)
    except ValueError as exc:
        raise _if_match_error(f"If-Match is not a list of entity-tags: {exc}", current_version) from None
    if tags is None or (False, str(current_version)) in tags:
        return
    if all(weak for weak, _ in tags):
        raise _if_match_error("If-Match takes strong entity-tags (weak ones never match)", current_version)
    raise stale(current_version)


def stale(current_version: int) -> PreconditionFailedError:
    return _if_match_error(
        f"the resource changed since you read it (now at ETag {etag(current_version)}); read it again",
        current_version,
    )


# Cursors are signed: a cursor is the base64url of its JSON values, a dot, and the base64url of an
# HMAC of those bytes; a changed cursor fails the HMAC before anything reads its values. The key is
# the data directory's `cursor.key` (see `use_cursor_key`); until one is installed, a process key.
_cursor_key: bytes = secrets.token_bytes(32)
_CURSOR_MAC_BYTES = 16
MAX_CURSOR_LENGTH = 2048


def cursor_key_in(directory: Path) -> bytes:
    """The cursor signing key kept in `directory/cursor.key`, created (0600) on first use."""
    path = directory / "cursor.key"
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        directory.mkdir(parents=True, exist_ok=True)
        candidate = secrets.token_bytes(32)
        try:
            descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(descriptor, "wb") as file:
            file.write(candidate)
        return candidate
    if len(key) < 32:
        raise ValueError(f"{path} holds fewer than 32 bytes; delete it to have a new key made")
    return key


def use_cursor_key(key: bytes) -> None:
    """Sign and check cursors with `key` from now on (the app installs its data directory's key)."""
    global _cursor_key
    _cursor_key = key


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode((text + "=" * (-len(text) % 4)).encode("ascii"))


def _mac(payload: str) -> bytes:
    return hmac.new(_cursor_key, payload.encode("ascii"), hashlib.sha256).digest()[:_CURSOR_MAC_BYTES]


def encode_cursor(*values: Any) -> str:
    payload = _b64(json.dumps(list(values), separators=(",", ":"), default=str).encode())
    return f"{payload}.{_b64(_mac(payload))}"


def invalid_cursor() -> InvalidCursorError:
    return InvalidCursorError(
        "cursor is not valid; pass back the next_cursor of a previous page",
        extra={"errors": [{"path": "query.cursor", "message": "invalid cursor", "source": "query"}]},
    )


def decode_cursor(cursor: str, arity: int) -> list[Any]:
    """The values a cursor carries; a cursor not issued by us (or changed) is a 400 `invalid-cursor`."""
    payload, _, signature = cursor.partition(".")
    try:
        if len(cursor) > MAX_CURSOR_LENGTH or not hmac.compare_digest(_unb64(signature), _mac(payload)):
            raise invalid_cursor()
        values = json.loads(_unb64(payload))
    except (binascii.Error, ValueError, UnicodeError):
        raise invalid_cursor() from None
    if not isinstance(values, list) or len(values) != arity:
        raise invalid_cursor()
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
