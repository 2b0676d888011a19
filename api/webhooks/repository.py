"""SQL of webhooks: endpoints, the fan-out of the feed into deliveries, claims and attempts."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import msgspec

from api.db.pool import Connection
from schemas.webhooks import WebhookAttempt, WebhookEndpoint

ENDPOINT_COLUMNS = """id, organisation_id, network_id, url, event_types, description, enabled,
    disabled_reason,
    CASE WHEN previous_secret_until > now() THEN previous_secret_until END AS rotation_ends_at,
    version, created_at, updated_at"""


def _endpoint(row: Any) -> WebhookEndpoint:
    return msgspec.convert(dict(row), WebhookEndpoint)


async def insert_endpoint(
    conn: Connection,
    *,
    organisation_id: uuid.UUID | None,
    network_id: uuid.UUID | None,
    url: str,
    event_types: Sequence[str],
    description: str,
    enabled: bool,
    secret: str,
    created_by: uuid.UUID,
) -> WebhookEndpoint:
    row = await conn.fetchrow(
        f"""INSERT INTO webhook_endpoints (organisation_id, network_id, url, event_types, description,
                                          enabled, secret, created_by)
            VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING {ENDPOINT_COLUMNS}""",
        organisation_id,
        network_id,
        url,
        list(event_types),
        description,
        enabled,
        secret,
        created_by,
    )
    return _endpoint(row)


async def get_endpoint(
    conn: Connection, endpoint_id: uuid.UUID, *, for_update: bool = False
) -> WebhookEndpoint | None:
    lock = " FOR UPDATE" if for_update else ""
    row = await conn.fetchrow(
        f"SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints WHERE id = $1{lock}", endpoint_id
    )
    return None if row is None else _endpoint(row)


async def list_endpoints(
    conn: Connection,
    everything: bool,
    organisation_id: uuid.UUID | None,
    networks: Sequence[uuid.UUID],
    after: tuple[datetime, uuid.UUID] | None,
    limit: int,
) -> list[WebhookEndpoint]:
    rows = await conn.fetch(
        f"""SELECT {ENDPOINT_COLUMNS} FROM webhook_endpoints
            WHERE ($1 OR organisation_id = $2 OR network_id = ANY($3::uuid[]))
              AND ($4::timestamptz IS NULL OR (created_at, id) > ($4, $5::uuid))
            ORDER BY created_at, id LIMIT $6""",
        everything,
        organisation_id,
        list(networks),
        None if after is None else after[0],
        None if after is None else after[1],
        limit,
    )
    return [_endpoint(r) for r in rows]


async def update_endpoint(
    conn: Connection, endpoint_id: uuid.UUID, changes: dict[str, Any]
) -> WebhookEndpoint:
    allowed = ("url", "event_types", "description", "enabled")
    sets = [f"{name} = ${i}" for i, name in enumerate((n for n in allowed if n in changes), start=2)]
    values = [changes[n] for n in allowed if n in changes]
    if changes.get("enabled") is True:
        sets += ["disabled_reason = NULL", "failing_since = NULL"]
    sets += ["version = version + 1", "updated_at = now()"]
    row = await conn.fetchrow(
        f"UPDATE webhook_endpoints SET {', '.join(sets)} WHERE id = $1 RETURNING {ENDPOINT_COLUMNS}",
        endpoint_id,
        *values,
    )
    return _endpoint(row)


async def rotate_secret(
    conn: Connection, endpoint_id: uuid.UUID, secret: str, overlap_hours: int
) -> WebhookEndpoint:
    row = await conn.fetchrow(
        f"""UPDATE webhook_endpoints
            SET previous_secret = secret, secret = $2,
                previous_secret_until = now() + make_interval(hours => $3),
                version = version + 1, updated_at = now()
            WHERE id = $1 RETURNING {ENDPOINT_COLUMNS}""",
        endpoint_id,
        secret,
        overlap_hours,
    )
    return _endpoint(row)


async def delete_endpoint(conn: Connection, endpoint_id: uuid.UUID) -> None:
    await conn.execute("DELETE FROM webhook_endpoints WHERE id = $1", endpoint_id)


# Each numbered event after the checkpoint, to every enabled endpoint whose owner sees it and whose
# filters take its type (an empty filter takes every type).
FAN_OUT = """
WITH batch AS (
    SELECT id, sequence_id, type, network_id, parties FROM events
    WHERE sequence_id > $1 ORDER BY sequence_id LIMIT $2
), queued AS (
    INSERT INTO webhook_deliveries (endpoint_id, event_id)
    SELECT w.id, b.id FROM batch b JOIN webhook_endpoints w
      ON w.enabled
     AND (w.network_id = b.network_id OR w.organisation_id = ANY(b.parties))
     AND (cardinality(w.event_types) = 0 OR b.type = ANY(w.event_types)
          OR EXISTS (SELECT 1 FROM unnest(w.event_types) p
                     WHERE right(p, 2) = '.*' AND starts_with(b.type, left(p, -1))))
    ON CONFLICT (endpoint_id, event_id) DO NOTHING
    RETURNING 1
)
SELECT (SELECT max(sequence_id) FROM batch) AS last, (SELECT count(*) FROM queued) AS queued
"""


async def fan_out(conn: Connection, batch: int) -> tuple[int, int]:
    """Queue deliveries for the next `batch` events of the feed; (events read, deliveries queued).

    One fan-out at a time (the checkpoint row's lock); (0, 0) when another is at work."""
    async with conn.transaction():
        last: int | None = await conn.fetchval(
            "SELECT last_sequence FROM webhook_dispatcher FOR UPDATE SKIP LOCKED"
        )
        if last is None:
            return 0, 0
        row = await conn.fetchrow(FAN_OUT, last, batch)
        assert row is not None
        if row["last"] is None:
            return 0, 0
        await conn.execute("UPDATE webhook_dispatcher SET last_sequence = $1", row["last"])
        return int(row["last"]) - last, int(row["queued"])


@dataclass(frozen=True, slots=True)
class Claimed:
    delivery_id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    attempts: int
    url: str
    secrets: list[str]
    failing_since: datetime | None


CLAIM = """
UPDATE webhook_deliveries d SET locked_until = now() + make_interval(secs => $2), attempts = d.attempts + 1
FROM (
    SELECT d.id FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id AND w.enabled
    WHERE d.status = 'pending' AND d.next_attempt_at <= now()
      AND (d.locked_until IS NULL OR d.locked_until < now())
    ORDER BY d.next_attempt_at LIMIT $1
    FOR UPDATE OF d SKIP LOCKED
) due, webhook_endpoints w
WHERE d.id = due.id AND w.id = d.endpoint_id
RETURNING d.id, d.endpoint_id, d.event_id, d.attempts, w.url, w.failing_since,
          array_remove(ARRAY[w.secret, CASE WHEN w.previous_secret_until > now() THEN w.previous_secret END],
                       NULL) AS secrets
"""


async def claim(conn: Connection, batch: int, lease_s: float) -> list[Claimed]:
    """Take up to `batch` due deliveries for `lease_s` seconds; committed before anything is sent."""
    async with conn.transaction():
        rows = await conn.fetch(CLAIM, batch, lease_s)
    return [
        Claimed(
            r["id"],
            r["endpoint_id"],
            r["event_id"],
            r["attempts"],
            r["url"],
            list(r["secrets"]),
            r["failing_since"],
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Attempt:
    started_at: datetime
    duration_ms: int
    status_code: int | None
    error: str | None
    response_start: str


async def record_attempt(conn: Connection, claimed: Claimed, attempt: Attempt) -> None:
    await conn.execute(
        """INSERT INTO webhook_attempts (delivery_id, endpoint_id, started_at, duration_ms, status_code,
                                         error, response_start)
           VALUES ($1, $2, $3, $4, $5, $6, $7)""",
        claimed.delivery_id,
        claimed.endpoint_id,
        attempt.started_at,
        attempt.duration_ms,
        attempt.status_code,
        attempt.error,
        attempt.response_start,
    )


# One statement (one round trip, atomic): the attempt, the delivery done, and the endpoint no longer
# failing; the endpoint's row is only written (and locked) when it was failing, so concurrent
# successes to one endpoint do not queue behind its row lock.
SUCCEEDED = """
WITH attempt AS (
    INSERT INTO webhook_attempts (delivery_id, endpoint_id, started_at, duration_ms, status_code, error,
                                  response_start)
    VALUES ($1, $2, $3, $4, $5, NULL, $6)
), recovered AS (
    UPDATE webhook_endpoints SET failing_since = NULL WHERE id = $2 AND failing_since IS NOT NULL
)
UPDATE webhook_deliveries SET status = 'succeeded', locked_until = NULL WHERE id = $1
"""


async def succeeded(conn: Connection, claimed: Claimed, attempt: Attempt) -> None:
    await conn.execute(
        SUCCEEDED,
        claimed.delivery_id,
        claimed.endpoint_id,
        attempt.started_at,
        attempt.duration_ms,
        attempt.status_code,
        attempt.response_start,
    )


async def failed(conn: Connection, claimed: Claimed, retry_in_s: float | None) -> None:
    """Schedule the next attempt in `retry_in_s`, or give up (None); the endpoint is failing since now
    unless it already was."""
    if retry_in_s is None:
        await conn.execute(
            "UPDATE webhook_deliveries SET status = 'failed', locked_until = NULL WHERE id = $1",
            claimed.delivery_id,
        )
    else:
        await conn.execute(
            """UPDATE webhook_deliveries
               SET next_attempt_at = now() + make_interval(secs => $2), locked_until = NULL WHERE id = $1""",
            claimed.delivery_id,
            retry_in_s,
        )
    await conn.execute(
        "UPDATE webhook_endpoints SET failing_since = now() WHERE id = $1 AND failing_since IS NULL",
        claimed.endpoint_id,
    )


async def disable(conn: Connection, endpoint_id: uuid.UUID, reason: str) -> WebhookEndpoint | None:
    """Disable an enabled endpoint; None when it already was (someone else disabled it)."""
    row = await conn.fetchrow(
        f"""UPDATE webhook_endpoints SET enabled = false, disabled_reason = $2, version = version + 1,
                                        updated_at = now()
            WHERE id = $1 AND enabled RETURNING {ENDPOINT_COLUMNS}""",
        endpoint_id,
        reason,
    )
    return None if row is None else _endpoint(row)


async def attempts(
    conn: Connection, endpoint_id: uuid.UUID, before: int | None, limit: int
) -> list[WebhookAttempt]:
    rows = await conn.fetch(
        """SELECT a.id, a.delivery_id, d.event_id, e.type AS event_type, a.started_at, a.duration_ms,
                  a.status_code AS http_status, a.error, a.response_start
           FROM webhook_attempts a
           JOIN webhook_deliveries d ON d.id = a.delivery_id JOIN events e ON e.id = d.event_id
           WHERE a.endpoint_id = $1 AND ($2::bigint IS NULL OR a.id < $2)
           ORDER BY a.id DESC LIMIT $3""",
        endpoint_id,
        before,
        limit,
    )
    return [msgspec.convert(dict(r), WebhookAttempt) for r in rows]


async def resend_one(conn: Connection, endpoint_id: uuid.UUID, delivery_id: uuid.UUID) -> bool:
    status: str = await conn.execute(
        """UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), attempts = 0
           WHERE id = $1 AND endpoint_id = $2""",
        delivery_id,
        endpoint_id,
    )
    return status.endswith(" 1")


async def resend_since(conn: Connection, endpoint_id: uuid.UUID, since: datetime) -> int:
    status: str = await conn.execute(
        """UPDATE webhook_deliveries SET status = 'pending', next_attempt_at = now(), attempts = 0
           WHERE endpoint_id = $1 AND created_at >= $2""",
        endpoint_id,
        since,
    )
    return int(status.split()[-1])
