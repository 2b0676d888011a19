"""HTTP routes for payments: organisations' connected accounts, reservations' and transfers' payments,
Stripe's webhooks."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Annotated, Literal

from litestar import Controller, Response, get, post, put
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, RequestBody, Schema
from litestar.params import FromPath, FromQuery, HeaderParameter, JSONBody, RawBody
from litestar.response import Stream
from stripe import StripeClient

from api.actions import ETAG
from api.auth.principal import Principal
from api.db.pool import Connection, get_pool
from api.errors import (
    ForbiddenError,
    MalformedBodyError,
    NotFoundError,
    RequestValidationError,
    UnauthorizedError,
)
from api.http import IfMatch, etag
from api.inputs import BODY_MEDIA_TYPES, DateFrom, DateTo, query_instant
from api.openapi import BEARER, UPDATE_ERRORS, ProblemOperation, problem_responses
from api.payments import accounts, report, service, webhooks
from api.payments.service import NoPaymentError
from api.payments.stripe_client import (
    PaymentProviderError,
    PaymentProviderUnavailableError,
)
from api.reservations import service as reservations
from api.reservations.rules import PaymentsNotConfiguredError
from api.transfers import payment as transfers
from api.transfers.report import CSV_MEDIA_TYPE
from api.transfers.routes import Accept
from schemas.payments import (
    NetworkFees,
    NetworkFeesUpdate,
    OnboardingLink,
    OnboardingLinkCreate,
    PaymentAccount,
    PaymentsReport,
    ReservationPayment,
    TransferPayment,
    WebhookReceipt,
)


@dataclass
class PaymentsOperation(ProblemOperation):
    """The report's 200 is JSON or, when asked, CSV: both are documented on the one operation."""

    def __post_init__(self) -> None:
        super().__post_init__()
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            body = Schema(
                type=OpenAPIType.STRING,
                description="RFC 4180 CSV with a header line: " + ", ".join(report.CSV_COLUMNS),
            )
            ok.content = {**ok.content, CSV_MEDIA_TYPE: OpenAPIMediaType(schema=body)}


@dataclass
class WebhookOperation(ProblemOperation):
    """The handler reads the raw body (the signature covers its exact bytes), so Litestar does not see
    a body parameter: the document states it here."""

    def __post_init__(self) -> None:
        super().__post_init__()
        event = Schema(
            type=OpenAPIType.OBJECT,
            description="A Stripe event (`id`, `type`, `data.object`), exactly as Stripe sent it.",
            required=["id", "type", "data"],
        )
        self.request_body = RequestBody(
            content={"application/json": OpenAPIMediaType(schema=event)}, required=True
        )


STRIPE_ERRORS = (PaymentsNotConfiguredError, PaymentProviderUnavailableError, PaymentProviderError)

StripeSignature = Annotated[
    str | None,
    HeaderParameter(
        name="Stripe-Signature",
        required=False,
        max_length=4096,
        description="Stripe's signature of the raw body: `t=<unix time>,v1=<HMAC-SHA256 hex>`.",
    ),
]


class PaymentAccountController(Controller):
    path = "/v1/organisations/{organisation_id:uuid}/payment-account"
    tags = ("payments",)

    @post(
        "/",
        operation_id="createPaymentAccount",
        summary="Open the organisation's Stripe connected account",
        security=BEARER,
        responses=problem_responses(UnauthorizedError, ForbiddenError, NotFoundError, *STRIPE_ERRORS),
    )
    async def create(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        stripe: NamedDependency[StripeClient | None],
        organisation_id: FromPath[uuid.UUID],
    ) -> Response[PaymentAccount]:
        """An administrator of the organisation opens its Stripe Express account, through which its priced
        services are paid (201); an organisation has one, so asking again answers it (200). It takes
        charges once its administrator has finished Stripe's onboarding (`POST .../onboarding-link`)."""
        account, created = await accounts.create_account(conn, stripe, principal, organisation_id)
        headers = {"Location": f"/v1/organisations/{organisation_id}/payment-account"}
        return Response(account, status_code=201 if created else 200, headers=headers)

    @get(
        "/",
        operation_id="getPaymentAccount",
        summary="Get the organisation's payment account",
        security=BEARER,
        responses=problem_responses(UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def get(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        organisation_id: FromPath[uuid.UUID],
    ) -> PaymentAccount:
        """The organisation's connected account as Stripe last described it (kept current by its
        `account.updated` events): whether it takes charges and payouts, and what Stripe still requires."""
        return await accounts.get_account(conn, principal, organisation_id)

    @post(
        "/onboarding-link",
        operation_id="createPaymentAccountOnboardingLink",
        summary="Get a link to Stripe's onboarding",
        status_code=200,
        security=BEARER,
        responses=problem_responses(
            RequestValidationError, UnauthorizedError, ForbiddenError, NotFoundError, *STRIPE_ERRORS
        ),
    )
    async def onboarding_link(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        stripe: NamedDependency[StripeClient | None],
        organisation_id: FromPath[uuid.UUID],
        data: JSONBody[OnboardingLinkCreate],
    ) -> OnboardingLink:
        """A single-use, short-lived Account Link to Stripe's hosted onboarding, for an administrator of
        the organisation: Stripe sends them back to `return_url`, or to `refresh_url` to ask a new link."""
        return await accounts.onboarding_link(conn, stripe, principal, organisation_id, data)


class ReservationPaymentController(Controller):
    path = "/v1/reservations/{reservation_id:uuid}/payment"
    tags = ("payments",)

    @get(
        "/",
        operation_id="getReservationPayment",
        summary="Get a reservation's payment",
        security=BEARER,
        responses=problem_responses(UnauthorizedError, ForbiddenError, NotFoundError, NoPaymentError),
    )
    async def get(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        reservation_id: FromPath[uuid.UUID],
    ) -> ReservationPayment:
        """The PaymentIntent of an accepted, priced reservation: its amount, fee and provider share, its
        status at Stripe and the last failure. The requester gets its `client_secret` to confirm the
        payment with Stripe.js; once Stripe says it succeeded, the reservation is `confirmed`."""
        return await reservations.get_payment(conn, principal, reservation_id)


class TransferPaymentController(Controller):
    path = "/v1/transfers/{transfer_id:uuid}/payment"
    tags = ("payments",)

    @get(
        "/",
        operation_id="getTransferPayment",
        summary="Get a transfer's payment",
        security=BEARER,
        responses=problem_responses(UnauthorizedError, ForbiddenError, NotFoundError, NoPaymentError),
    )
    async def get(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        transfer_id: FromPath[uuid.UUID],
    ) -> TransferPayment:
        """The PaymentIntent of an accepted transfer of a priced material: its amount, fee and the giver's
        share, its status at Stripe, the last failure, refunds and any dispute. The taker (the payer) gets
        its `client_secret` to confirm the payment with Stripe.js; once Stripe says it succeeded, the
        transfer is `paid` and can be scheduled."""
        return await transfers.get_payment(conn, principal, transfer_id)


class StripeWebhookController(Controller):
    path = "/v1/payments/stripe/webhook"
    tags = ("payments",)

    @post(
        "/",
        operation_id="receiveStripeWebhook",
        summary="Receive a Stripe event",
        operation_class=WebhookOperation,
        opt={BODY_MEDIA_TYPES: ("application/json",)},
        status_code=200,
        responses=problem_responses(webhooks.InvalidSignatureError, MalformedBodyError, *STRIPE_ERRORS),
    )
    async def receive(
        self,
        stripe: NamedDependency[StripeClient | None],
        body: RawBody,
        state: State,
        stripe_signature: StripeSignature = None,
    ) -> WebhookReceipt:
        """Stripe's webhook endpoint: the raw body is verified against `Stripe-Signature` with the
        endpoint's secret (400 `invalid-signature` when it does not verify or is over 300 s old), each
        event is applied once (`duplicate: true` for a replay), and the object it names is fetched from
        Stripe and applied as it is now. Unknown event types are acknowledged and ignored. Not counted by
        the anonymous rate limit: Stripe's deliveries are never refused for their number."""
        pool = get_pool(state)
        return await webhooks.receive(pool, stripe, state.stripe_webhook_secret, body, stripe_signature)


class NetworkFeesController(Controller):
    path = "/v1/networks/{network_id:uuid}/payment-fees"
    tags = ("payments",)

    @get(
        "/",
        operation_id="getNetworkPaymentFees",
        summary="Get the network's commission on payments",
        security=BEARER,
        response_headers=[ETAG],
        responses=problem_responses(UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def get(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
    ) -> Response[NetworkFees]:
        """The platform's commission on the network's payments (operators): a share in basis points plus
        a fixed amount, and the rate of ESS providers when the network sets one. Default: no fee."""
        fees, version = await service.get_fees(conn, principal, network_id)
        return Response(fees, headers={"ETag": etag(version)})

    @put(
        "/",
        operation_id="setNetworkPaymentFees",
        summary="Set the network's commission on payments",
        security=BEARER,
        response_headers=[ETAG],
        responses=problem_responses(*UPDATE_ERRORS),
    )
    async def put(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        data: JSONBody[NetworkFeesUpdate],
        if_match: IfMatch = None,
    ) -> Response[NetworkFees]:
        """An operator sets the commission; it applies to reservations requested from then on (a price,
        fee included, is fixed when a reservation is requested). Takes `If-Match` with the `ETag` read."""
        fees, version = await service.set_fees(conn, principal, network_id, data, if_match)
        return Response(fees, headers={"ETag": etag(version)})


class NetworkPaymentsController(Controller):
    path = "/v1/networks/{network_id:uuid}/payments"
    tags = ("payments",)

    @get(
        "/",
        operation_id="getNetworkPayments",
        summary="The network's payments per provider and month",
        security=BEARER,
        operation_class=PaymentsOperation,
        responses={
            # The handler may answer a stream (CSV), so its JSON shape is stated here.
            200: ResponseSpec(
                PaymentsReport,
                description="The report as JSON; as `text/csv` ("
                + ", ".join(report.CSV_COLUMNS)
                + ") when asked",
                generate_examples=False,
            ),
            **problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError, NotFoundError),
        },
    )
    async def network_payments(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        date_from: DateFrom = None,
        date_to: DateTo = None,
        format: FromQuery[Literal["json", "csv"] | None] = None,
        accept: Accept = None,
    ) -> Response[PaymentsReport] | Stream:
        """For the network's operators: per provider and month (UTC) over `[from, to)`, the payments
        that succeeded, their gross amount, the network's fees, the refunds made, and the net to
        providers (gross - fees - their part of the refunds), in cents. `format=csv` or
        `Accept: text/csv` streams the same as CSV."""
        start, end = query_instant(date_from, "from"), query_instant(date_to, "to")
        result = await report.network_payments(conn, principal, network_id, start, end)
        if format == "csv" or (format is None and accept is not None and "text/csv" in accept):
            return Stream(
                report.csv_lines(result),
                media_type=CSV_MEDIA_TYPE,
                headers={"Content-Disposition": f'attachment; filename="payments-{network_id}.csv"'},
            )
        return Response(result)
