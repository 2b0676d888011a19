"""The OpenAPI document: its configuration, the offline docs page, and error responses."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

from litestar import Router
from litestar.exceptions import ImproperlyConfiguredException
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import (
    Components,
    Example,
    OpenAPIHeader,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
    SecurityRequirement,
    SecurityScheme,
    Server,
    Tag,
)
from litestar.plugins import ReceiveRoutePlugin
from litestar.routes import BaseRoute, HTTPRoute
from litestar.static_files import create_static_files_router

from api.auth.principal import ORGANISATION_HEADER, InvalidTokenError
from api.errors import (
    PROBLEM_BASE,
    AppError,
    ForbiddenError,
    MalformedBodyError,
    NotFoundError,
    PayloadTooLargeError,
    PreconditionFailedError,
    RequestValidationError,
    ServiceUnavailableError,
    TooManyRequestsError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
)
from api.http import InvalidCursorError, PreconditionRequiredError
from schemas.problem import Problem

if TYPE_CHECKING:
    from litestar._kwargs import KwargsModel

API_VERSION = "0.1.0"
DOCS_PATH = "/docs"
ASSETS_PATH = "/docs-assets"
PROBLEM_MEDIA_TYPE = "application/problem+json"

TAGS = [
    Tag(name="health", description="Liveness and readiness probes"),
    Tag(name="identity", description="Who is calling, and the local token issuer's keys"),
    Tag(name="networks", description="Territorial programmes, their zones and operators"),
    Tag(name="organisations", description="Member organisations, their staff and invitations"),
    Tag(name="memberships", description="Organisations joining networks, and operators' decisions"),
    Tag(name="listings", description="Offers and needs of resources and services"),
    Tag(name="search", description="Full-text, faceted and geographic search of published listings"),
    Tag(name="catalogue", description="The category tree, units and European Waste Catalogue codes"),
    Tag(name="transfers", description="Resources moving from one member to another, with traceability"),
    Tag(name="reservations", description="Booking shared services over a period, without overbooking"),
    Tag(name="impact", description="Mass diverted, CO2e avoided, kilometres and lorry trips saved"),
]


def swagger_assets_dir() -> Path:
    return Path(str(resources.files("swagger_ui") / "static"))


def openapi_config() -> OpenAPIConfig:
    swagger = SwaggerRenderPlugin(
        path="/",
        js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
        css_url=f"{ASSETS_PATH}/swagger-ui.css",
        standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui-standalone-preset.js",
        favicon=f'<link rel="icon" type="image/png" href="{ASSETS_PATH}/favicon-32x32.png">',
    )
    return OpenAPIConfig(
        title="Symbiose",
        version=API_VERSION,
        description=(
            "Industrial and territorial ecology networks: members publish what they can give, lend "
            "or share, find what they need, and carry exchanges through to counted impact. Errors "
            "are RFC 9457 `application/problem+json`."
        ),
        path=DOCS_PATH,
        render_plugins=[swagger],
        tags=TAGS,
        servers=[Server(url="/")],
        use_handler_docstrings=True,
        components=Components(
            security_schemes={
                "bearer": SecurityScheme(type="http", scheme="bearer", bearer_format="JWT"),
            }
        ),
    )


def docs_assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS_PATH, directories=[swagger_assets_dir()], include_in_schema=False, name="docs-assets"
    )


BEARER: list[SecurityRequirement] = [{"bearer": []}]

# What a `PATCH` with `If-Match` can answer besides success.
UPDATE_ERRORS: tuple[type[AppError], ...] = (
    RequestValidationError,
    UnauthorizedError,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    PreconditionRequiredError,
)


@dataclass
class ProblemResponseSpec(ResponseSpec):
    """A problem response, knowing its problem types so that `ContractPlugin` can add to it."""

    errors: tuple[type[AppError], ...] = ()


def problem_responses(*errors: type[AppError]) -> dict[int, ResponseSpec]:
    """OpenAPI responses for the errors a route can return, each an RFC 9457 problem body.

    A route lists the failures of its own rules; `ContractPlugin` adds those every operation of its
    kind can meet (token, rate limit, database, body, `X-Organisation-ID`)."""
    by_status: dict[int, list[type[AppError]]] = {}
    for error in dict.fromkeys(errors):
        by_status.setdefault(error.status, []).append(error)
    return {status: _problem_spec(status, group) for status, group in sorted(by_status.items())}


def _problem_spec(status: int, group: list[type[AppError]]) -> ProblemResponseSpec:
    return ProblemResponseSpec(
        Problem,
        description="; ".join(f"{e.title_text} (`{e.slug}`)" for e in group),
        media_type=PROBLEM_MEDIA_TYPE,
        generate_examples=False,
        examples=[
            Example(
                summary=e.title_text,
                value={
                    "type": PROBLEM_BASE + e.slug,
                    "title": e.title_text,
                    "status": status,
                    "detail": "...",
                },
            )
            for e in group
        ],
        errors=tuple(group),
    )


@dataclass
class ProblemOperation(Operation):
    """Every operation's class (set by `ContractPlugin`): errors are documented as sent.

    Litestar documents a `400 {status_code, detail, extra}` in `application/json` for any operation
    with parameters; the application never sends it (validation is a 422 problem, see
    `api.errors`), so it goes. A 201 says where the new resource is; a 429 when to retry."""

    def __post_init__(self) -> None:
        responses = {
            code: response
            for code, response in (self.responses or {}).items()
            if not _is_litestar_error(code, response)
        }
        _add_header(
            responses, "201", "Location", "The URL of the created resource.", Schema(type=OpenAPIType.STRING)
        )
        _add_header(
            responses,
            "429",
            "RateLimit-Reset",
            "Seconds until the window ends and requests are counted afresh.",
            Schema(type=OpenAPIType.INTEGER),
        )
        _add_header(
            responses,
            "429",
            "Retry-After",
            "Seconds to wait before retrying.",
            Schema(type=OpenAPIType.INTEGER),
        )
        self.responses = responses


def _is_litestar_error(code: str, response: OpenAPIResponse | Reference) -> bool:
    if not code.isdigit() or int(code) < 400 or not isinstance(response, OpenAPIResponse):
        return False
    media = (response.content or {}).get("application/json")
    return (
        isinstance(media, OpenAPIMediaType)
        and isinstance(media.schema, Schema)
        and bool(media.schema.properties and "status_code" in media.schema.properties)
    )


def _add_header(
    responses: dict[str, OpenAPIResponse | Reference], code: str, name: str, description: str, schema: Schema
) -> None:
    response = responses.get(code)
    if isinstance(response, OpenAPIResponse):
        headers = dict(response.headers or {})
        headers.setdefault(name, OpenAPIHeader(schema=schema, description=description))
        response.headers = headers


class ContractPlugin(ReceiveRoutePlugin):
    """Adds to each operation the problems any operation of its kind can answer, in one place.

    - every operation: 401 `invalid-token` (the bearer middleware checks a token sent to any route)
      and 503 `service-unavailable` (PostgreSQL, or the identity provider's keys, out of reach);
    - rate-limited paths: 429 `too-many-requests`;
    - query, header or body input: 422 `validation-error`;
    - a request body: 413 `payload-too-large` and 415 `unsupported-media-type`; a JSON body also
      400 `malformed-body`;
    - reading `X-Organisation-ID`: 401 (the header needs a token) and 403 (not a member).

    Routes keep listing the failures of their own rules with `problem_responses(...)`."""

    __slots__ = ("_exempt",)

    def __init__(self, rate_limit_exempt: Sequence[str]) -> None:
        self._exempt = re.compile("|".join(rate_limit_exempt)) if rate_limit_exempt else None

    def receive_route(self, route: BaseRoute) -> None:
        if not isinstance(route, HTTPRoute):
            return
        _bind_options_handler(route)
        for handler, kwargs_model in route.route_handler_map.values():
            if not handler.resolve_include_in_schema():
                continue
            rate_limited = self._exempt is None or not self._exempt.search(route.path)
            common = common_errors(kwargs_model, rate_limited=rate_limited)
            handler.responses = _with_errors(handler.responses or {}, common)
            handler.operation_class = _problem_operation_class(handler.operation_class, handler.handler_name)


def common_errors(kwargs_model: KwargsModel, *, rate_limited: bool) -> list[type[AppError]]:
    """The problems an operation can answer whatever its rules, from what it reads."""
    reserved = kwargs_model.expected_reserved_kwargs
    json_body = "data" in reserved and kwargs_model.expected_form_data is None
    body = "data" in reserved or "body" in reserved
    headers = {p.field_alias.lower() for p in kwargs_model.expected_header_params}
    has_input = body or bool(
        kwargs_model.expected_query_params or headers or kwargs_model.expected_cookie_params
    )
    errors: list[type[AppError]] = [InvalidTokenError]
    if ORGANISATION_HEADER in headers:
        errors += [UnauthorizedError, ForbiddenError]
    if json_body:
        errors.append(MalformedBodyError)
    if "cursor" in {p.field_alias for p in kwargs_model.expected_query_params}:
        errors.append(InvalidCursorError)
    if body:
        errors += [PayloadTooLargeError, UnsupportedMediaTypeError]
    if has_input:
        errors.append(RequestValidationError)
    if rate_limited:
        errors.append(TooManyRequestsError)
    errors.append(ServiceUnavailableError)
    return errors


def _with_errors(
    responses: Mapping[int, ResponseSpec], common: Sequence[type[AppError]]
) -> dict[int, ResponseSpec]:
    """The route's responses with `common` merged into its problem responses, each type once. A
    status the route documents with another body (the readiness probe's 503) is left as it is."""
    own = {status: spec for status, spec in responses.items() if not isinstance(spec, ProblemResponseSpec)}
    errors = [e for spec in responses.values() if isinstance(spec, ProblemResponseSpec) for e in spec.errors]
    errors += [e for e in common if e.status not in own]
    return {**own, **problem_responses(*errors)}


def _problem_operation_class(operation_class: type[Operation], handler_name: str) -> type[Operation]:
    if issubclass(operation_class, ProblemOperation):
        return operation_class
    if operation_class is Operation:
        return ProblemOperation
    raise ImproperlyConfiguredException(
        f"{handler_name}: a custom operation_class must derive from api.openapi.ProblemOperation"
    )


def _bind_options_handler(route: HTTPRoute) -> None:
    """Give the path's automatic OPTIONS handler the route's full `Allow`.

    Litestar 2 builds a route again each time a handler joins a path, and keeps the OPTIONS handler
    made for the first one, which lists only that handler's methods (litestar#4169, fixed in 3.0):
    `OPTIONS /v1/search/listings` said `GET, OPTIONS`."""
    entry = route.route_handler_map.get("OPTIONS")
    if entry is None or entry[0].handler_name != "options_handler" or entry[0].resolve_include_in_schema():
        return
    stale = entry[0]
    fresh = route.create_options_handler(route.path)
    fresh.owner = stale.owner
    fresh.on_registration(stale.app)
    route.route_handlers = [fresh if h is stale else h for h in route.route_handlers]
    route.route_handler_map["OPTIONS"] = (
        fresh,
        fresh.create_kwargs_model(path_parameters=route.path_parameters),
    )
