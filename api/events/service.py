"""Rules of the event feed: who sees which events, and the type filters."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from api.auth import policy
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import ForbiddenError, RequestValidationError
from api.events import repository
from api.events.repository import Visibility
from api.events.types import known_pattern
from schemas.events import EventPage

SEQUENCE_BATCH = 1000
TYPE_PATTERN = re.compile(r"^[a-z_]+(\.[a-z_]+)*(\.\*)?$")
MAX_TYPES = 50


def visibility(principal: Principal) -> Visibility:
    """An organisation sees what it is party to, an operator its networks', the platform admin all.

    403 for a caller who is none of these (a user without X-Organisation-ID nor a network)."""
    policy.authenticated(principal)
    if principal.is_platform_admin:
        return Visibility(everything=True, networks=(), organisation_id=None)
    if principal.acting_organisation_id is None and not principal.operator_networks:
        raise ForbiddenError(
            "send X-Organisation-ID to read your organisation's events; operators read their networks'"
        )
    return Visibility(
        everything=False,
        networks=sorted(principal.operator_networks),
        organisation_id=principal.acting_organisation_id,
    )


def parse_types(types: str | None, path: str = "query.types") -> tuple[list[str] | None, list[str]]:
    """(exact types, prefixes) of a comma-separated `types` filter; (None, []) when absent."""
    if types is None or types.strip() == "":
        return None, []
    patterns = [p.strip() for p in types.split(",") if p.strip()]
    if len(patterns) > MAX_TYPES:
        raise _invalid(path, f"at most {MAX_TYPES} types")
    for pattern in patterns:
        if not TYPE_PATTERN.match(pattern) or not known_pattern(pattern):
            raise _invalid(path, f"{pattern!r} is not an event type nor a prefix such as `transfer.*`")
    exact = [p for p in patterns if not p.endswith(".*")]
    prefixes = [p[:-1] for p in patterns if p.endswith(".*")]
    return exact, prefixes


def _invalid(path: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        f"{path}: {message}", extra={"errors": [{"path": path, "message": message, "source": "query"}]}
    )


async def sequence(conn: Connection) -> int:
    """Number every committed event not numbered yet; how many were numbered."""
    total = 0
    while (done := await repository.sequence_pending(conn, SEQUENCE_BATCH)) > 0:
        total += done
        if done < SEQUENCE_BATCH:
            break
    return total


async def list_events(
    conn: Connection, principal: Principal, after: int, types: str | None, limit: int
) -> EventPage:
    """The caller's events after `after`, in increasing `sequence_id`."""
    seen = visibility(principal)
    exact, prefixes = parse_types(types)
    await sequence(conn)
    items = await repository.feed(conn, after, seen, exact, prefixes, limit)
    return EventPage(items=items, next_after=items[-1].sequence_id if items else after)


async def prune(conn: Connection, retention_days: int, now: datetime | None = None) -> int:
    """Forget events older than the retention period."""
    moment = now or datetime.now(UTC)
    return await repository.prune(conn, moment - timedelta(days=retention_days))
