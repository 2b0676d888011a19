"""HTTP route for bulk imports of listings."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from litestar import Controller, post
from litestar.di import NamedDependency
from litestar.openapi.spec import OpenAPIMediaType, OpenAPIType, Operation, RequestBody, Schema
from litestar.params import FromPath, RawBody

from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import BadRequestError, ForbiddenError, NotFoundError, UnauthorizedError
from api.imports import service
from api.imports.csv_rows import COLUMNS
from api.imports.service import ImportRejectedError
from api.inputs import BODY_MEDIA_TYPES
from api.openapi import BEARER, problem_responses
from schemas.imports import ImportResult

CSV_DESCRIPTION = (
    "UTF-8 CSV, comma or semicolon separated, with a header naming some of: "
    + ", ".join(COLUMNS)
    + ". `siret`, `direction`, `category`, `title`, `unit` are required; `publish` is true/false."
)


@dataclass
class CsvUploadOperation(Operation):
    """Documents the raw CSV body, which Litestar cannot infer from `body: RawBody`."""

    def __post_init__(self) -> None:
        self.request_body = RequestBody(
            content={"text/csv": OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))},
            description=CSV_DESCRIPTION,
            required=True,
        )


class ImportController(Controller):
    path = "/v1/networks/{network_id:uuid}/imports"
    tags = ("listings",)

    @post(
        "/",
        operation_id="importListings",
        summary="Import listings from a CSV file",
        security=BEARER,
        request_max_body_size=20 * 1024 * 1024,
        opt={BODY_MEDIA_TYPES: ("text/csv", "multipart/form-data")},
        operation_class=CsvUploadOperation,
        responses=problem_responses(
            BadRequestError, ImportRejectedError, UnauthorizedError, ForbiddenError, NotFoundError
        ),
    )
    async def import_listings(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        body: RawBody,
    ) -> ImportResult:
        """Create listings for the network's members from the spreadsheet an operator collected (one row
        per listing, members found by SIRET). Every row is checked first: if any has an error, nothing is
        created and the 422 lists each bad row's line and fields. Operators of the network only."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise BadRequestError("the file is not UTF-8 text; export it as CSV UTF-8") from exc
        return await service.import_for(conn, principal, network_id, text)
