"""Cursor pagination, shared by every list."""

from __future__ import annotations

from typing import Annotated, Generic, TypeVar

import msgspec

from schemas.base import Schema

T = TypeVar("T")

Limit = Annotated[int, msgspec.Meta(ge=1, le=200, description="Items per page (1-200).")]


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    """Pass as `cursor` to get the next page; absent on the last page."""
