"""HTTP routes for synergies: detection, the funnel, notes and the exchanges that realise them."""

from __future__ import annotations

import uuid
from typing import Any, Literal

import msgspec
from litestar import Controller, Response, get, post
from litestar.di import NamedDependency
from litestar.openapi import ResponseSpec
from litestar.params import FromPath, FromQuery, JSONBody
from litestar.response import Stream

from api.actions import ETAG, LOCATION, Action, with_actions
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import ForbiddenError, NotFoundError, RequestValidationError, UnauthorizedError
from api.http import InvalidCursorError, LimitQuery, tagged
from api.inputs import DateFrom, DateTo, query_instant
from api.lifecycle import IllegalTransitionError
from api.openapi import BEARER, problem_responses
from api.synergies import detect, report, service
from api.synergies.lifecycle import SYNERGY
from api.synergies.service import ExchangeTakenError, NotPoolingError, NotStartedError, NotUnderwayError
from api.transfers.routes import Accept
from schemas.pagination import Page
from schemas.synergies import (
    DetectionResult,
    FunnelGroup,
    FunnelReport,
    Synergy,
    SynergyAbandon,
    SynergyDismiss,
    SynergyExchangeCreate,
    SynergyKind,
    SynergyNote,
    SynergyNoteCreate,
    SynergyOutcomeCreate,
    SynergyStart,
    SynergyStatus,
    SynergyStudy,
)

_LIST_ERRORS = (RequestValidationError, InvalidCursorError, UnauthorizedError, ForbiddenError, NotFoundError)


class NetworkSynergyController(Controller):
    path = "/v1/networks/{network_id:uuid}/synergies"
    tags = ("synergies",)

    @get(
        "/",
        operation_id="listNetworkSynergies",
        summary="List a network's synergies",
        security=BEARER,
        responses=problem_responses(*_LIST_ERRORS),
    )
    async def list_network_synergies(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        status: FromQuery[SynergyStatus | None] = None,
        kind: FromQuery[SynergyKind | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[Synergy]:
        """Every synergy of the network, newest first, with the actions the caller may take. Operators of
        the network only."""
        return await service.list_network_synergies(conn, principal, network_id, status, kind, cursor, limit)

    @post(
        "/detect",
        operation_id="detectSynergies",
        summary="Propose potential synergies from the network's flows and listings",
        security=BEARER,
        status_code=200,
        responses=problem_responses(UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def detect_synergies(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
    ) -> DetectionResult:
        """Operators of the network. Substitutions pair an output flow or published offer with an input
        flow or published need of another member (same category or a near one in the tree, same waste
        code or chapter, within the distance bound); poolings gather two or more members of one zone
        with needs or input flows of the same service category. Each is scored in [0, 1] with its
        explanation. A candidate whose inputs (ids and versions) were proposed before, in any status,
        is not proposed again: a re-run proposes nothing new unless flows or listings changed."""
        return await detect.detect_for(conn, principal, network_id)

    @get(
        "/report",
        operation_id="getSynergyReport",
        summary="The synergy funnel report for funders",
        security=BEARER,
        operation_class=report.FunnelOperation,
        responses={
            # The handler may answer a stream (CSV), so its JSON shape is stated here.
            200: ResponseSpec(
                FunnelReport,
                description="The report as JSON; as `text/csv` (a line a group, then `network_total`)",
                generate_examples=False,
            ),
            **problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError, NotFoundError),
        },
    )
    async def synergy_report(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        group_by: FromQuery[FunnelGroup] = "kind",
        date_from: DateFrom = None,
        date_to: DateTo = None,
        format: FromQuery[Literal["json", "csv"] | None] = None,
        accept: Accept = None,
    ) -> Response[FunnelReport] | Stream:
        """Over the synergies proposed in `[from, to)`, per `group_by`: how many are at each stage, how
        many reached each, the conversion between stages, abandonment reasons, organisations engaged, and
        the mass, CO2e and km of the realised ones (from their linked completed transfers) and the euros,
        km and shared jobs declared for the realised pooling ones. Operators of the network only.
        `format=csv` or `Accept: text/csv` streams it as CSV."""
        start, end = query_instant(date_from, "from"), query_instant(date_to, "to")
        result = await report.funnel_report(conn, principal, network_id, group_by, start, end)
        if format == "csv" or (format is None and accept is not None and "text/csv" in accept):
            return Stream(
                report.csv_lines(result),
                media_type=report.CSV_MEDIA_TYPE,
                headers={"Content-Disposition": f'attachment; filename="synergies-{network_id}.csv"'},
            )
        return Response(result)


class OrganisationSynergyController(Controller):
    path = "/v1/organisations/{organisation_id:uuid}/synergies"
    tags = ("synergies",)

    @get(
        "/",
        operation_id="listOrganisationSynergies",
        summary="List the synergies an organisation is involved in",
        security=BEARER,
        responses=problem_responses(*_LIST_ERRORS),
    )
    async def list_organisation_synergies(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        organisation_id: FromPath[uuid.UUID],
        status: FromQuery[SynergyStatus | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[Synergy]:
        """For the organisation's people, and for the operators of its networks (in those networks)."""
        return await service.list_organisation_synergies(
            conn, principal, organisation_id, status, cursor, limit
        )


async def _act(
    conn: Connection,
    principal: Principal,
    synergy_id: uuid.UUID,
    action: str,
    data: msgspec.Struct | None,
    if_match: str | None,
) -> Response[Any]:
    return tagged(await service.act(conn, principal, synergy_id, action, data, if_match))


_OPERATOR = "An operator of the network"
ACTIONS = {
    "study": Action(
        "Mark a potential synergy as studied",
        f"{_OPERATOR} records that the synergy was studied (interviews, a workshop), with an optional "
        "`note`.",
        SynergyStudy,
    ),
    "dismiss": Action(
        "Dismiss a potential synergy",
        f"{_OPERATOR} dismisses a proposal that makes no sense; detection does not propose it again "
        "unless the flows or listings it came from change. An optional `note`.",
        SynergyDismiss,
    ),
    "start": Action(
        "Start carrying out a studied synergy",
        f"{_OPERATOR} records that the organisations are carrying it out; link the transfers and "
        "reservations that do (`POST /v1/synergies/{synergy_id}/exchanges`): the synergy is realised "
        "when one of them completes.",
        SynergyStart,
    ),
    "abandon": Action(
        "Abandon a synergy",
        f"{_OPERATOR} abandons a synergy that is potential, studied or in progress, with a `reason` "
        "(regulation, distance, quality, quantity, cost, no_interest, other) and an optional `note`; "
        "the reasons are counted in the funders' report.",
        SynergyAbandon,
    ),
}


@with_actions(SYNERGY, ACTIONS, answer=Synergy, act=_act, if_match=True, etag=True)
class SynergyController(Controller):
    path = "/v1/synergies"
    tags = ("synergies",)

    @get(
        "/{synergy_id:uuid}",
        operation_id="getSynergy",
        summary="Get a synergy, its history and notes",
        security=BEARER,
        response_headers=[ETAG],
        responses=problem_responses(UnauthorizedError, NotFoundError),
    )
    async def get_synergy(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        synergy_id: FromPath[uuid.UUID],
    ) -> Response[Synergy]:
        """For the network's operators and the people of the organisations involved; 404 for anyone
        else. Its `ETag` may be sent as `If-Match` with an action."""
        return tagged(await service.get_synergy(conn, principal, synergy_id))

    @post(
        "/{synergy_id:uuid}/notes",
        operation_id="createSynergyNote",
        summary="Add a note to a synergy",
        security=BEARER,
        response_headers=[LOCATION],
        responses=problem_responses(RequestValidationError, UnauthorizedError, NotFoundError),
    )
    async def create_synergy_note(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        synergy_id: FromPath[uuid.UUID],
        data: JSONBody[SynergyNoteCreate],
    ) -> Response[SynergyNote]:
        """The network's operators and the people of the organisations involved add a note (what a
        meeting decided, a question); it is shown with the synergy."""
        note = await service.add_note(conn, principal, synergy_id, data)
        return Response(note, status_code=201, headers={"Location": f"/v1/synergies/{synergy_id}"})

    @post(
        "/{synergy_id:uuid}/exchanges",
        operation_id="linkSynergyExchange",
        summary="Link a transfer or reservation that carries a synergy out",
        security=BEARER,
        status_code=200,
        response_headers=[ETAG],
        responses=problem_responses(
            RequestValidationError,
            UnauthorizedError,
            ForbiddenError,
            NotFoundError,
            NotStartedError,
            ExchangeTakenError,
            IllegalTransitionError,
        ),
    )
    async def link_synergy_exchange(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        synergy_id: FromPath[uuid.UUID],
        data: JSONBody[SynergyExchangeCreate],
    ) -> Response[Synergy]:
        """An operator links one `transfer_id` or `reservation_id` of the network to a synergy in
        progress; when that exchange completes (or if it has already), the synergy becomes `realised`."""
        return tagged(await service.link_exchange(conn, principal, synergy_id, data))

    @post(
        "/{synergy_id:uuid}/outcomes",
        operation_id="declareSynergyOutcome",
        summary="Declare what a pooling synergy achieved",
        security=BEARER,
        response_headers=[ETAG, LOCATION],
        responses=problem_responses(
            RequestValidationError,
            UnauthorizedError,
            NotFoundError,
            NotPoolingError,
            NotUnderwayError,
        ),
    )
    async def declare_synergy_outcome(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        synergy_id: FromPath[uuid.UUID],
        data: JSONBody[SynergyOutcomeCreate],
    ) -> Response[Synergy]:
        """The network's operators and the people of the organisations involved declare an outcome of a
        pooling synergy in progress or realised: `euros_saved_cents`, `km_saved`, `shared_jobs` (at least
        one), with a `note`; who declared it and when are recorded. The first one realises a synergy in
        progress. The funders' report sums them over the realised synergies."""
        synergy = await service.declare_outcome(conn, principal, synergy_id, data)
        return tagged(synergy, 201, Location=f"/v1/synergies/{synergy_id}")
