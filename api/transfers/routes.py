"""HTTP routes for transfers and the impact they count."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

import msgspec
from litestar import Controller, Response, get, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody
from litestar.response import Stream
from stripe import StripeClient

from api.actions import ETAG, LOCATION, Action, with_actions
from api.auth.principal import Principal
from api.db.idempotency import IdempotencyKeyReusedError
from api.db.pool import Connection
from api.errors import ForbiddenError, NotFoundError, RequestValidationError, UnauthorizedError
from api.http import LimitQuery, tagged
from api.inputs import DateFrom, DateTo, query_instant
from api.openapi import BEARER, problem_responses
from api.payments.service import ProviderCannotTakePaymentsError
from api.payments.stripe_client import PaymentProviderError, PaymentProviderUnavailableError
from api.reservations.rules import PaymentsNotConfiguredError
from api.transfers import report, service
from api.transfers.lifecycle import TRANSFER
from api.transfers.service import (
    InsufficientQuantityError,
    ListingUnavailableError,
    TrackingFormRequiredError,
)
from schemas.impact import ImpactGroup, ImpactReport
from schemas.pagination import Page
from schemas.transfers import (
    Transfer,
    TransferAccept,
    TransferCancel,
    TransferComplete,
    TransferCreate,
    TransferDecline,
    TransferDispatch,
    TransferDispute,
    TransferReceive,
    TransferResolveCancel,
    TransferResolveComplete,
    TransferSchedule,
    TransferStatus,
)

IdempotencyKey = Annotated[
    str | None,
    HeaderParameter(
        name="Idempotency-Key",
        required=False,
        min_length=1,
        max_length=255,
        description="A unique string; a retry with the same key returns the first result, creating nothing.",
    ),
]
Accept = Annotated[str | None, HeaderParameter(name="Accept", required=False)]
_TOTAL = {
    "key": None,
    "transfers": 1,
    "mass_kg": "60000.000",
    "co2e_avoided_kg": "300.000",
    "km_saved": "22500.00",
    "trips_saved": 900,
}
IMPACT_EXAMPLE = {
    "network_id": "5b0f3c8e-2f7a-4a57-9d61-0c1d2e3f4a5b",
    "group_by": "category",
    "date_from": "2026-01-01T00:00:00Z",
    "date_to": None,
    "scope": "network",
    "rows": [{**_TOTAL, "key": "construction.rubble"}],
    "total": _TOTAL,
}


class ListingTransferController(Controller):
    path = "/v1/listings/{listing_id:uuid}/transfers"
    tags = ("transfers",)

    @post(
        "/",
        operation_id="createTransfer",
        summary="Ask for a quantity of an offer, or propose one's offer to a need",
        security=BEARER,
        response_headers=[ETAG, LOCATION],
        responses=problem_responses(
            RequestValidationError,
            IdempotencyKeyReusedError,
            UnauthorizedError,
            ForbiddenError,
            NotFoundError,
            InsufficientQuantityError,
            ListingUnavailableError,
            PaymentsNotConfiguredError,
            ProviderCannotTakePaymentsError,
        ),
    )
    async def create_transfer(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        listing_id: FromPath[uuid.UUID],
        data: JSONBody[TransferCreate],
        state: State,
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Transfer]:
        """On an offer: the acting organisation (an active member) asks for `quantity`, in the offer's unit.
        On a need: it proposes `quantity` of its own offer `offer_listing_id`. The other party accepts or
        declines. With `Idempotency-Key`, a retry answers the first transfer (`Idempotent-Replayed: true`).
        A priced offer (`fixed` or `per_unit`) copies its `price` and is paid by the taker once accepted:
        409 `payments-not-configured` while the server takes no payments, 409
        `provider-cannot-take-payments` until the giver's Stripe account takes charges."""
        transfer, replayed = await service.create_transfer(
            conn, principal, listing_id, data, idempotency_key, payments_configured=state.payments_configured
        )
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return tagged(transfer, 201, Location=f"/v1/transfers/{transfer.id}", **headers)


async def _act(
    conn: Connection,
    principal: Principal,
    transfer_id: uuid.UUID,
    action: str,
    data: msgspec.Struct | None,
    if_match: str | None,
    *,
    stripe: StripeClient | None = None,
    payment_hours: int = service.PAYMENT_HOURS,
) -> Response[Transfer]:
    return tagged(
        await service.act(conn, principal, transfer_id, action, data, if_match, stripe, payment_hours)
    )


def provide_payment_hours(state: State) -> int:
    """TRANSFER_PAYMENT_HOURS: how long a taker has to pay an accepted priced transfer."""
    hours: int = state.get("transfer_payment_hours", service.PAYMENT_HOURS)
    return hours


# What a priced transfer's accept or refund may meet at Stripe (or without it, once payments are off).
_STRIPE_ERRORS = (PaymentsNotConfiguredError, PaymentProviderUnavailableError, PaymentProviderError)


_EITHER = "The giver or the taker"
_ANSWER = (
    "The party that did not initiate the transfer (the giver when the taker asked, the taker when the "
    "giver proposed)"
)
ACTIONS = {
    "accept": Action(
        "Accept a transfer",
        f"{_ANSWER} agrees, as an active member. The agreed `quantity` (at most the one asked, which is "
        "the default) is taken from the offer atomically: 409 `insufficient-quantity` when the offer no "
        "longer has it, `listing-unavailable` when it is no longer published. A priced transfer goes to "
        "`awaiting_payment`, its price following the agreed quantity: its PaymentIntent (a destination "
        "charge to the giver's account, the network's fee as application fee) is created before the "
        "answer, and `GET /v1/transfers/{id}/payment` gives its `client_secret` to the taker; once paid "
        "it is `paid` and can be scheduled. A 503 `payment-provider-unavailable` changed nothing: retry, "
        "the retry reuses what Stripe made.",
        TransferAccept,
        (
            InsufficientQuantityError,
            ListingUnavailableError,
            ProviderCannotTakePaymentsError,
            *_STRIPE_ERRORS,
        ),
    ),
    "decline": Action(
        "Decline a transfer", f"{_ANSWER} declines, with an optional `reason`.", TransferDecline
    ),
    "cancel": Action(
        "Cancel a transfer",
        "The initiator withdraws a request; once accepted (or awaiting payment, paid) or scheduled, either "
        "party cancels and the agreed quantity returns to the offer. A paid transfer is refunded in full "
        "through Stripe; an unpaid one's PaymentIntent is cancelled. An optional `reason`.",
        TransferCancel,
        _STRIPE_ERRORS,
    ),
    "schedule": Action(
        "Schedule a transfer, or change its plan",
        f"{_EITHER} sets when (`scheduled_for`) and how (`transport_mode`) the material moves, once "
        "accepted (a priced transfer once paid); "
        "`distance_km` is computed from the two sites unless sent. Sent again, it replaces the plan.",
        TransferSchedule,
    ),
    "dispatch": Action(
        "Dispatch a scheduled transfer",
        "The giver ships it. Hazardous waste does not leave without `tracking_form_ref` (the BSD) and "
        "`carrier`, sent here or when scheduling (409 `tracking-form-required` listing what is missing).",
        TransferDispatch,
        (TrackingFormRequiredError,),
    ),
    "receive": Action(
        "Record what a transfer delivered",
        "The taker records `received_quantity` (at most the agreed one) and any `refused_quantity`, which "
        "needs a `reason` and goes back to the giver, not to the offer.",
        TransferReceive,
    ),
    "complete": Action(
        "Complete a transfer",
        f"{_EITHER} closes a received transfer; its impact is counted once, from what was kept. "
        "`replaced_site_km` and `replaced_trips` say what the exchange replaced.",
        TransferComplete,
    ),
    "dispute": Action(
        "Dispute a transfer",
        f"{_EITHER} disputes a transfer in transit or received, saying why (`reason`); an operator "
        "resolves it.",
        TransferDispute,
    ),
    "resolve_complete": Action(
        "Resolve a dispute by completing the transfer",
        "An operator of the network completes a disputed transfer; the impact is counted on what was "
        "received (`received_quantity`, required when nothing was recorded yet).",
        TransferResolveComplete,
    ),
    "resolve_cancel": Action(
        "Resolve a dispute by cancelling the transfer",
        "An operator of the network cancels a disputed transfer; the material has moved, so nothing "
        "returns to the offer. A paid transfer is refunded in full through Stripe.",
        TransferResolveCancel,
        _STRIPE_ERRORS,
    ),
}


@with_actions(
    TRANSFER,
    ACTIONS,
    answer=Transfer,
    act=_act,
    if_match=True,
    etag=True,
    dependencies={"stripe": StripeClient | None, "payment_hours": int},
)
class TransferController(Controller):
    path = "/v1/transfers"
    tags = ("transfers",)

    @get(
        "/",
        operation_id="listTransfers",
        summary="List transfers",
        security=BEARER,
        responses=problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError),
    )
    async def list_transfers(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromQuery[uuid.UUID | None] = None,
        listing_id: FromQuery[uuid.UUID | None] = None,
        status: FromQuery[TransferStatus | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[Transfer]:
        """The acting organisation's transfers, as giver or taker, and every transfer of the networks the
        caller operates, each with the actions the caller may take; newest first. `listing_id` matches the
        offer or the need answered."""
        filters = {"network_id": network_id, "listing_id": listing_id, "status": status}
        return await service.list_transfers(conn, principal, filters, cursor, limit)

    @get(
        "/{transfer_id:uuid}",
        operation_id="getTransfer",
        summary="Get a transfer and its history",
        security=BEARER,
        response_headers=[ETAG],
        responses=problem_responses(UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def get_transfer(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        transfer_id: FromPath[uuid.UUID],
    ) -> Response[Transfer]:
        """A transfer of the acting organisation or of a network the caller operates, with its events, the
        actions the caller may take and, once completed, its counted impact. Its `ETag` may be sent as
        `If-Match` with an action."""
        return tagged(await service.get_transfer(conn, principal, transfer_id))


class NetworkImpactController(Controller):
    path = "/v1/networks/{network_id:uuid}/impact"
    tags = ("impact",)

    @get(
        "/",
        operation_id="getNetworkImpact",
        summary="Impact of a network's completed transfers",
        security=BEARER,
        operation_class=report.ImpactOperation,
        responses={
            # The handler may answer a stream (CSV), so its JSON shape is stated here.
            200: ResponseSpec(
                ImpactReport,
                description="The report as JSON; as `text/csv` (group, key, transfers, mass_kg, "
                "co2e_avoided_kg, km_saved, trips_saved; last line `network_total`) when asked",
                generate_examples=False,
                examples=[Example(summary="Rubble reused on one site", value=IMPACT_EXAMPLE)],
            ),
            **problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError, NotFoundError),
        },
    )
    async def network_impact(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        group_by: FromQuery[ImpactGroup] = "month",
        date_from: DateFrom = None,
        date_to: DateTo = None,
        format: FromQuery[Literal["json", "csv"] | None] = None,
        accept: Accept = None,
    ) -> Response[ImpactReport] | Stream:
        """Mass diverted (kg), CO2e avoided (kg), kilometres and lorry trips saved, summed per `group_by`
        over `[from, to)`. Operators see every transfer; a member its own (as giver or taker); both get
        the network's `total`. `format=csv` or `Accept: text/csv` streams the same as CSV."""
        start, end = query_instant(date_from, "from"), query_instant(date_to, "to")
        result = await report.network_impact(conn, principal, network_id, group_by, start, end)
        if format == "csv" or (format is None and accept is not None and "text/csv" in accept):
            return Stream(
                report.csv_lines(result),
                media_type=report.CSV_MEDIA_TYPE,
                headers={"Content-Disposition": f'attachment; filename="impact-{network_id}.csv"'},
            )
        return Response(result)
