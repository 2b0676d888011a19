"""The OpenAPI document: its configuration, the offline docs page, and error responses."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from litestar import Router
from litestar.openapi import OpenAPIConfig, ResponseSpec
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.openapi.spec import Components, Example, SecurityRequirement, SecurityScheme, Server, Tag
from litestar.static_files import create_static_files_router

from api.errors import (
    PROBLEM_BASE,
    AppError,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    RequestValidationError,
    UnauthorizedError,
)
from api.http import PreconditionRequiredError
from schemas.problem import Problem

API_VERSION = "0.1.0"
DOCS_PATH = "/docs"
ASSETS_PATH = "/docs-assets"

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


def problem_responses(*errors: type[AppError]) -> dict[int, ResponseSpec]:
    """OpenAPI responses for the errors a route can return, each an RFC 9457 problem body."""
    by_status: dict[int, list[type[AppError]]] = {}
    for error in errors:
        by_status.setdefault(error.status, []).append(error)
    return {
        status: ResponseSpec(
            Problem,
            description="; ".join(f"{e.title_text} (`{e.slug}`)" for e in group),
            media_type="application/problem+json",
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
        )
        for status, group in sorted(by_status.items())
    }
