"""HTTP routes for transfers and the impact they count."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import Example
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, QueryParameter
from litestar.response import Stream

from api.auth.principal import Principal
from api.db.idempotency import IdempotencyKeyReusedError
from api.db.pool import Connection
from api.errors import ForbiddenError, NotFoundError, RequestValidationError, UnauthorizedError
from api.http import LimitQuery
from api.lifecycle import IllegalTransitionError
from api.openapi import BEARER, problem_responses
from api.transfers import report, service
from api.transfers.service import (
    InsufficientQuantityError,
    ListingUnavailableError,
    TrackingFormRequiredError,
)
from schemas.impact import ImpactGroup, ImpactReport
from schemas.pagination import Page
from schemas.transfers import Transfer, TransferAction, TransferActionBody, TransferCreate, TransferStatus

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
DateFrom = Annotated[
    datetime | None,
    QueryParameter(name="from", required=False, description="Completed at or after (RFC 3339)."),
]
DateTo = Annotated[
    datetime | None, QueryParameter(name="to", required=False, description="Completed before (RFC 3339).")
]

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
        responses=problem_responses(
            RequestValidationError,
            IdempotencyKeyReusedError,
            UnauthorizedError,
            ForbiddenError,
            NotFoundError,
            InsufficientQuantityError,
            ListingUnavailableError,
        ),
    )
    async def create_transfer(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        listing_id: FromPath[uuid.UUID],
        data: JSONBody[TransferCreate],
        idempotency_key: IdempotencyKey = None,
    ) -> Response[Transfer]:
        """On an offer: the acting organisation (an active member) asks for `quantity`, in the offer's unit.
        On a need: it proposes `quantity` of its own offer `offer_listing_id`. The other party accepts or
        declines. With `Idempotency-Key`, a retry answers the first transfer (`Idempotent-Replayed: true`)."""
        transfer, replayed = await service.create_transfer(conn, principal, listing_id, data, idempotency_key)
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return Response(transfer, status_code=201, headers=headers)


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
        caller operates; newest first. `listing_id` matches the offer or the need answered."""
        filters = {"network_id": network_id, "listing_id": listing_id, "status": status}
        return await service.list_transfers(conn, principal, filters, cursor, limit)

    @get(
        "/{transfer_id:uuid}",
        operation_id="getTransfer",
        summary="Get a transfer and its history",
        security=BEARER,
        responses=problem_responses(UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def get_transfer(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        transfer_id: FromPath[uuid.UUID],
    ) -> Transfer:
        """A transfer of the acting organisation or of a network the caller operates, with its events and,
        once completed, its counted impact."""
        return await service.get_transfer(conn, principal, transfer_id)

    @post(
        "/{transfer_id:uuid}/{action:str}",
        operation_id="actOnTransfer",
        summary="Accept, decline, cancel, schedule, dispatch, receive, complete, dispute or resolve",
        status_code=200,
        security=BEARER,
        responses=problem_responses(
            RequestValidationError,
            UnauthorizedError,
            ForbiddenError,
            NotFoundError,
            IllegalTransitionError,
            InsufficientQuantityError,
            TrackingFormRequiredError,
        ),
    )
    async def act(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        transfer_id: FromPath[uuid.UUID],
        action: FromPath[TransferAction],
        data: JSONBody[TransferActionBody | None] = None,
    ) -> Transfer:
        """Move a transfer through its lifecycle (see the README's table). `accept` takes the agreed
        `quantity` from the offer; `schedule` needs `scheduled_for` and `transport_mode` (`distance_km` is
        computed from the two sites unless sent); hazardous waste is not dispatched without
        `tracking_form_ref` and `carrier`; `receive` takes `received_quantity` and a refused part with its
        `reason`; `complete` counts the impact once; `dispute` needs a `reason` and an operator resolves it.
        An action the status does not allow is a 409 listing the allowed ones; the other party's is a 403."""
        return await service.act(conn, principal, transfer_id, action, data or TransferActionBody())


class NetworkImpactController(Controller):
    path = "/v1/networks/{network_id:uuid}/impact"
    tags = ("impact",)

    @get(
        "/",
        operation_id="getNetworkImpact",
        summary="Impact of a network's completed transfers",
        security=BEARER,
        operation_class=report.ReportOperation,
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
        result = await report.network_impact(conn, principal, network_id, group_by, date_from, date_to)
        if format == "csv" or (format is None and accept is not None and "text/csv" in accept):
            return Stream(
                report.csv_lines(result),
                # Litestar adds `; charset=utf-8` to a text/* type itself.
                media_type=report.CSV_MEDIA_TYPE,
                headers={"Content-Disposition": f'attachment; filename="impact-{network_id}.csv"'},
            )
        return Response(result)
