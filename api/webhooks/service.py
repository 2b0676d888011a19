"""Rules of webhook endpoints: who owns one, safe URLs, secrets and their rotation, replay."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import msgspec

from api.auth import policy
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import ForbiddenError, NotFoundError, RequestValidationError
from api.events.types import known_pattern
from api.http import check_if_match, decode_cursor, encode_cursor, invalid_cursor
from api.webhooks import repository, signing
from api.webhooks.safety import UnsafeUrlError, check_url
from schemas.pagination import Page
from schemas.webhooks import (
    Resent,
    SecretRotation,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)


def _invalid(path: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        f"{path}: {message}", extra={"errors": [{"path": path, "message": message, "source": "body"}]}
    )


async def _check(url: str | None, event_types: list[str] | None, allow_insecure: bool) -> None:
    if url is not None:
        try:
            await check_url(url, allow_insecure=allow_insecure)
        except UnsafeUrlError as exc:
            raise _invalid("body.url", str(exc)) from None
    for i, pattern in enumerate(event_types or []):
        if not known_pattern(pattern):
            raise _invalid(f"body.event_types[{i}]", f"{pattern!r} is not an event type nor a known prefix")


def _may_manage(principal: Principal, endpoint: WebhookEndpoint) -> bool:
    if principal.is_platform_admin:
        return True
    if endpoint.network_id is not None:
        return principal.operates(endpoint.network_id)
    return endpoint.organisation_id == principal.acting_organisation_id and principal.acting_role == "admin"


async def _managed(
    conn: Connection, principal: Principal, endpoint_id: uuid.UUID, *, lock: bool = False
) -> WebhookEndpoint:
    """The endpoint, for its managers; 404 for everyone else (they may not know it exists)."""
    policy.authenticated(principal)
    endpoint = await repository.get_endpoint(conn, endpoint_id, for_update=lock)
    if endpoint is None or not _may_manage(principal, endpoint):
        raise NotFoundError("no such webhook endpoint")
    return endpoint


async def create_endpoint(
    conn: Connection, principal: Principal, data: WebhookEndpointCreate, *, allow_insecure: bool
) -> WebhookEndpointWithSecret:
    """A new endpoint with a new secret, the only time the secret is shown."""
    user = policy.authenticated(principal)
    if data.network_id is not None:
        policy.network_operator(principal, data.network_id)
        organisation_id = None
    else:
        organisation_id = policy.acting_organisation(principal, admin=True)
    await _check(data.url, data.event_types, allow_insecure)
    secret = signing.new_secret()
    endpoint = await repository.insert_endpoint(
        conn,
        organisation_id=organisation_id,
        network_id=data.network_id,
        url=data.url,
        event_types=data.event_types,
        description=data.description,
        enabled=data.enabled,
        secret=secret,
        created_by=user.id,
    )
    return WebhookEndpointWithSecret(**msgspec.structs.asdict(endpoint), secret=secret)


async def list_endpoints(
    conn: Connection, principal: Principal, cursor: str | None, limit: int
) -> Page[WebhookEndpoint]:
    """The endpoints the caller manages: its organisation's (as its admin) and its networks'."""
    policy.authenticated(principal)
    organisation_id = principal.acting_organisation_id if principal.acting_role == "admin" else None
    if not principal.is_platform_admin and organisation_id is None and not principal.operator_networks:
        raise ForbiddenError(
            "only an organisation's administrators and network operators have webhook endpoints"
        )
    after = None
    if cursor is not None:
        created, ident = decode_cursor(cursor, 2)
        try:
            after = (datetime.fromisoformat(created), uuid.UUID(ident))
        except (TypeError, ValueError):
            raise invalid_cursor() from None
    rows = await repository.list_endpoints(
        conn,
        principal.is_platform_admin,
        organisation_id,
        sorted(principal.operator_networks),
        after,
        limit + 1,
    )
    next_cursor = None
    if len(rows) > limit:
        last = rows[limit - 1]
        next_cursor = encode_cursor(last.created_at.isoformat(), str(last.id))
    return Page(items=rows[:limit], next_cursor=next_cursor)


async def get_endpoint(conn: Connection, principal: Principal, endpoint_id: uuid.UUID) -> WebhookEndpoint:
    """One endpoint, for its managers."""
    return await _managed(conn, principal, endpoint_id)


async def update_endpoint(
    conn: Connection,
    principal: Principal,
    endpoint_id: uuid.UUID,
    data: WebhookEndpointUpdate,
    if_match: str | None,
    *,
    allow_insecure: bool,
) -> WebhookEndpoint:
    """Change the URL, filters, description or enabled flag; the URL is checked again."""
    endpoint = await _managed(conn, principal, endpoint_id, lock=True)
    check_if_match(if_match, endpoint.version)
    changes: dict[str, Any] = {
        k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET
    }
    await _check(changes.get("url"), changes.get("event_types"), allow_insecure)
    return await repository.update_endpoint(conn, endpoint_id, changes)


async def delete_endpoint(conn: Connection, principal: Principal, endpoint_id: uuid.UUID) -> None:
    """Remove an endpoint, its deliveries and their log."""
    await _managed(conn, principal, endpoint_id, lock=True)
    await repository.delete_endpoint(conn, endpoint_id)


async def rotate_secret(
    conn: Connection, principal: Principal, endpoint_id: uuid.UUID, data: SecretRotation
) -> WebhookEndpointWithSecret:
    """A new secret, shown once; the previous one keeps signing for `overlap_hours`."""
    await _managed(conn, principal, endpoint_id, lock=True)
    secret = signing.new_secret()
    endpoint = await repository.rotate_secret(conn, endpoint_id, secret, data.overlap_hours)
    return WebhookEndpointWithSecret(**msgspec.structs.asdict(endpoint), secret=secret)


async def list_attempts(
    conn: Connection, principal: Principal, endpoint_id: uuid.UUID, cursor: str | None, limit: int
) -> Page[WebhookAttempt]:
    """The endpoint's attempts, newest first."""
    await _managed(conn, principal, endpoint_id)
    before = None
    if cursor is not None:
        (value,) = decode_cursor(cursor, 1)
        before = int(value)
    rows = await repository.attempts(conn, endpoint_id, before, limit + 1)
    next_cursor = encode_cursor(rows[limit - 1].id) if len(rows) > limit else None
    return Page(items=rows[:limit], next_cursor=next_cursor)


async def resend_delivery(
    conn: Connection, principal: Principal, endpoint_id: uuid.UUID, delivery_id: uuid.UUID
) -> Resent:
    """Queue one delivery again (same `webhook-id`), whatever became of it."""
    await _managed(conn, principal, endpoint_id)
    if not await repository.resend_one(conn, endpoint_id, delivery_id):
        raise NotFoundError("no such delivery for this endpoint")
    return Resent(deliveries=1)


async def resend_since(
    conn: Connection, principal: Principal, endpoint_id: uuid.UUID, since: datetime
) -> Resent:
    """Queue again every delivery of the endpoint created since `since`."""
    await _managed(conn, principal, endpoint_id)
    return Resent(deliveries=await repository.resend_since(conn, endpoint_id, since))
