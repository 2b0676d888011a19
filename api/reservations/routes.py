"""HTTP routes for reservations of shared services and the availability they leave."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody
from stripe import StripeClient

from api.actions import ETAG, LOCATION, Action, with_actions
from api.auth.principal import Principal
from api.db.idempotency import IdempotencyKeyReusedError
from api.db.pool import Connection
from api.errors import (
    ForbiddenError,
    NotFoundError,
    RequestValidationError,
    UnauthorizedError,
)
from api.http import LimitQuery, tagged
from api.inputs import instant_query
from api.openapi import BEARER, problem_responses
from api.payments.service import ProviderCannotTakePaymentsError
from api.payments.stripe_client import PaymentProviderError, PaymentProviderUnavailableError
from api.reservations import service
from api.reservations.lifecycle import RESERVATION
from api.reservations.rules import (
    InsufficientCapacityError,
    ListingNotBookableError,
    PaymentsNotConfiguredError,
)
from api.transfers.routes import IdempotencyKey
from schemas.pagination import Page
from schemas.reservations import (
    Availability,
    Reservation,
    ReservationCancel,
    ReservationCreate,
    ReservationDecline,
    ReservationStatus,
)

From = Annotated[str | None, instant_query("from", "Start of the window (RFC 3339, with a time zone).")]
To = Annotated[str | None, instant_query("to", "End of the window, exclusive (RFC 3339, with a time zone).")]


class ListingReservationController(Controller):
    path = "/v1/listings/{listing_id:uuid}"
    tags = ("reservations",)

    @post(
        "/reservations",
        operation_id="createReservation",
        summary="Ask to book capacity of a service over a period",
        security=BEARER,
        response_headers=[ETAG, LOCATION],
        responses=problem_responses(
            RequestValidationError,
            IdempotencyKeyReusedError,
            UnauthorizedError,
            ForbiddenError,
            NotFoundError,
            InsufficientCapacityError,
            ListingNotBookableError,
            PaymentsNotConfiguredError,
            ProviderCannotTakePaymentsError,
        ),
    )
    async def create_reservation(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        listing_id: FromPath[uuid.UUID],
        data: JSONBody[ReservationCreate],
        state: State,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Reservation]:
        """The acting organisation (an active member of the network, not the provider) asks for `quantity`
        of a published service offer over the half-open period `[start, end)`: in the future, within the
        listing's availability window, between its `min_reservation_hours` and `max_reservation_hours`. A
        request that cannot fit beside the reservations already held is refused with 409 and
        `free_capacity`; a request holds nothing until the provider accepts it. With `Idempotency-Key`, a
        retry answers the first reservation (`Idempotent-Replayed: true`). A priced service cannot be
        booked while the server takes no payments (409 `payments-not-configured`)."""
        reservation, replayed = await service.create_reservation(
            conn, principal, listing_id, data, idempotency_key, payments_configured=state.payments_configured
        )
        extra = {"Idempotent-Replayed": "true"} if replayed else {}
        return tagged(reservation, 201, Location=f"/v1/reservations/{reservation.id}", **extra)

    @get(
        "/availability",
        operation_id="getListingAvailability",
        summary="Free capacity of a service over time",
        responses=problem_responses(
            RequestValidationError, UnauthorizedError, ForbiddenError, NotFoundError, ListingNotBookableError
        ),
    )
    async def availability(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        listing_id: FromPath[uuid.UUID],
        date_from: From = None,
        date_to: To = None,
    ) -> Availability:
        """The capacity not held by accepted, awaiting-payment, confirmed or in-progress reservations, over
        `[from, to)` (default: the next 30 days; at most 366 days) clipped to the listing's availability
        window, as consecutive intervals. Requests not yet accepted hold nothing and do not show."""
        return await service.availability(conn, principal, listing_id, date_from, date_to)


async def _act(
    conn: Connection,
    principal: Principal,
    reservation_id: uuid.UUID,
    action: str,
    data: msgspec.Struct | None,
    if_match: str | None,
    *,
    stripe: StripeClient | None = None,
) -> Response[Reservation]:
    assert data is None or isinstance(data, ReservationDecline | ReservationCancel)
    return tagged(await service.act(conn, principal, reservation_id, action, data, if_match, stripe))


_ANY_TIME = (
    "Deadlines, start and end are applied by the clock, even before the sweep runs. `If-Match` is "
    "optional; a stale one is a 412."
)
ACTIONS = {
    "accept": Action(
        "Accept a reservation request",
        "The provider (an active member) accepts: capacity is held from then on, checked again with the "
        "listing locked (409 `insufficient-capacity` with `free_capacity` when it no longer fits). A free "
        "listing goes to `accepted`, a priced one to `awaiting_payment`: its PaymentIntent (a destination "
        "charge to the provider's account, the network's fee as application fee) is created before the "
        "answer, and `GET /v1/reservations/{id}/payment` gives its `client_secret` to the requester. A "
        "503 `payment-provider-unavailable` changed nothing here: retry, the retry reuses what Stripe "
        f"made. {_ANY_TIME}",
        errors=(
            InsufficientCapacityError,
            ListingNotBookableError,
            ProviderCannotTakePaymentsError,
            PaymentProviderUnavailableError,
            PaymentProviderError,
        ),
    ),
    "decline": Action(
        "Decline a reservation request",
        f"The provider declines a request, with an optional `reason`. {_ANY_TIME}",
        ReservationDecline,
    ),
    "confirm": Action(
        "Confirm an accepted reservation",
        f"The requester confirms a free booking the provider accepted. {_ANY_TIME}",
    ),
    "cancel": Action(
        "Cancel a reservation",
        "Either side, or an operator of the network, cancels before the start, with a `reason`; held "
        "capacity is freed. A paid booking is refunded through Stripe: in full when the provider or an "
        "operator cancels, by the booking's `cancellation_policy` when the requester does (see "
        f"`GET /v1/reservations/{{id}}/payment`). {_ANY_TIME}",
        ReservationCancel,
        errors=(PaymentProviderUnavailableError, PaymentProviderError),
    ),
    "complete": Action(
        "Complete a reservation early",
        "The provider ends an in-progress reservation before its end (the clock does it at the end). "
        + _ANY_TIME,
    ),
}


@with_actions(
    RESERVATION,
    ACTIONS,
    answer=Reservation,
    act=_act,
    if_match=True,
    etag=True,
    dependencies={"stripe": StripeClient | None},
)
class ReservationController(Controller):
    path = "/v1/reservations"
    tags = ("reservations",)

    @get(
        "/",
        operation_id="listReservations",
        summary="List reservations",
        security=BEARER,
        responses=problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError),
    )
    async def list_reservations(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        status: FromQuery[ReservationStatus | None] = None,
        listing_id: FromQuery[uuid.UUID | None] = None,
        role: FromQuery[Literal["requester", "provider"] | None] = None,
        date_from: From = None,
        date_to: To = None,
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[Reservation]:
        """The acting organisation's reservations, as requester or provider (`role` keeps one side), and
        every reservation of the networks the caller operates; newest first. `from`/`to` keep those whose
        period overlaps `[from, to)`."""
        filters = {
            "status": status,
            "listing_id": listing_id,
            "role": role,
            "period_from": date_from,
            "period_to": date_to,
        }
        return await service.list_reservations(conn, principal, filters, cursor, limit)

    @get(
        "/{reservation_id:uuid}",
        operation_id="getReservation",
        summary="Get a reservation and its history",
        security=BEARER,
        response_headers=[ETAG],
        responses=problem_responses(UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def get_reservation(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        reservation_id: FromPath[uuid.UUID],
    ) -> Response[Reservation]:
        """A reservation of the acting organisation (as requester or provider) or of a network the caller
        operates, with its events and the actions the caller may take. Its `ETag` may be sent as
        `If-Match` with an action."""
        return tagged(await service.get_reservation(conn, principal, reservation_id))
