"""HTTP routes for bulk imports of listings: a CSV body, or a CSV file uploaded from a form."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from litestar import Controller, Request, Response, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import NamedDependency
from litestar.openapi.spec import (
    Encoding,
    OpenAPIFormat,
    OpenAPIMediaType,
    OpenAPIType,
    RequestBody,
    Schema,
)
from litestar.params import FromPath, RawBody

from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import (
    BadRequestError,
    ForbiddenError,
    NotFoundError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from api.imports import service
from api.imports.csv_rows import COLUMNS
from api.imports.service import ImportRejectedError
from api.inputs import BODY_MEDIA_TYPES
from api.limits import CSV_MAX_BODY_BYTES
from api.openapi import BEARER, ProblemOperation, problem_responses
from schemas.imports import ImportResult

CSV_MEDIA_TYPE = "text/csv"
FORM_MEDIA_TYPE = "multipart/form-data"
FILE_FIELD = "file"
CSV_DESCRIPTION = (
    "UTF-8 CSV, comma or semicolon separated, with a header naming some of: "
    + ", ".join(COLUMNS)
    + ". `siret`, `direction`, `category`, `title`, `unit` are required; `publish` is true/false."
)


@dataclass
class CsvUploadOperation(ProblemOperation):
    """Documents the two bodies the import reads itself, which Litestar cannot infer from `RawBody`."""

    csv_description: ClassVar[str] = CSV_DESCRIPTION
    """What the file holds; another import (flows) says its own."""

    def __post_init__(self) -> None:
        super().__post_init__()
        description = self.csv_description
        csv_file = Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY, description=description)
        self.request_body = RequestBody(
            content={
                CSV_MEDIA_TYPE: OpenAPIMediaType(
                    schema=Schema(type=OpenAPIType.STRING, format=OpenAPIFormat.BINARY)
                ),
                FORM_MEDIA_TYPE: OpenAPIMediaType(
                    schema=Schema(
                        type=OpenAPIType.OBJECT,
                        required=[FILE_FIELD],
                        properties={FILE_FIELD: csv_file},
                    ),
                    encoding={FILE_FIELD: Encoding(content_type=CSV_MEDIA_TYPE)},
                ),
            },
            description=f"The file as the body (`{CSV_MEDIA_TYPE}`), or as the `{FILE_FIELD}` field of a "
            f"form (`{FORM_MEDIA_TYPE}`, what an HTML file input sends). {description}",
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
        request_max_body_size=CSV_MAX_BODY_BYTES,
        opt={BODY_MEDIA_TYPES: ("text/csv", "multipart/form-data")},
        operation_class=CsvUploadOperation,
        responses=problem_responses(
            BadRequestError, ImportRejectedError, UnauthorizedError, ForbiddenError, NotFoundError
        ),
    )
    async def import_listings(
        self,
        request: Request[Any, Any, State],
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        body: RawBody,
    ) -> Response[ImportResult]:
        """Create listings for the network's members from the spreadsheet an operator collected (one row
        per listing, members found by SIRET). Every row is checked first: if any has an error, nothing is
        created and the 422 lists each bad row's line and fields. Operators of the network only."""

        async def read() -> str:
            return await csv_text(request, body)

        result = await service.import_for(conn, principal, network_id, read)
        location = f"/v1/networks/{network_id}/imports/{result.id}"
        return Response(result, status_code=201, headers={"Location": location})

    @get(
        "/{import_id:uuid}",
        operation_id="getImport",
        summary="Get an import",
        security=BEARER,
        responses=problem_responses(UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def get_import(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromPath[uuid.UUID],
        import_id: FromPath[uuid.UUID],
    ) -> ImportResult:
        """What an import created: its rows, the listings created and those it published. Operators of
        the network only."""
        return await service.get_import(conn, principal, network_id, import_id)


async def csv_text(request: Request[Any, Any, State], body: bytes) -> str:
    """The uploaded CSV as text, sent as the body or as a form's file (the flows' import reads it too)."""
    return _text(await _file(request, body))


async def _file(request: Request[Any, Any, State], body: bytes) -> bytes:
    media_type, _ = request.content_type
    if media_type == CSV_MEDIA_TYPE:
        return body
    if media_type == FORM_MEDIA_TYPE:
        upload = (await request.form()).get(FILE_FIELD)
        if not isinstance(upload, UploadFile):
            raise BadRequestError(f"the form has no `{FILE_FIELD}` field holding the CSV file")
        return await upload.read()
    raise UnsupportedMediaTypeError(
        f"send the CSV as `{CSV_MEDIA_TYPE}`, or as the `{FILE_FIELD}` field of a `{FORM_MEDIA_TYPE}` form"
    )


def _text(data: bytes) -> str:
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise BadRequestError("the file is not UTF-8 text; export it as CSV UTF-8") from exc
