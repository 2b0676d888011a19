"""HTTP routes for flows: confidential, seen by the organisation and its network's operators only."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.datastructures import State
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody, RawBody

from api.actions import ETAG, LOCATION
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    RequestValidationError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from api.flows import imports, service
from api.http import IfMatch, InvalidCursorError, LimitQuery, PreconditionRequiredError, tagged
from api.imports.routes import CSV_MEDIA_TYPE, FORM_MEDIA_TYPE, CsvUploadOperation, csv_text
from api.imports.service import ImportRejectedError
from api.inputs import BODY_MEDIA_TYPES
from api.limits import CSV_MAX_BODY_BYTES
from api.openapi import BEARER, UPDATE_ERRORS, problem_responses
from schemas.flows import Flow, FlowImportResult, FlowUpdate, NetworkFlowCreate, OrganisationFlowCreate
from schemas.pagination import Page

_LIST_ERRORS = (RequestValidationError, InvalidCursorError, UnauthorizedError, ForbiddenError, NotFoundError)
_CREATE_ERRORS = (RequestValidationError, UnauthorizedError, ForbiddenError, NotFoundError)


def _created(flow: Flow) -> Response[Flow]:
    return tagged(flow, 201, Location=f"/v1/flows/{flow.id}")


_IMPORT_ERRORS = (
    BadRequestError,
    UnsupportedMediaTypeError,
    ImportRejectedError,
    UnauthorizedError,
    ForbiddenError,
    NotFoundError,
)
_IMPORT_OPTIONS: dict[str, Any] = {BODY_MEDIA_TYPES: (CSV_MEDIA_TYPE, FORM_MEDIA_TYPE)}


@dataclass
class FlowCsvOperation(CsvUploadOperation):
    csv_description = (
        "UTF-8 CSV, comma or semicolon separated, with a header naming some of: "
        + ", ".join(imports.COLUMNS)
        + ". `direction`, `category`, `quantity`, `unit`, `period` are required, and `siret` in a "
        "network's import; `months` like `6-8 12`; the site is the organisation's when `latitude` and "
        "`longitude` are empty."
    )


class NetworkFlowController(Controller):
    path = "/v1/networks/{network_id:uuid}/flows"
    tags = ("flows",)

    @get(
        "/",
        operation_id="listNetworkFlows",
        summary="List the flows of a network's members",
        security=BEARER,
        responses=problem_responses(*_LIST_ERRORS),
    )
    async def list_network_flows(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[Flow]:
        """Every recurring input and output flow recorded for the network's members, newest first.
        Operators of the network only."""
        return await service.list_network_flows(conn, principal, network_id, cursor, limit)

    @post(
        "/",
        operation_id="createNetworkFlow",
        summary="Record a member's flow",
        security=BEARER,
        response_headers=[ETAG, LOCATION],
        responses=problem_responses(*_CREATE_ERRORS),
    )
    async def create_network_flow(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        data: JSONBody[NetworkFlowCreate],
    ) -> Response[Flow]:
        """An operator of the network records a recurring flow of the member `organisation_id`, as
        collected in an interview. Flows are never published; `visibility` is `operators` by default."""
        return _created(await service.create_network_flow(conn, principal, network_id, data))

    @post(
        "/import",
        operation_id="importNetworkFlows",
        summary="Import members' flows from a CSV file",
        security=BEARER,
        request_max_body_size=CSV_MAX_BODY_BYTES,
        opt=_IMPORT_OPTIONS,
        operation_class=FlowCsvOperation,
        response_headers=[LOCATION],
        responses=problem_responses(*_IMPORT_ERRORS),
    )
    async def import_network_flows(
        self,
        request: Request[Any, Any, State],
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        body: RawBody,
    ) -> Response[FlowImportResult]:
        """An operator of the network imports the flows collected in interviews, one row a flow, the
        member found by `siret`. Every row is checked first: if any has an error nothing is created and
        the 422 (`import-rejected`, as for listings) lists each bad row's line and fields."""

        async def read() -> str:
            return await csv_text(request, body)

        result = await imports.import_network_flows(conn, principal, network_id, read)
        return Response(result, status_code=201, headers={"Location": f"/v1/networks/{network_id}/flows"})


class OrganisationFlowController(Controller):
    path = "/v1/organisations/{organisation_id:uuid}/flows"
    tags = ("flows",)

    @get(
        "/",
        operation_id="listOrganisationFlows",
        summary="List an organisation's flows",
        security=BEARER,
        responses=problem_responses(*_LIST_ERRORS),
    )
    async def list_organisation_flows(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        organisation_id: FromPath[uuid.UUID],
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[Flow]:
        """The organisation's admins and staff see all its flows; an operator those in the networks they
        operate of which it is a member. Nobody else."""
        return await service.list_organisation_flows(conn, principal, organisation_id, cursor, limit)

    @post(
        "/",
        operation_id="createOrganisationFlow",
        summary="Record one of the organisation's flows",
        security=BEARER,
        response_headers=[ETAG, LOCATION],
        responses=problem_responses(*_CREATE_ERRORS),
    )
    async def create_organisation_flow(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        organisation_id: FromPath[uuid.UUID],
        data: JSONBody[OrganisationFlowCreate],
    ) -> Response[Flow]:
        """The organisation's people (unless its membership is suspended) or an operator of `network_id`
        record a recurring flow of the organisation in that network."""
        return _created(await service.create_organisation_flow(conn, principal, organisation_id, data))

    @post(
        "/import",
        operation_id="importOrganisationFlows",
        summary="Import an organisation's flows from a CSV file",
        security=BEARER,
        request_max_body_size=CSV_MAX_BODY_BYTES,
        opt=_IMPORT_OPTIONS,
        operation_class=FlowCsvOperation,
        response_headers=[LOCATION],
        responses=problem_responses(*_IMPORT_ERRORS, RequestValidationError),
    )
    async def import_organisation_flows(
        self,
        request: Request[Any, Any, State],
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        organisation_id: FromPath[uuid.UUID],
        network_id: FromQuery[uuid.UUID],
        body: RawBody,
    ) -> Response[FlowImportResult]:
        """The organisation's people (unless its membership is suspended) or an operator of `network_id`
        import its flows in that network, one row a flow (`siret`, if given, must be its own). All rows
        or none, every bad line reported as for a network's import."""

        async def read() -> str:
            return await csv_text(request, body)

        result = await imports.import_organisation_flows(conn, principal, organisation_id, network_id, read)
        location = f"/v1/organisations/{organisation_id}/flows"
        return Response(result, status_code=201, headers={"Location": location})


class FlowController(Controller):
    path = "/v1/flows"
    tags = ("flows",)

    @get(
        "/{flow_id:uuid}",
        operation_id="getFlow",
        summary="Get a flow",
        security=BEARER,
        response_headers=[ETAG],
        responses=problem_responses(UnauthorizedError, NotFoundError),
    )
    async def get_flow(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        flow_id: FromPath[uuid.UUID],
    ) -> Response[Flow]:
        """A flow, for its organisation's people and its network's operators; 404 for anyone else."""
        return tagged(await service.get_flow(conn, principal, flow_id))

    @patch(
        "/{flow_id:uuid}",
        operation_id="updateFlow",
        summary="Update a flow",
        security=BEARER,
        response_headers=[ETAG],
        responses=problem_responses(*UPDATE_ERRORS),
    )
    async def update_flow(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        flow_id: FromPath[uuid.UUID],
        data: JSONBody[FlowUpdate],
        if_match: IfMatch = None,
    ) -> Response[Flow]:
        """Change the fields sent (`null` clears an optional one); send `If-Match` with the flow's `ETag`."""
        return tagged(await service.update_flow(conn, principal, flow_id, data, if_match))

    @delete(
        "/{flow_id:uuid}",
        operation_id="deleteFlow",
        summary="Delete a flow",
        security=BEARER,
        responses=problem_responses(
            UnauthorizedError,
            ForbiddenError,
            NotFoundError,
            PreconditionFailedError,
            PreconditionRequiredError,
        ),
    )
    async def delete_flow(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        flow_id: FromPath[uuid.UUID],
        if_match: IfMatch = None,
    ) -> None:
        """Delete a flow; send `If-Match` with its `ETag`. Synergies it fed keep their record."""
        await service.delete_flow(conn, principal, flow_id, if_match)
