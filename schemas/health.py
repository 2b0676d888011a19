"""Liveness and readiness answers."""

from __future__ import annotations

from typing import Literal

from schemas.base import Schema


class Liveness(Schema):
    status: Literal["ok"] = "ok"


class ComponentCheck(Schema):
    name: str
    ok: bool
    detail: str | None = None
    lag: int | None = None
    """Search only: changes committed in PostgreSQL that the search backend does not show yet."""


class Readiness(Schema):
    status: Literal["ready", "unavailable"]
    checks: list[ComponentCheck]
