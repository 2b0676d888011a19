"""HTTP routes for matches: what fits a listing, and turning a match into an exchange."""

from __future__ import annotations

import uuid
from typing import Annotated

from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter

from api.actions import LOCATION
from api.auth.principal import Principal
from api.db.idempotency import IdempotencyKeyReusedError
from api.db.pool import Connection
from api.errors import ForbiddenError, NotFoundError, RequestValidationError, UnauthorizedError
from api.http import InvalidCursorError
from api.matches import service
from api.matches.service import BookedByNeedError, NotAMatchError, OtherNetworkError, OwnListingError
from api.openapi import BEARER, problem_responses
from api.payments.service import ProviderCannotTakePaymentsError
from api.reservations.rules import (
    InsufficientCapacityError,
    ListingNotBookableError,
    PaymentsNotConfiguredError,
)
from api.transfers.routes import IdempotencyKey
from api.transfers.service import InsufficientQuantityError, ListingUnavailableError
from schemas.matches import Match, MatchExchange, MatchRequestCreate
from schemas.pagination import Page

RadiusKm = Annotated[
    float | None,
    QueryParameter(
        gt=0,
        le=500,
        required=False,
        description="Only matches within this many kilometres (default: the distance bound, 100 km).",
    ),
]
Category = Annotated[
    str | None,
    QueryParameter(
        required=False,
        max_length=200,
        pattern=r"^[a-z0-9_]+(\.[a-z0-9_]+)*$",
        description="Only matches in this category or below it.",
    ),
]
MatchLimit = Annotated[int, QueryParameter(ge=1, le=50, description="Matches per page (1-50).")]


class MatchController(Controller):
    path = "/v1/listings/{listing_id:uuid}/matches"
    tags = ("matches",)

    @get(
        "/",
        operation_id="listListingMatches",
        summary="The listings that fit a listing, best first, explained",
        security=BEARER,
        responses=problem_responses(
            RequestValidationError, InvalidCursorError, UnauthorizedError, NotFoundError
        ),
    )
    async def list_matches(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        listing_id: FromPath[uuid.UUID],
        radius_km: RadiusKm = None,
        category: Category = None,
        cursor: Annotated[str | None, QueryParameter(required=False)] = None,
        limit: MatchLimit = 20,
    ) -> Page[Match]:
        """For a need, the published offers that fit it; for an offer, the needs; for a service, the
        services. Only what the caller could find in search (public, or in a network its organisation is
        an active member of or that it operates), never the listing's own organisation's. Candidates are
        of the opposite direction, the same category family, the same EWC chapter when both have a code,
        within `radius_km`; the 50 nearest of the listing's category (then of its family) are scored as
        detection scores a synergy (each component with its value and weight) and ranked by score.
        `synergy_id` names the synergy already following the pair, if any."""
        return await service.list_matches(
            conn, principal, listing_id, radius_km=radius_km, category=category, cursor=cursor, limit=limit
        )

    @post(
        "/{other_id:uuid}/request",
        operation_id="requestMatch",
        summary="Turn a match into a transfer or reservation request carried by a synergy",
        security=BEARER,
        response_headers=[LOCATION],
        responses=problem_responses(
            RequestValidationError,
            IdempotencyKeyReusedError,
            UnauthorizedError,
            ForbiddenError,
            NotFoundError,
            NotAMatchError,
            OwnListingError,
            BookedByNeedError,
            OtherNetworkError,
            InsufficientQuantityError,
            ListingUnavailableError,
            InsufficientCapacityError,
            ListingNotBookableError,
            PaymentsNotConfiguredError,
            ProviderCannotTakePaymentsError,
        ),
    )
    async def request_match(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        listing_id: FromPath[uuid.UUID],
        other_id: FromPath[uuid.UUID],
        data: JSONBody[MatchRequestCreate],
        state: State,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[MatchExchange]:
        """The people of the listing's organisation (an active member) ask for the exchange: from a need,
        a transfer request on the matched offer (materials) or a reservation request of the matched
        service (`start`, `end`, `quantity`); from a resource offer, a proposal of the offer to the matched
        need. The rules of `createTransfer` and `createReservation` apply. The exchange is linked to the
        synergy following the pair, proposed if none is open and moved to `in_progress`, so that it is
        `realised` when the exchange completes. With `Idempotency-Key`, a retry answers the first result
        (`Idempotent-Replayed: true`). `Location` is the transfer's or reservation's."""
        result, replayed = await service.request_match(
            conn,
            principal,
            listing_id,
            other_id,
            data,
            idempotency_key,
            payments_configured=state.payments_configured,
        )
        exchange = result.transfer or result.reservation
        assert exchange is not None  # the service answers the one it created
        location = f"/v1/{result.kind}s/{exchange.id}"
        headers = {"Location": location, **({"Idempotent-Replayed": "true"} if replayed else {})}
        return Response(result, status_code=201, headers=headers)
