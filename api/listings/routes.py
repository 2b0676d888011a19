"""HTTP routes for listings."""

from __future__ import annotations

import uuid

import msgspec
from litestar import Controller, Response, get, patch, post
from litestar.di import NamedDependency
from litestar.params import FromPath, FromQuery, JSONBody

from api.actions import ETAG, LOCATION, Action, with_actions
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import (
    ForbiddenError,
    NotFoundError,
    RequestValidationError,
    UnauthorizedError,
)
from api.http import IfMatch, LimitQuery, tagged
from api.listings import service
from api.listings.lifecycle import LISTING
from api.openapi import BEARER, UPDATE_ERRORS, problem_responses
from schemas.listings import (
    Direction,
    Listing,
    ListingCreate,
    ListingStatus,
    ListingUpdate,
    Nature,
)
from schemas.pagination import Page


async def _act(
    conn: Connection,
    principal: Principal,
    listing_id: uuid.UUID,
    action: str,
    data: msgspec.Struct | None,
    if_match: str | None,
) -> Response[Listing]:
    return tagged(await service.act(conn, principal, listing_id, action))


ACTIONS = {
    "publish": Action(
        "Publish a listing",
        "Make a draft, paused or expired listing of the acting organisation visible and searchable. "
        "Needs an active membership of the listing's network, and an `available_until` in the future "
        "(422 on `available_until` otherwise).",
    ),
    "pause": Action(
        "Pause a listing",
        "Take a published listing out of search for a while; `publish` brings it back.",
    ),
    "archive": Action(
        "Archive a listing",
        "End a listing for good, whatever its status but archived; its transfers and reservations stay.",
    ),
}


@with_actions(LISTING, ACTIONS, answer=Listing, act=_act, etag=True)
class ListingController(Controller):
    path = "/v1/listings"
    tags = ("listings",)

    @post(
        "/",
        operation_id="createListing",
        summary="Create a listing",
        security=BEARER,
        response_headers=[ETAG, LOCATION],
        responses=problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError),
    )
    async def create_listing(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        data: JSONBody[ListingCreate],
    ) -> Response[Listing]:
        """A draft offer or need of the organisation named by `X-Organisation-ID`, in a network it has joined.
        Units must fit the category, waste codes exist in the European Waste Catalogue (hazardous ones set
        `hazardous`); the location defaults to the organisation's site. Publish it with `/publish`."""
        listing = await service.create_listing(conn, principal, data)
        return tagged(listing, 201, Location=f"/v1/listings/{listing.id}")

    @get(
        "/",
        operation_id="listListings",
        summary="List listings",
        responses=problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError),
    )
    async def list_listings(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        network_id: FromQuery[uuid.UUID | None] = None,
        organisation_id: FromQuery[uuid.UUID | None] = None,
        direction: FromQuery[Direction | None] = None,
        nature: FromQuery[Nature | None] = None,
        category_id: FromQuery[str | None] = None,
        status: FromQuery[ListingStatus | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[Listing]:
        """Listings the caller may see, newest first. `category_id` includes its sub-categories. Others'
        listings appear once published by an active member: public ones to everyone, the rest to members
        of the same network acting through `X-Organisation-ID`."""
        filters = {
            "network_id": network_id,
            "organisation_id": organisation_id,
            "direction": direction,
            "nature": nature,
            "category_id": category_id,
            "status": status,
        }
        return await service.list_listings(conn, principal, filters, cursor, limit)

    @get(
        "/{listing_id:uuid}",
        operation_id="getListing",
        summary="Get a listing",
        responses=problem_responses(UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def get_listing(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        listing_id: FromPath[uuid.UUID],
    ) -> Response[Listing]:
        """One listing the caller may see (404 otherwise); its `ETag` is what `PATCH` expects."""
        return tagged(await service.get_listing(conn, principal, listing_id))

    @patch(
        "/{listing_id:uuid}",
        operation_id="updateListing",
        summary="Update a listing",
        security=BEARER,
        responses=problem_responses(*UPDATE_ERRORS),
    )
    async def update_listing(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        listing_id: FromPath[uuid.UUID],
        data: JSONBody[ListingUpdate],
        if_match: IfMatch = None,
    ) -> Response[Listing]:
        """Change fields of a listing of the acting organisation; send `If-Match` with its `ETag`."""
        return tagged(await service.update_listing(conn, principal, listing_id, data, if_match))


class OrganisationListingController(Controller):
    path = "/v1/organisations/{organisation_id:uuid}/listings"
    tags = ("listings",)

    @get(
        "/",
        operation_id="listOrganisationListings",
        summary="List an organisation's listings",
        # 404: an organisation id that is not a UUID matches no route.
        responses=problem_responses(RequestValidationError, UnauthorizedError, ForbiddenError, NotFoundError),
    )
    async def list_organisation_listings(
        self,
        conn: NamedDependency[Connection],
        principal: NamedDependency[Principal],
        organisation_id: FromPath[uuid.UUID],
        status: FromQuery[ListingStatus | None] = None,
        cursor: FromQuery[str | None] = None,
        limit: LimitQuery = 50,
    ) -> Page[Listing]:
        """The organisation's listings that the caller may see (all of them for its own people)."""
        filters = {"organisation_id": organisation_id, "status": status}
        return await service.list_listings(conn, principal, filters, cursor, limit)
