"""Rules for listings: creating, changing, publishing, reading and expiring them."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import msgspec

from api.auth import policy
from api.auth.principal import Principal
from api.db import outbox
from api.db.pool import Connection
from api.errors import NotFoundError, RequestValidationError
from api.http import check_if_match, decode_cursor, encode_cursor
from api.listings import repository, rules
from api.listings.lifecycle import LISTING
from api.listings.rules import Draft
from api.reservations import capacity
from api.reservations import repository as reservations
from schemas.listings import Listing, ListingCreate, ListingUpdate
from schemas.pagination import Page


def _invalid(errors: rules.FieldErrors) -> RequestValidationError:
    summary = "; ".join(f"{e['path']}: {e['message']}" for e in errors)
    return RequestValidationError(summary, extra={"errors": errors})


async def _checked(conn: Connection, draft: Draft) -> Draft:
    codes = [rules.normalise_waste_code(draft.waste_code)] if draft.waste_code else []
    refs = await repository.load_references(conn, draft.network_id, [draft.category_id], codes)
    draft, errors = rules.check(draft, refs)
    if errors:
        raise _invalid(errors)
    return draft


async def _announce(conn: Connection, listing: Listing) -> None:
    await outbox.emit(
        conn, "listing.changed", listing.id, {"status": listing.status, "version": listing.version}
    )


async def create_listing(conn: Connection, principal: Principal, data: ListingCreate) -> Listing:
    """A new draft listing of the acting organisation, located at its site unless a point is given."""
    user = policy.authenticated(principal)
    organisation_id = policy.acting_organisation(principal)
    status = await repository.membership_status(conn, data.network_id, organisation_id)
    policy.listing_author(principal, status)
    latitude, longitude = data.latitude, data.longitude
    if (latitude is None) != (longitude is None):
        raise _invalid(
            [{"path": "body.latitude", "message": "give latitude and longitude together", "source": "body"}]
        )
    if latitude is None or longitude is None:
        latitude, longitude = await repository.organisation_site(conn, organisation_id)
        if latitude is None or longitude is None:
            raise _invalid(
                [
                    {
                        "path": "body.latitude",
                        "message": "your organisation has no site; give a point",
                        "source": "body",
                    }
                ]
            )
    fields = msgspec.structs.asdict(data)
    fields.update(organisation_id=organisation_id, latitude=latitude, longitude=longitude)
    draft = await _checked(conn, msgspec.convert(fields, Draft, from_attributes=False))
    if draft.direction == "offer" and draft.quantity is not None:
        draft = msgspec.structs.replace(draft, available_quantity=draft.quantity)
    listing = await repository.insert(conn, draft, user.id)
    await repository.insert_event(conn, listing.id, "create", None, "draft", user.id)
    await _announce(conn, listing)
    return listing


async def get_listing(conn: Connection, principal: Principal, listing_id: uuid.UUID) -> Listing:
    """A listing the caller may see, else 404 (whether it exists is not revealed)."""
    listing = await repository.get_visible(
        conn,
        listing_id,
        principal.acting_organisation_id,
        list(principal.operator_networks),
        principal.is_platform_admin,
    )
    if listing is None:
        raise NotFoundError("no such listing")
    return listing


async def _owned_for_update(conn: Connection, principal: Principal, listing_id: uuid.UUID) -> Listing:
    listing = await repository.get(conn, listing_id, for_update=True)
    visible = listing is not None and (
        await repository.get_visible(
            conn,
            listing_id,
            principal.acting_organisation_id,
            list(principal.operator_networks),
            principal.is_platform_admin,
        )
        is not None
    )
    if listing is None:
        policy.authenticated(principal)
        raise NotFoundError("no such listing")
    policy.listing_owner(principal, listing.organisation_id, visible=visible)
    status = await repository.membership_status(conn, listing.network_id, listing.organisation_id)
    policy.listing_editable(status)
    return listing


async def update_listing(
    conn: Connection, principal: Principal, listing_id: uuid.UUID, data: ListingUpdate, if_match: str | None
) -> Listing:
    """Change a listing's fields; the whole result is checked again, as on creation."""
    listing = await _owned_for_update(conn, principal, listing_id)
    check_if_match(if_match, listing.version)
    changes = {k: v for k, v in msgspec.structs.asdict(data).items() if v is not msgspec.UNSET}
    current = {name: getattr(listing, name) for name in Draft.__struct_fields__}
    current.update(changes)
    if "quantity" in changes and listing.direction == "offer" and listing.quantity is not None:
        taken = listing.quantity - (listing.available_quantity or 0)
        new_quantity = changes["quantity"]
        if new_quantity is not None and new_quantity < taken:
            raise _invalid(
                [
                    {
                        "path": "body.quantity",
                        "message": f"{taken} are already promised; cannot go lower",
                        "source": "body",
                    }
                ]
            )
        current["available_quantity"] = None if new_quantity is None else new_quantity - taken
    if (
        changes.get("capacity") is not None
        and listing.capacity is not None
        and changes["capacity"] < listing.capacity
    ):
        # The listing is locked: no accept can add to what is held while this runs.
        held = capacity.peak(await reservations.held_ahead(conn, listing_id))
        if changes["capacity"] < held:
            raise _invalid(
                [
                    {
                        "path": "body.capacity",
                        "message": f"{held} are held by reservations at their peak; cannot go lower",
                        "source": "body",
                    }
                ]
            )
    draft = await _checked(conn, msgspec.convert(current, Draft))
    updated = await repository.update(conn, listing_id, draft)
    await _announce(conn, updated)
    return updated


async def act(conn: Connection, principal: Principal, listing_id: uuid.UUID, action: str) -> Listing:
    """Publish, pause or archive a listing of the acting organisation: the step `LISTING` allows from
    its status (409 otherwise), with its event and outbox row. Every listing action comes here."""
    listing = await _owned_for_update(conn, principal, listing_id)
    user = policy.authenticated(principal)
    step = LISTING.step(listing.status, action, "owner")
    if step.to_status == "published":
        status = await repository.membership_status(conn, listing.network_id, listing.organisation_id)
        policy.listing_can_publish(status)
        if listing.available_until is not None and listing.available_until <= datetime.now(UTC):
            raise _invalid(
                [
                    {
                        "path": "available_until",
                        "message": "is in the past; change it before publishing",
                        "source": "body",
                    }
                ]
            )
    updated = await repository.set_status(conn, listing_id, step.to_status)
    await repository.insert_event(conn, listing_id, action, listing.status, step.to_status, user.id)
    await _announce(conn, updated)
    return updated


async def expire_due(conn: Connection) -> int:
    """Expire listings past their `available_until`; safe to run from several processes at once."""
    expired = await repository.expire_due(conn)
    for listing_id, old_status in expired:
        LISTING.step(old_status, "expire", "system")
        await repository.insert_event(conn, listing_id, "expire", old_status, "expired", None)
        await outbox.emit(conn, "listing.changed", listing_id, {"status": "expired"})
    return len(expired)


async def list_listings(
    conn: Connection, principal: Principal, filters: dict[str, Any], cursor: str | None, limit: int
) -> Page[Listing]:
    """Visible listings matching the filters, newest first."""
    after = None
    if cursor is not None:
        created_at, raw_id = decode_cursor(cursor, 2)
        try:
            after = (datetime.fromisoformat(str(created_at)), uuid.UUID(str(raw_id)))
        except ValueError:
            decode_cursor("", 2)
    rows = await repository.search_page(
        conn,
        acting_organisation=principal.acting_organisation_id,
        operated=list(principal.operator_networks),
        platform_admin=principal.is_platform_admin,
        filters=filters,
        after=after,
        limit=limit + 1,
    )
    last = rows[limit - 1] if len(rows) > limit else None
    next_cursor = encode_cursor(last.created_at.isoformat(), str(last.id)) if last else None
    return Page(items=rows[:limit], next_cursor=next_cursor)
