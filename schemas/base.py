"""The base Structs every wire type derives from."""

from __future__ import annotations

import msgspec


class Schema(msgspec.Struct, kw_only=True):
    """An output (or shared) wire type."""


class Input(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """A request body: unknown fields are refused so a typo is an error, not silently dropped."""
