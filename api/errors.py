"""One error tree, one place that turns every failure into an RFC 9457 problem.

Domain code raises an `AppError` subclass; Litestar's own exceptions (validation, routing) and
unexpected exceptions are converted here, so every error body is `application/problem+json`.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from http import HTTPStatus
from typing import Any, ClassVar

from litestar import Request, Response
from litestar.enums import ParamType
from litestar.exceptions import (
    ClientException,
    HTTPException,
    MethodNotAllowedException,
    NotFoundException,
    SerializationException,
    ValidationException,
)
from litestar.handlers import HTTPRouteHandler
from litestar.params import ParameterKwarg
from litestar.plugins.problem_details import ProblemDetailsConfig, ProblemDetailsException
from litestar.types import ExceptionHandlersMap

from api.observability import current_request_id
from schemas.types import readable

PROBLEM_BASE = "https://symbiose.eco/problems/"
logger = logging.getLogger("api.errors")


class AppError(ProblemDetailsException):
    """Base of every expected failure. Subclasses set `status`, `slug` and `title`."""

    status: ClassVar[int] = 400
    slug: ClassVar[str] = "bad-request"
    title_text: ClassVar[str] = "Bad request"

    def __init__(
        self, detail: str, *, extra: Mapping[str, Any] | None = None, headers: dict[str, str] | None = None
    ) -> None:
        super().__init__(
            detail=detail,
            status_code=self.status,
            type_=PROBLEM_BASE + self.slug,
            title=self.title_text,
            extra=dict(extra) if extra else None,
            headers=headers,
        )


class BadRequestError(AppError):
    status, slug, title_text = 400, "bad-request", "Bad request"


class MalformedBodyError(AppError):
    status, slug, title_text = 400, "malformed-body", "The request body could not be read"


class RequestValidationError(AppError):
    status, slug, title_text = 422, "validation-error", "The request has invalid fields"


class UnauthorizedError(AppError):
    status, slug, title_text = 401, "unauthorized", "Authentication required"


class ForbiddenError(AppError):
    status, slug, title_text = 403, "forbidden", "Not allowed"


class NotFoundError(AppError):
    status, slug, title_text = 404, "not-found", "Not found"


class MethodNotAllowedError(AppError):
    status, slug, title_text = 405, "method-not-allowed", "Method not allowed"


class ConflictError(AppError):
    status, slug, title_text = 409, "conflict", "Conflict"


class PreconditionFailedError(AppError):
    status, slug, title_text = 412, "precondition-failed", "The resource has changed"


class PayloadTooLargeError(AppError):
    status, slug, title_text = 413, "payload-too-large", "The request body is too large"


class UnsupportedMediaTypeError(AppError):
    status, slug, title_text = 415, "unsupported-media-type", "The body's Content-Type is not accepted here"


class HeadersTooLargeError(AppError):
    status, slug, title_text = 431, "headers-too-large", "The request headers are too large"


class TooManyRequestsError(AppError):
    status, slug, title_text = 429, "too-many-requests", "Too many requests"


class ServiceUnavailableError(AppError):
    status, slug, title_text = 503, "service-unavailable", "Service unavailable"


class InternalError(AppError):
    status, slug, title_text = 500, "internal-error", "Internal server error"


_MSGSPEC_BODY_PATH = re.compile(r" - at `\$\.data(?P<path>[^`]*)`$")
# A missing or unknown field is reported at its object; the field itself is what the caller fixes.
_MSGSPEC_FIELD = re.compile(r"^Object (?:missing required|contains unknown) field `(?P<field>[^`]+)`")


def _body_path(exc: ValidationException) -> str:
    """msgspec reports the full path (`$.data.items[2].unit`); Litestar keeps only the first key."""
    cause = exc.__cause__
    match = _MSGSPEC_BODY_PATH.search(str(cause)) if cause is not None else None
    field = _MSGSPEC_FIELD.search(str(cause)) if cause is not None else None
    return "body" + (match["path"] if match else "") + (f".{field['field']}" if field else "")


def _field_errors(exc: ValidationException, names: Mapping[str, str]) -> list[dict[str, str]]:
    """Litestar's validation extras → `[{path, message, source}]`, paths like `body.a.b[0]`, `query.limit`.

    Litestar names a parameter by its Python name; `names` maps it to the name that was sent
    (`date_from` → `from`, `if_match` → `if-match`)."""
    errors: list[dict[str, str]] = []
    if not isinstance(exc.extra, list):
        return errors
    for item in exc.extra:
        if not isinstance(item, dict):
            continue
        # Litestar gives the source as a string or, for parameter constraints, a `ParamType` enum.
        raw_source = item.get("source") or "body"
        source = str(getattr(raw_source, "value", raw_source))
        key = str(item.get("key") or "")
        key = names.get(key, key)
        path = _body_path(exc) if source == "body" else (f"{source}.{key}" if key else source)
        errors.append({"path": path, "message": readable(str(item.get("message", ""))), "source": source})
    return errors


def _from_validation(exc: ValidationException, names: Mapping[str, str] | None = None) -> AppError:
    errors = _field_errors(exc, names or {})
    if not errors:
        return RequestValidationError(str(exc.detail))
    summary = "; ".join(f"{e['path']}: {e['message']}" for e in errors)
    return RequestValidationError(summary, extra={"errors": errors})


def _from_http(exc: HTTPException) -> AppError:
    if isinstance(exc, ValidationException):
        return _from_validation(exc)
    if isinstance(exc, ClientException) and isinstance(exc.__cause__, SerializationException):
        return MalformedBodyError(f"the body is not valid JSON ({exc.detail})")
    if exc.status_code == 413:  # Litestar's request_max_body_size
        return PayloadTooLargeError(
            "the body is larger than this operation accepts (see the README's limits)"
        )
    if isinstance(exc, NotFoundException):
        return NotFoundError(str(exc.detail) if exc.detail != "Not Found" else "no such resource")
    if isinstance(exc, MethodNotAllowedException):
        allowed = (exc.headers or {}).get("allow", "")
        return MethodNotAllowedError(f"this path allows only {allowed}", headers=exc.headers)
    known = _BY_STATUS.get(exc.status_code)
    if known is not None:
        detail = str(exc.detail)
        phrase = HTTPStatus(exc.status_code).phrase
        return known(known.title_text if detail in ("", phrase) else detail, headers=exc.headers)
    return _wrap(exc.status_code, str(exc.detail), exc.headers)


# Litestar's own exceptions for these statuses (the body size limit, the rate limit) become the
# problem types the document lists, not types made up from the status phrase.
_BY_STATUS: dict[int, type[AppError]] = {
    e.status: e
    for e in (
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
        HeadersTooLargeError,
        TooManyRequestsError,
        ServiceUnavailableError,
    )
}


def _wrap(status: int, detail: str, headers: dict[str, str] | None) -> AppError:
    phrase = HTTPStatus(status).phrase if status in HTTPStatus._value2member_map_ else "Error"
    error = AppError(detail or phrase, headers=headers)
    error.status_code = status
    error.title = phrase
    error.type_ = PROBLEM_BASE + phrase.lower().replace(" ", "-")
    return error


def _handle_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    request_id = current_request_id()
    logger.exception(
        "unhandled error method=%s path=%s request_id=%s", request.method, request.url.path, request_id
    )
    return InternalError(
        f"an unexpected error occurred; quote request id {request_id} when reporting it"
    ).to_response(request)


def _wire_names(request: Request[Any, Any, Any]) -> dict[str, str]:
    """Python name → sent name of the parameters of the request's handler and its dependencies."""
    handler = request.scope.get("route_handler")
    if not isinstance(handler, HTTPRouteHandler):
        return {}
    signatures = [handler.parsed_fn_signature]
    signatures += [p.parsed_fn_signature for p in handler.resolve_dependencies().values()]
    names: dict[str, str] = {}
    for signature in signatures:
        for name, field in signature.parameters.items():
            kwarg = field.kwarg_definition
            if isinstance(kwarg, ParameterKwarg) and kwarg.name:
                names[name] = kwarg.name.lower() if kwarg.param_type is ParamType.HEADER else kwarg.name
    return names


def _handle_validation(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    return _from_validation(exc, _wire_names(request)).to_response(request)


def problem_details_config() -> ProblemDetailsConfig:
    return ProblemDetailsConfig(exception_to_problem_detail_map={HTTPException: _from_http})


def exception_handlers() -> ExceptionHandlersMap:
    return {Exception: _handle_unexpected, ValidationException: _handle_validation}
