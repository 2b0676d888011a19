"""RFC 9457 problem details, as every error response carries them.

`status` is always the HTTP status. Problem types add extension members, all listed here so that a
generated client reads them as typed fields; each is present only on the types that use it.
"""

from __future__ import annotations

import msgspec

from schemas.base import Schema


class FieldError(Schema):
    path: str = msgspec.field()
    """Where the problem is: `body.quantity`, `query.limit`, `header.if-match`."""
    message: str
    source: str = "body"


class RowProblem(Schema):
    """One refused line of an imported file."""

    row: int
    """The line number in the file (the header is line 1)."""
    errors: list[FieldError]
    """Each refused cell, at `row.<column>`."""


class Problem(Schema, omit_defaults=True):
    type: str
    """A URL naming the problem type, e.g. `https://symbiose.eco/problems/illegal-transition`."""
    title: str
    status: int
    """The HTTP status code of the answer."""
    detail: str
    """What went wrong and what to do about it, for a person."""
    errors: list[FieldError] | None = None
    """`validation-error`: each field that was refused."""
    current_status: str | None = None
    """`illegal-transition`: the resource's lifecycle status now."""
    allowed_actions: list[str] | None = None
    """`illegal-transition`: the actions the caller may take from `current_status`."""
    free_capacity: str | None = None
    """`insufficient-capacity`: the capacity left free over the period asked (decimal string)."""
    capacity: str | None = None
    """`insufficient-capacity`: the listing's capacity (decimal string)."""
    available_quantity: str | None = None
    """`insufficient-quantity`: what is left on the offer (decimal string), if anything."""
    missing: list[str] | None = None
    """`tracking-form-required`: the fields still to give before dispatch."""
    rows: list[RowProblem] | None = None
    """`import-rejected`: each CSV line that was refused, with its errors."""
    rows_with_errors: int | None = None
    """`import-rejected`: how many lines had errors (all are reported)."""
    request_id: str | None = None
    """`internal-error`: quote it when reporting the problem."""
