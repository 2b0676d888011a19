"""Rules for matches: which listings fit one, in what order, and turning a match into an exchange.

Candidates come from SQL (api/matches/repository.py): the `MAX_CANDIDATES` nearest of
the listing's own category, then of its family, as detection preselects. Python scores them
(api/matches/explain.py), ranks them by score and pages through that ranking with a signed cursor
(score, id). A match request creates the transfer or reservation through their own services, then
links it to the synergy following the pair, created or reused (api/matches/lifecycle.py).
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from decimal import Decimal

from api.auth import policy
from api.auth.principal import Principal
from api.db import idempotency, outbox
from api.db.pool import Connection
from api.errors import ConflictError, ForbiddenError, RequestValidationError
from api.http import decode_cursor, encode_cursor, invalid_cursor
from api.lifecycle import SYSTEM
from api.listings.service import get_listing
from api.matches import explain, repository
from api.matches.lifecycle import MATCHED, PARTY
from api.reservations import service as reservations
from api.search.repository import active_networks
from api.synergies import repository as synergies
from api.synergies import scoring
from api.synergies.candidate import Candidate
from api.synergies.detect import propose
from api.synergies.service import get_synergy
from api.transfers import service as transfers
from schemas.listings import Listing
from schemas.matches import Match, MatchExchange, MatchRequestCreate
from schemas.pagination import Page
from schemas.reservations import ReservationCreate
from schemas.transfers import TransferCreate

MAX_CANDIDATES = 50
"""Candidates scored per listing: the nearest of its category first, then of its family."""


class NotAMatchError(ConflictError):
    slug, title_text = "not-a-match", "These two listings do not match"


class OwnListingError(ConflictError):
    slug, title_text = "own-listing", "An organisation does not exchange with itself"


class BookedByNeedError(ConflictError):
    slug, title_text = "booked-by-need", "A service is booked by the organisation that needs it"


class OtherNetworkError(ConflictError):
    slug, title_text = "other-network", "An offer is proposed to needs of its own network only"


def _invalid(path: str, message: str) -> RequestValidationError:
    return RequestValidationError(
        f"{path}: {message}", extra={"errors": [{"path": path, "message": message, "source": "body"}]}
    )


async def _networks(conn: Connection, principal: Principal) -> list[uuid.UUID]:
    """The networks whose network-only listings the caller sees (search's viewer)."""
    acting = principal.acting_organisation_id
    member_of = frozenset() if acting is None else await active_networks(conn, acting)
    return list(policy.search_viewer(principal, member_of).networks)


def _today() -> datetime:
    """Availability is scored from the start of the day, so that pages agree within a day."""
    return datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _pair(listing: Listing, other: Listing) -> tuple[Listing, Listing]:
    return (listing, other) if listing.direction == "offer" else (other, listing)


def _after(cursor: str | None) -> tuple[float, str] | None:
    if cursor is None:
        return None
    score, last = decode_cursor(cursor, 2)
    if not isinstance(score, int | float) or not isinstance(last, str):
        raise invalid_cursor()
    return float(score), last


async def list_matches(
    conn: Connection,
    principal: Principal,
    listing_id: uuid.UUID,
    *,
    radius_km: float | None,
    category: str | None,
    cursor: str | None,
    limit: int,
) -> Page[Match]:
    """The listings that fit `listing_id`, best first, among those the caller may see."""
    policy.authenticated(principal)
    listing = await get_listing(conn, principal, listing_id)
    after = _after(cursor)
    config = scoring.current()
    found = await repository.candidates(
        conn,
        listing,
        networks=await _networks(conn, principal),
        metres=(radius_km if radius_km is not None else config.max_distance_km) * 1000,
        category=category,
        limit=MAX_CANDIDATES,
    )
    today = _today()
    ranked = sorted(
        (explain.score(config, listing, c, today) for c in found),
        key=lambda s: (-s.score, str(s.candidate.listing.id)),
    )
    if after is not None:
        ranked = [s for s in ranked if (-s.score, str(s.candidate.listing.id)) > (-after[0], after[1])]
    page, more = ranked[:limit], len(ranked) > limit
    items = [
        Match(
            listing=s.candidate.listing,
            score=s.score,
            explanation=s.explanation,
            synergy_id=s.candidate.synergy_id,
        )
        for s in page
    ]
    next_cursor = encode_cursor(page[-1].score, str(page[-1].candidate.listing.id)) if more else None
    return Page(items=items, next_cursor=next_cursor)


def _why_not(listing: Listing, other: Listing) -> str:
    if other.direction == listing.direction:
        return f"both are {listing.direction}s"
    if (other.nature == "service") != (listing.nature == "service"):
        return "a service matches a service, a resource a resource"
    if other.category_id.split(".")[0] != listing.category_id.split(".")[0]:
        return f"{other.category_id} is not in the family of {listing.category_id}"
    return (
        f"{other.id} is not among what fits {listing.id}: published, available, within "
        f"{scoring.current().max_distance_km:g} km, in the same waste code chapter"
    )


def _transfer_body(
    listing: Listing, offer: Listing, need: Listing, data: MatchRequestCreate
) -> TransferCreate:
    for name in ("start", "end"):
        if getattr(data, name) is not None:
            raise _invalid(f"body.{name}", "only for a service reservation")
    quantity = data.quantity
    if quantity is None:
        if need.quantity is None or offer.available_quantity is None or need.unit != offer.unit:
            raise _invalid(
                "body.quantity", f"required: the offer counts in {offer.unit}, the need in {need.unit}"
            )
        quantity = min(need.quantity, offer.available_quantity)
    proposing = listing.direction == "offer"
    return TransferCreate(
        quantity=Decimal(quantity), offer_listing_id=offer.id if proposing else None, message=data.message
    )


def _reservation_body(data: MatchRequestCreate) -> ReservationCreate:
    if data.start is None:
        raise _invalid("body.start", "required for a service reservation")
    if data.end is None:
        raise _invalid("body.end", "required for a service reservation")
    if data.quantity is None:
        raise _invalid("body.quantity", "required for a service reservation")
    return ReservationCreate(start=data.start, end=data.end, quantity=data.quantity, message=data.message)


async def _checked_pair(
    conn: Connection, principal: Principal, listing_id: uuid.UUID, other_id: uuid.UUID
) -> tuple[Listing, Listing]:
    policy.authenticated(principal)
    listing = await get_listing(conn, principal, listing_id)
    acting = policy.acting_organisation(principal)
    if acting != listing.organisation_id:
        raise ForbiddenError("only the organisation of this listing turns its matches into exchanges")
    if other_id == listing.id:
        raise OwnListingError("a listing is not a match of itself")
    other = await get_listing(conn, principal, other_id)
    if other.organisation_id == listing.organisation_id:
        raise OwnListingError("both listings are your organisation's")
    if other.direction == listing.direction or (other.nature == "service") != (listing.nature == "service"):
        raise NotAMatchError(_why_not(listing, other))
    if listing.nature == "service" and listing.direction == "offer":
        raise BookedByNeedError("the need's organisation asks for the reservation from its need's matches")
    return listing, other


async def request_match(
    conn: Connection,
    principal: Principal,
    listing_id: uuid.UUID,
    other_id: uuid.UUID,
    data: MatchRequestCreate,
    idempotency_key: str | None,
    *,
    payments_configured: bool = False,
) -> tuple[MatchExchange, bool]:
    """Turn the match `other_id` of `listing_id` into a transfer or reservation request carried by a
    synergy; (result, replayed)."""
    user = policy.authenticated(principal)
    listing, other = await _checked_pair(conn, principal, listing_id, other_id)
    offer, need = _pair(listing, other)
    service = listing.nature == "service"
    body = _reservation_body(data) if service else _transfer_body(listing, offer, need, data)
    target = offer.id if service or listing.direction == "need" else need.id
    if idempotency_key is not None:
        earlier = await _replayed(conn, principal, service, target, body, idempotency_key)
        if earlier is not None:
            return earlier, True
    if not service and listing.direction == "offer" and need.network_id != offer.network_id:
        raise OtherNetworkError("the need's organisation may ask for your offer from its need's matches")
    config = scoring.current()
    found = await repository.candidate(
        conn,
        listing,
        other.id,
        networks=await _networks(conn, principal),
        metres=config.max_distance_km * 1000,
    )
    if found is None:
        raise NotAMatchError(_why_not(listing, other))
    scored = explain.score(config, listing, found, _today())
    if isinstance(body, ReservationCreate):
        reservation, replayed = await reservations.create_reservation(
            conn, principal, target, body, idempotency_key, payments_configured=payments_configured
        )
        exchange_network, ids = reservation.network_id, {"reservation_id": reservation.id}
    else:
        transfer, replayed = await transfers.create_transfer(conn, principal, target, body, idempotency_key)
        exchange_network, ids = transfer.network_id, {"transfer_id": transfer.id}
    if not replayed:
        await _carry(conn, user.id, offer, need, scored, exchange_network, **ids)
    return await _result(conn, principal, **ids), replayed


async def _replayed(
    conn: Connection,
    principal: Principal,
    service: bool,
    target: uuid.UUID,
    body: TransferCreate | ReservationCreate,
    key: str,
) -> MatchExchange | None:
    """The first result of a retried request (its key already bound to this same request)."""
    table = idempotency.RESERVATION_KEYS if service else idempotency.TRANSFER_KEYS
    owner = idempotency.key_owner(principal)
    row = await conn.fetchrow(table.read, owner.user_id, owner.organisation_id, key)
    if row is None or row[1] is None or row[0] != idempotency.request_hash(target, body):
        return None  # new, or not this request: the exchange's service claims or refuses the key
    if service:
        return await _result(conn, principal, reservation_id=row[1])
    return await _result(conn, principal, transfer_id=row[1])


async def _result(
    conn: Connection,
    principal: Principal,
    *,
    transfer_id: uuid.UUID | None = None,
    reservation_id: uuid.UUID | None = None,
) -> MatchExchange:
    synergy_id = await repository.synergy_of_exchange(
        conn, transfer_id=transfer_id, reservation_id=reservation_id
    )
    assert synergy_id is not None  # linked in the transaction that created the exchange
    synergy = await get_synergy(conn, principal, synergy_id)
    if transfer_id is not None:
        transfer = await transfers.get_transfer(conn, principal, transfer_id)
        return MatchExchange(synergy=synergy, kind="transfer", transfer=transfer)
    assert reservation_id is not None
    reservation = await reservations.get_reservation(conn, principal, reservation_id)
    return MatchExchange(synergy=synergy, kind="reservation", reservation=reservation)


async def _carry(
    conn: Connection,
    user_id: uuid.UUID,
    offer: Listing,
    need: Listing,
    scored: explain.Scored,
    network_id: uuid.UUID,
    *,
    transfer_id: uuid.UUID | None = None,
    reservation_id: uuid.UUID | None = None,
) -> None:
    """Link the new exchange to the synergy following the pair, proposed if none is open, moved to
    `in_progress` if it is not there yet."""
    key = explain.inputs_key(offer, need)
    synergy = await repository.open_synergy_for_update(conn, network_id, key)
    fingerprint = explain.fingerprint(offer, need)
    for attempt in (fingerprint, _salted(fingerprint, transfer_id or reservation_id)):
        if synergy is not None:
            break
        MATCHED.step(None, "match", SYSTEM)
        proposal = Candidate(
            kind="substitution",
            category_id=offer.category_id,
            organisations=[offer.organisation_id, need.organisation_id],
            flows=[],
            listings=[offer.id, need.id],
            inputs_key=key,
            fingerprint=attempt,
            score=scored.score,
            explanation=scored.explanation,
        )
        await propose(conn, network_id, [proposal], action="match")
        # Nothing proposed: that fingerprint is taken; by a request that just opened the pair's synergy (reuse
        # it), or by a closed one (dismissed, abandoned, realised: open a new one beside it).
        synergy = await repository.open_synergy_for_update(conn, network_id, key)
    assert synergy is not None  # the salted fingerprint is new
    if synergy.status != "in_progress":
        step = MATCHED.step(synergy.status, "request", PARTY)
        await synergies.set_status(conn, synergy.id, step.to_status)
        await synergies.insert_event(conn, synergy.id, "request", synergy.status, step.to_status, user_id)
        await outbox.emit(
            conn, "synergy.changed", synergy.id, {"status": step.to_status, "action": "request"}
        )
    linked = await synergies.link_exchange(
        conn, synergy.id, transfer_id=transfer_id, reservation_id=reservation_id, created_by=user_id
    )
    assert linked  # the exchange was created in this transaction


def _salted(fingerprint: str, exchange_id: uuid.UUID | None) -> str:
    return hashlib.sha256(f"{fingerprint}|exchange:{exchange_id}".encode()).hexdigest()
