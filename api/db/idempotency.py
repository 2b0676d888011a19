"""`Idempotency-Key` on creation: a retry with the same key returns the first result, for a day.

A key belongs to the user *and* the organisation acted for: the same key for another organisation
is a new request. The key is claimed first, in the creating transaction, so a concurrent retry
waits on its row and then finds the result; a failed creation rolls its claim back. Each kind of
result has its table.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import timedelta

import msgspec

from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import RequestValidationError

KEY_TTL = timedelta(hours=24)


class IdempotencyKeyReusedError(RequestValidationError):
    slug, title_text = "idempotency-key-reused", "This Idempotency-Key was used for another request"


@dataclass(frozen=True, slots=True)
class KeyTable:
    claim: str
    read: str
    bind: str


# Table and column names are written out: they are never formatted into SQL. A key is owned by the
# user and the organisation acted for (`IS NOT DISTINCT FROM`: the organisation may be null).
TRANSFER_KEYS = KeyTable(
    claim="""INSERT INTO idempotency_keys (user_id, organisation_id, key, request_hash)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, organisation_id, key) DO NOTHING RETURNING true""",
    read="""SELECT request_hash, transfer_id FROM idempotency_keys
            WHERE user_id = $1 AND organisation_id IS NOT DISTINCT FROM $2 AND key = $3""",
    bind="""UPDATE idempotency_keys SET transfer_id = $4
            WHERE user_id = $1 AND organisation_id IS NOT DISTINCT FROM $2 AND key = $3""",
)
RESERVATION_KEYS = KeyTable(
    claim="""INSERT INTO reservation_idempotency_keys (user_id, organisation_id, key, request_hash)
             VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, organisation_id, key) DO NOTHING RETURNING true""",
    read="""SELECT request_hash, reservation_id FROM reservation_idempotency_keys
            WHERE user_id = $1 AND organisation_id IS NOT DISTINCT FROM $2 AND key = $3""",
    bind="""UPDATE reservation_idempotency_keys SET reservation_id = $4
            WHERE user_id = $1 AND organisation_id IS NOT DISTINCT FROM $2 AND key = $3""",
)


@dataclass(frozen=True, slots=True)
class KeyOwner:
    """Whose key it is: the user, and the organisation the user acts for (None when none)."""

    user_id: uuid.UUID
    organisation_id: uuid.UUID | None


_FORGET = """
WITH transfers AS (DELETE FROM idempotency_keys WHERE created_at < now() - $1::interval RETURNING 1),
     reservations AS (
         DELETE FROM reservation_idempotency_keys WHERE created_at < now() - $1::interval RETURNING 1)
SELECT (SELECT count(*) FROM transfers) + (SELECT count(*) FROM reservations)
"""


def request_hash(target_id: uuid.UUID, body: msgspec.Struct) -> str:
    return hashlib.sha256(str(target_id).encode() + b"|" + msgspec.json.encode(body)).hexdigest()


def key_owner(principal: Principal) -> KeyOwner:
    """The owner of the keys an authenticated caller sends."""
    assert principal.user is not None
    return KeyOwner(principal.user.id, principal.acting_organisation_id)


async def earlier_result(
    conn: Connection, table: KeyTable, owner: KeyOwner, key: str, fingerprint: str
) -> uuid.UUID | None:
    """Claim `key` for this request: None when it is new (go on and create, then `bind`), the first
    result's id on a retry by the same owner; 422 when the key came with a different request."""
    if await conn.fetchval(table.claim, owner.user_id, owner.organisation_id, key, fingerprint):
        return None
    row = await conn.fetchrow(table.read, owner.user_id, owner.organisation_id, key)
    assert row is not None  # claimed in an earlier, committed transaction
    stored_hash, result_id = row[0], row[1]
    if stored_hash != fingerprint or result_id is None:
        raise IdempotencyKeyReusedError("send a new Idempotency-Key for a different request")
    result: uuid.UUID = result_id
    return result


async def bind(conn: Connection, table: KeyTable, owner: KeyOwner, key: str, result_id: uuid.UUID) -> None:
    await conn.execute(table.bind, owner.user_id, owner.organisation_id, key, result_id)


async def forget_expired_keys(conn: Connection, ttl: timedelta = KEY_TTL) -> int:
    """Delete the creation keys (transfers, reservations) older than `ttl`; their results stay."""
    deleted: int = await conn.fetchval(_FORGET, ttl)
    return deleted
