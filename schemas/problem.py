"""RFC 9457 problem details, as every error response carries them."""

from __future__ import annotations

import msgspec

from schemas.base import Schema


class FieldError(Schema):
    path: str = msgspec.field()
    """Where the problem is: `body.quantity`, `query.limit`, `header.if-match`."""
    message: str
    source: str = "body"


class Problem(Schema):
    type: str
    title: str
    status: int
    detail: str
    errors: list[FieldError] | None = None
