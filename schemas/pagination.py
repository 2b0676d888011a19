"""Cursor pagination, shared by every list."""

from __future__ import annotations

from typing import Generic, TypeVar

from schemas.base import Schema

T = TypeVar("T")


class Page(Schema, Generic[T]):
    items: list[T]
    next_cursor: str | None = None
    """Pass as `cursor` to get the next page; absent on the last page."""
