"""Catalogue search: who is looking, what they asked, and the backend that answers."""

from __future__ import annotations

from typing import Any, Literal

import msgspec
from litestar import Request
from litestar.datastructures import State

from api.auth import policy
from api.auth.principal import ANONYMOUS, ActingOrganisation, provide_principal
from api.db.pool import get_pool
from api.search import repository
from schemas.search import SearchRequest, SearchResult
from schemas.types import decode_hook
from search.backend import SearchBackend
from search.query import InvalidSearchError, Viewer, invalid, to_query

Source = Literal["query", "body"]


async def provide_viewer(
    request: Request[Any, Any, State], state: State, acting_organisation: ActingOrganisation = None
) -> Viewer:
    """The caller's viewer. The connection is given back before the search runs, so a search holds
    one pooled connection at a time; anonymous callers need none at all."""
    if request.state.get("verified_token") is None:
        return policy.search_viewer(ANONYMOUS, frozenset())
    async with get_pool(state).acquire() as conn:
        principal = await provide_principal(request, conn, acting_organisation)
        acting = principal.acting_organisation_id
        member_of = frozenset() if acting is None else await repository.active_networks(conn, acting)
    return policy.search_viewer(principal, member_of)


def backend(state: State) -> SearchBackend:
    """The backend the application started with (see `api.app`)."""
    backend: SearchBackend = state.search
    return backend


def request_from(values: dict[str, Any]) -> SearchRequest:
    """A SearchRequest from query parameters; a value out of bounds is a 422 naming its parameter."""
    try:
        return msgspec.convert(values, SearchRequest, dec_hook=decode_hook)
    except msgspec.ValidationError as exc:
        message, _, where = str(exc).rpartition(" - at `$.")
        name = where.rstrip("`").split("[")[0].split(".")[0] if message else ""
        raise invalid(f"query.{name}" if name else "query", message or str(exc)) from exc


async def search(
    backend: SearchBackend, viewer: Viewer, request: SearchRequest, source: Source
) -> SearchResult:
    """Check the request, then let the backend search with visibility applied inside its query."""
    try:
        query = to_query(request)
    except InvalidSearchError as exc:
        errors = exc.extra["errors"] if isinstance(exc.extra, dict) else []
        path = f"{source}.{errors[0]['path']}" if errors else source
        raise invalid(path, errors[0]["message"] if errors else str(exc.detail)) from exc
    return await backend.search(query, viewer)
