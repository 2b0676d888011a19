"""HTTP routes of the event feed."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, get
from litestar.di import NamedDependency
from litestar.params import QueryParameter

from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import ForbiddenError, RequestValidationError, UnauthorizedError
from api.events import service
from api.events.types import EVENT_TYPES
from api.openapi import BEARER, problem_responses
from schemas.events import EventPage

After = Annotated[
    int,
    QueryParameter(
        ge=0,
        le=2**62,
        description="Read the events whose `sequence_id` is greater (0, the default, reads from the start).",
    ),
]
Types = Annotated[
    str | None,
    QueryParameter(
        max_length=2000,
        description="Comma-separated event types or prefixes ending in `.*`, e.g. "
        "`transfer.*,listing.published`.",
    ),
]
FeedLimit = Annotated[int, QueryParameter(ge=1, le=500, description="Events per page (1-500).")]

_TYPES_LIST = "\n".join(f"- `{t}`" for t in EVENT_TYPES)
FEED_DESCRIPTION = f"""Events in strictly increasing `sequence_id`. Read on with `after` set to the last
`sequence_id` you read (`next_after`): an event that commits later is always numbered after every
event already visible, so this never misses one. An organisation (X-Organisation-ID) sees the events
of what it is party to, an operator its networks', the platform administrator all. Events are kept
`EVENT_RETENTION_DAYS` (90) days.

Each event is one of the `*FeedEvent` schemas, told apart by `resource_type`, which says the types
it carries and the schema of its `resource`: the resource's state just after the change
(`listing`, `transfer`, `reservation`, `membership`, `synergy`, `payment`; `webhook_endpoint` for
`endpoint.disabled`). `previous_values` holds the keys of `resource` that changed, with their former
values. Synergies are confidential: their events go to the network's operators and the organisations
involved only. A payment's events go to the parties of what it pays for and the network's operators.

Event types (`<resource>.<what happened>`):
{_TYPES_LIST}"""


class EventController(Controller):
    path = "/v1/events"
    tags = ("events",)

    @get(
        "/",
        operation_id="listEvents",
        summary="Read the event feed",
        description=FEED_DESCRIPTION,
        security=BEARER,
        responses=problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError),
    )
    async def list_events(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        after: After = 0,
        types: Types = None,
        limit: FeedLimit = 100,
    ) -> EventPage:
        return await service.list_events(conn, principal, after, types, limit)
