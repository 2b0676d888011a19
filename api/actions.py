"""One API operation per lifecycle action, built from the lifecycle's transition table.

A feature declares, beside its routes, one `Action` per operation of its lifecycle (what the action
takes, its summary and description, the errors only it raises) and the one `act` callable every
action goes through: the feature's single service function, which checks the table, applies the
step and records its event. `with_actions` checks the declarations against the table (a table
action without a declaration, or a declaration the table does not know, stops the app at import)
and adds one Litestar route handler per action to the feature's controller:

    POST <controller path>/{<thing>_id}/<action>        operationId <action in camelCase><Thing>

A request Struct whose fields all have defaults makes the body optional (no body means the Struct's
defaults, and the document says `required: false`). An action without a Struct refuses any body.
Litestar reads a handler's parameters from its signature, so each built handler carries a real
`inspect.Signature` and real annotations (`NamedDependency`, `FromPath`, `JSONBody`, `Request`),
exactly as a written one would.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

import msgspec
from litestar import Controller, Request, Response, post
from litestar.datastructures import ResponseHeader
from litestar.di import NamedDependency
from litestar.handlers import HTTPRouteHandler
from litestar.openapi.spec import RequestBody
from litestar.params import FromPath, JSONBody

from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import (
    AppError,
    ForbiddenError,
    NotFoundError,
    PreconditionFailedError,
    RequestValidationError,
    UnauthorizedError,
)
from api.http import IfMatch
from api.lifecycle import IllegalTransitionError, Lifecycle
from api.openapi import BEARER, ProblemOperation, problem_responses

C = TypeVar("C", bound=type[Controller])

# `value` only gives the document the header's type; the handlers set the real ones.
ETAG = ResponseHeader(
    name="ETag",
    value='"1"',
    description="The resource's version; send it back as `If-Match` so that a stale write is refused.",
    documentation_only=True,
)
LOCATION = ResponseHeader(
    name="Location",
    value="/v1/...",
    description="The path of the resource just created (its `GET`).",
    documentation_only=True,
)

# What every action can answer besides success: its input refused, no identity, the wrong party or
# organisation, a resource the caller may not see, an action its status does not allow.
COMMON_ERRORS: tuple[type[AppError], ...] = (
    RequestValidationError,
    UnauthorizedError,
    ForbiddenError,
    NotFoundError,
    IllegalTransitionError,
)


@dataclass(frozen=True, slots=True)
class Action:
    summary: str
    description: str
    """The operation's description in the document; say what the action does and needs."""
    body: type[msgspec.Struct] | None = None
    """The request Struct; None for an action that takes no input."""
    errors: tuple[type[AppError], ...] = ()
    """Errors this action can return besides `COMMON_ERRORS` (and 412 when `If-Match` is read)."""


Act = Callable[
    [Connection, Principal, uuid.UUID, str, msgspec.Struct | None, str | None], Awaitable[Response[Any]]
]
"""(conn, principal, thing id, action, its request Struct or None, If-Match) → the answer: the
feature's one service entry point for its actions, wrapped into its HTTP response."""

# The parameters every action handler reads, as Litestar expects them annotated.
_CONN = NamedDependency[Connection]
_PRINCIPAL = NamedDependency[Principal]
_THING_ID = FromPath[uuid.UUID]
_REQUEST = Request[Any, Any, Any]


@dataclass
class _OptionalBodyOperation(ProblemOperation):
    """Litestar documents every body as required; a Struct with only defaulted fields is not."""

    def __post_init__(self) -> None:
        super().__post_init__()
        if isinstance(self.request_body, RequestBody):
            self.request_body.required = False


def operation_id(action: str, thing: str) -> str:
    """`resolve_complete`, `transfer` → `resolveCompleteTransfer`."""
    first, *rest = action.split("_")
    return first + "".join(word.capitalize() for word in rest) + thing.capitalize()


def _optional(body: type[msgspec.Struct]) -> bool:
    return all(not field.required for field in msgspec.structs.fields(body))


def no_body_error(action: str, raw: bytes) -> RequestValidationError:
    """The refusal of a body sent to an action that takes none, naming the fields sent if any."""
    try:
        sent = msgspec.json.decode(raw)
    except msgspec.DecodeError:
        sent = None
    paths = [f"body.{name}" for name in sent] if isinstance(sent, dict) and sent else ["body"]
    message = f"{action} takes no body"
    return RequestValidationError(
        f"{message}; send the request without one ({', '.join(paths)})",
        extra={"errors": [{"path": path, "message": message, "source": "body"} for path in paths]},
    )


def _handler(
    lifecycle: Lifecycle[Any],
    action: str,
    spec: Action,
    *,
    answer: type[Any],
    act: Act,
    if_match: bool,
    etag: bool,
    dependencies: Mapping[str, Any],
) -> HTTPRouteHandler:
    thing_id = f"{lifecycle.thing}_id"
    body = spec.body
    optional = body is not None and _optional(body)
    keyword = inspect.Parameter.POSITIONAL_OR_KEYWORD
    params = [
        inspect.Parameter("self", keyword),
        inspect.Parameter("conn", keyword, annotation=_CONN),
        inspect.Parameter("principal", keyword, annotation=_PRINCIPAL),
        inspect.Parameter(thing_id, keyword, annotation=_THING_ID),
    ]
    for name, kind in dependencies.items():
        params.append(inspect.Parameter(name, keyword, annotation=NamedDependency[kind]))  # type: ignore[misc,valid-type]
    if body is None:
        params.append(inspect.Parameter("request", keyword, annotation=_REQUEST))
    else:
        # An absent optional body arrives as None (a Struct default would end up in the document).
        default = None if optional else inspect.Parameter.empty
        annotation = JSONBody[body]  # type: ignore[valid-type]
        params.append(inspect.Parameter("data", keyword, annotation=annotation, default=default))
    if if_match:
        params.append(inspect.Parameter("if_match", keyword, annotation=IfMatch, default=None))
    returns = Response[answer]  # type: ignore[valid-type]

    async def handler(self: Controller, **kwargs: Any) -> Response[Any]:
        raw = await kwargs["request"].body() if body is None else b""
        if raw.strip():
            raise no_body_error(action, raw)
        data = kwargs.get("data")
        if data is None and body is not None:
            data = body()
        conn, principal = kwargs["conn"], kwargs["principal"]
        extras = {name: kwargs[name] for name in dependencies}
        call: Callable[..., Awaitable[Response[Any]]] = act
        return await call(conn, principal, kwargs[thing_id], action, data, kwargs.get("if_match"), **extras)

    handler.__signature__ = inspect.Signature(params, return_annotation=returns)  # type: ignore[attr-defined]
    handler.__annotations__ = {p.name: p.annotation for p in params[1:]} | {"return": returns}
    handler.__name__ = handler.__qualname__ = f"{action}_{lifecycle.thing}"
    handler.__doc__ = spec.description
    errors = (*COMMON_ERRORS, *((PreconditionFailedError,) if if_match else ()), *spec.errors)
    route: HTTPRouteHandler = post(
        f"/{{{thing_id}:uuid}}/{action}",
        operation_id=operation_id(action, lifecycle.thing),
        summary=spec.summary,
        description=spec.description,
        status_code=200,
        security=BEARER,
        responses=problem_responses(*dict.fromkeys(errors)),
        response_headers=[ETAG] if etag else None,
        operation_class=_OptionalBodyOperation if optional else ProblemOperation,
    )(handler)
    return route


def with_actions(
    lifecycle: Lifecycle[Any],
    actions: Mapping[str, Action],
    *,
    answer: type[Any],
    act: Act,
    if_match: bool = False,
    etag: bool = False,
    dependencies: Mapping[str, Any] | None = None,
) -> Callable[[C], C]:
    """A class decorator adding to a controller one `POST .../{<thing>_id}/<action>` per operation
    of `lifecycle` (see `Lifecycle.operations`), each declared in `actions` and answered by `act`.
    `dependencies` (name → type) are further app dependencies the handlers read and pass on to
    `act` as keyword arguments."""
    operations = lifecycle.operations()
    if set(actions) != set(operations):
        raise LookupError(
            f"{lifecycle.thing} actions declared {sorted(actions)} but the table has {sorted(operations)}"
        )

    def attach(controller: C) -> C:
        for action in operations:
            route = _handler(
                lifecycle,
                action,
                actions[action],
                answer=answer,
                act=act,
                if_match=if_match,
                etag=etag,
                dependencies=dependencies or {},
            )
            setattr(controller, f"{action}_{lifecycle.thing}", route)
        return controller

    return attach


__all__ = ["ETAG", "LOCATION", "Act", "Action", "operation_id", "with_actions"]
