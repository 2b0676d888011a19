"""HTTP routes of webhook endpoints, their delivery log and replay."""

from __future__ import annotations

import uuid

from litestar import Controller, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.status_codes import HTTP_202_ACCEPTED, HTTP_204_NO_CONTENT

from api.actions import ETAG, LOCATION
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import (
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    RequestValidationError,
    UnauthorizedError,
)
from api.http import IfMatch, LimitQuery, PreconditionRequiredError, tagged
from api.openapi import BEARER, problem_responses
from api.webhooks import service
from schemas.pagination import Page
from schemas.webhooks import (
    ResendSince,
    Resent,
    SecretRotation,
    WebhookAttempt,
    WebhookEndpoint,
    WebhookEndpointCreate,
    WebhookEndpointUpdate,
    WebhookEndpointWithSecret,
)

MANAGE_ERRORS = (UnauthorizedError, ForbiddenError, NotFoundError)


class WebhookEndpointController(Controller):
    path = "/v1/webhook-endpoints"
    tags = ("webhooks",)

    @post(
        "/",
        operation_id="createWebhookEndpoint",
        summary="Subscribe a URL to events",
        security=BEARER,
        response_headers=[ETAG, LOCATION],
        responses=problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError),
    )
    async def create_endpoint(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        state: State,
        data: JSONBody[WebhookEndpointCreate],
    ) -> Response[WebhookEndpointWithSecret]:
        """An administrator of the acting organisation subscribes it (the events of what it is party
        to), or an operator subscribes a network (`network_id`: all its events). The answer carries the
        signing `secret`, shown only here. Deliveries follow Standard Webhooks: `webhook-id`,
        `webhook-timestamp` and `webhook-signature` (`v1,` and the base64 HMAC-SHA256, keyed with the
        base64-decoded part of the secret after `whsec_`, of `{webhook-id}.{webhook-timestamp}.{body}`);
        the body is the event exactly as `GET /v1/events` lists it. Any 2xx is success; 410 disables the
        endpoint; other answers and timeouts (15 s) are retried after about 5 s, 5 min, 30 min, 2 h, 5 h,
        10 h and 10 h (429 and 5xx honour `Retry-After`); failing for 5 days disables it and sends its
        owner an `endpoint.disabled` event."""
        endpoint = await service.create_endpoint(
            conn, principal, data, allow_insecure=state.webhook_allow_insecure
        )
        return tagged(endpoint, 201, Location=f"{self.path}/{endpoint.id}")

    @get(
        "/",
        operation_id="listWebhookEndpoints",
        summary="List webhook endpoints",
        security=BEARER,
        responses=problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError),
    )
    async def list_endpoints(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[WebhookEndpoint]:
        """The endpoints of the acting organisation (its administrators) and of the networks the caller
        operates, oldest first."""
        return await service.list_endpoints(conn, principal, cursor, limit)

    @get(
        "/{endpoint_id:uuid}",
        operation_id="getWebhookEndpoint",
        summary="Get a webhook endpoint",
        security=BEARER,
        response_headers=[ETAG],
        responses=problem_responses(*MANAGE_ERRORS),
    )
    async def get_endpoint(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        endpoint_id: FromPath[uuid.UUID],
    ) -> Response[WebhookEndpoint]:
        """One endpoint, for those who manage it (others get 404). The secret is never shown again."""
        return tagged(await service.get_endpoint(conn, principal, endpoint_id))

    @patch(
        "/{endpoint_id:uuid}",
        operation_id="updateWebhookEndpoint",
        summary="Update a webhook endpoint",
        security=BEARER,
        response_headers=[ETAG],
        responses=problem_responses(
            RequestValidationError, *MANAGE_ERRORS, PreconditionFailedError, PreconditionRequiredError
        ),
    )
    async def update_endpoint(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        state: State,
        endpoint_id: FromPath[uuid.UUID],
        data: JSONBody[WebhookEndpointUpdate],
        if_match: IfMatch = None,
    ) -> Response[WebhookEndpoint]:
        """Change the URL (checked again), the event type filters, the description, or `enabled`
        (enabling again clears the failure record). Send `If-Match` with its `ETag`."""
        endpoint = await service.update_endpoint(
            conn, principal, endpoint_id, data, if_match, allow_insecure=state.webhook_allow_insecure
        )
        return tagged(endpoint)

    @delete(
        "/{endpoint_id:uuid}",
        operation_id="deleteWebhookEndpoint",
        summary="Delete a webhook endpoint",
        status_code=HTTP_204_NO_CONTENT,
        security=BEARER,
        responses=problem_responses(*MANAGE_ERRORS),
    )
    async def delete_endpoint(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        endpoint_id: FromPath[uuid.UUID],
    ) -> None:
        """Remove the endpoint with its pending deliveries and its log."""
        await service.delete_endpoint(conn, principal, endpoint_id)

    @post(
        "/{endpoint_id:uuid}/rotate-secret",
        operation_id="rotateWebhookEndpointSecret",
        summary="Rotate a webhook endpoint's secret",
        status_code=200,
        security=BEARER,
        response_headers=[ETAG],
        responses=problem_responses(RequestValidationError, *MANAGE_ERRORS),
    )
    async def rotate_secret(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        endpoint_id: FromPath[uuid.UUID],
        data: JSONBody[SecretRotation],
    ) -> Response[WebhookEndpointWithSecret]:
        """A new secret, shown only in this answer. For `overlap_hours` (24 by default) the previous
        secret signs too: `webhook-signature` then carries both signatures, space separated."""
        endpoint = await service.rotate_secret(conn, principal, endpoint_id, data)
        return tagged(endpoint)

    @get(
        "/{endpoint_id:uuid}/attempts",
        operation_id="listWebhookAttempts",
        summary="List an endpoint's delivery attempts",
        security=BEARER,
        responses=problem_responses(RequestValidationError, *MANAGE_ERRORS),
    )
    async def list_attempts(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        endpoint_id: FromPath[uuid.UUID],
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[WebhookAttempt]:
        """Each attempt, newest first: the answer's status (none when no answer came), its duration and
        the start of its body."""
        return await service.list_attempts(conn, principal, endpoint_id, cursor, limit)

    @post(
        "/{endpoint_id:uuid}/deliveries/{delivery_id:uuid}/resend",
        operation_id="resendWebhookDelivery",
        summary="Resend one delivery",
        status_code=HTTP_202_ACCEPTED,
        security=BEARER,
        responses=problem_responses(*MANAGE_ERRORS),
    )
    async def resend_delivery(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        endpoint_id: FromPath[uuid.UUID],
        delivery_id: FromPath[uuid.UUID],
    ) -> Resent:
        """Queue the delivery again now, with the same `webhook-id`, whether it succeeded or failed."""
        return await service.resend_delivery(conn, principal, endpoint_id, delivery_id)

    @post(
        "/{endpoint_id:uuid}/resend",
        operation_id="resendWebhookDeliveriesSince",
        summary="Resend every delivery since a time",
        status_code=HTTP_202_ACCEPTED,
        security=BEARER,
        responses=problem_responses(RequestValidationError, *MANAGE_ERRORS),
    )
    async def resend_since(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        endpoint_id: FromPath[uuid.UUID],
        data: JSONBody[ResendSince],
    ) -> Resent:
        """Queue again every delivery of this endpoint created at or after `since`."""
        return await service.resend_since(conn, principal, endpoint_id, data.since)
