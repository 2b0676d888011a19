"""The transition table enforced: illegal actions, the wrong party, capacity under concurrency,
adjacent and overlapping periods, idempotent creation."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from decimal import Decimal
from typing import Any, get_args

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from api.reservations import service
from api.reservations.lifecycle import RESERVATION, actors_for, allowed_for
from api.reservations.routes import ACTIONS as ROUTES
from schemas.reservations import ReservationAction, ReservationStatus
from tests import factories
from tests.api.reservations.conftest import Park, act, book, held, iso, status_of
from tests.concurrency import concurrent_client
from tests.factories import hours_from_now

STATUSES: tuple[ReservationStatus, ...] = get_args(ReservationStatus)
ACTIONS: tuple[str, ...] = get_args(ReservationAction)


async def _in_status(db: asyncpg.Connection, park: Park, status: str) -> uuid.UUID:
    """A reservation in `status` that the clock leaves there (in progress: started, not ended)."""
    start = hours_from_now(-1 if status == "in_progress" else 24)
    return await factories.reservation(
        db, park.storage, requester=park.requester, status=status, start=start, end=start + timedelta(hours=4)
    )


def _people(transitions: Any) -> list[tuple[str, str]]:
    return sorted({(t.from_status, t.action) for t in transitions if t.from_status and t.actor != "system"})


@pytest.mark.parametrize("status", STATUSES)
async def test_every_illegal_action_is_409_with_the_allowed_ones_and_changes_nothing(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection, status: ReservationStatus
) -> None:
    reservation_id = await _in_status(db, park, status)
    refused = 0
    for action in ACTIONS:
        if actors_for(status, action) - {"system"}:
            continue
        before = await factories.snapshot(db)
        response = await client.post(
            f"/v1/reservations/{reservation_id}/{action}",
            json={"reason": "pour voir"} if ROUTES[action].body else None,
            headers=park.as_provider(),
        )
        assert response.status_code == 409, f"{status} {action}: {response.text}"
        body = response.json()
        assert body["type"].endswith("/illegal-transition")
        assert (body["status"], body["current_status"]) == (409, status)
        assert body["allowed_actions"] == allowed_for(status, ["provider"])
        assert await factories.snapshot(db) == before
        refused += 1
    assert refused >= 2  # every status refuses several of the five actions


def _wrong_callers(park: Park, permitted: set[str]) -> list[tuple[str, dict[str, str]]]:
    roles = {
        "provider": park.as_provider(),
        "requester": park.as_requester(),
        "operator": park.as_operator(),
    }
    return [(name, headers) for name, headers in roles.items() if name not in permitted]


@pytest.mark.parametrize("transition", _people(RESERVATION.transitions), ids="-".join)
async def test_the_wrong_party_is_403_and_a_stranger_404(
    park: Park,
    client: AsyncTestClient[RequestContext],
    db: asyncpg.Connection,
    transition: tuple[ReservationStatus, str],
) -> None:
    status, action = transition
    reservation_id = await _in_status(db, park, status)
    before = await factories.snapshot(db)
    body = {"reason": "pour voir"} if ROUTES[action].body else None
    for name, headers in _wrong_callers(park, actors_for(status, action)):
        response = await client.post(
            f"/v1/reservations/{reservation_id}/{action}", json=body, headers=headers
        )
        assert response.status_code == 403, f"{name} {status} {action}: {response.text}"
    response = await client.post(
        f"/v1/reservations/{reservation_id}/{action}", json=body, headers=park.as_other()
    )
    assert response.status_code == 404
    assert await factories.snapshot(db) == before


async def test_fifty_concurrent_requests_for_a_capacity_of_three_leave_exactly_three_held(
    park: Park, asgi: RequestContext, db: asyncpg.Connection
) -> None:
    slot = {"start": iso(hours_from_now(48)), "end": iso(hours_from_now(52))}

    async def request_then_accept() -> tuple[int, int | None]:
        asked = await client.post(
            f"/v1/listings/{park.storage}/reservations",
            json={**slot, "quantity": 1},
            headers=park.as_requester(),
        )
        assert asked.status_code in (201, 409), asked.text
        if asked.status_code == 409:
            return 409, None
        answer = await client.post(
            f"/v1/reservations/{asked.json()['id']}/accept", headers=park.as_provider()
        )
        assert answer.status_code in (200, 409), answer.text
        if answer.status_code == 409:
            assert answer.json()["type"].endswith("/insufficient-capacity")
            assert answer.json()["free_capacity"] == "0.000"
        return 201, answer.status_code

    async with concurrent_client(asgi) as client:
        outcomes = await asyncio.gather(*(request_then_accept() for _ in range(50)))
    assert [accepted for _, accepted in outcomes].count(200) == 3
    assert await held(db, park.storage) == 3
    assert await db.fetchval("SELECT count(*) FROM reservations WHERE status = 'accepted'") == 3
    # Whatever was refused at request time was refused because 3 were already held.
    assert await db.fetchval("SELECT count(*) FROM reservations") == [a for a, _ in outcomes].count(201)


async def test_fifty_concurrent_accepts_on_a_capacity_of_three_hold_exactly_three(
    park: Park, asgi: RequestContext, db: asyncpg.Connection
) -> None:
    start = hours_from_now(24)
    ids = []
    for i in range(50):  # staggered periods that all cover the same hour
        offset = timedelta(minutes=i)
        ids.append(
            await factories.reservation(
                db,
                park.storage,
                requester=park.requester,
                start=start + offset,
                end=start + offset + timedelta(hours=2),
            )
        )

    async def accept(reservation_id: uuid.UUID) -> int:
        response = await client.post(f"/v1/reservations/{reservation_id}/accept", headers=park.as_provider())
        assert response.status_code in (200, 409), response.text
        return response.status_code

    async with concurrent_client(asgi) as client:
        statuses = await asyncio.gather(*(accept(r) for r in ids))
    assert (statuses.count(200), statuses.count(409)) == (3, 47)
    assert await held(db, park.storage) == 3
    assert await db.fetchval("SELECT count(*) FROM reservations WHERE status = 'requested'") == 47


async def test_adjacent_periods_both_fit_a_capacity_of_one_and_an_overlap_does_not(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    await db.execute("UPDATE listings SET capacity = 1 WHERE id = $1", park.storage)
    a, b, c = hours_from_now(24), hours_from_now(28), hours_from_now(32)
    first = await book(client, park, 1, start=iso(a), end=iso(b))
    second = await book(client, park, 1, start=iso(b), end=iso(c))
    await act(client, first["id"], "accept", park.as_provider())
    await act(client, second["id"], "accept", park.as_provider())
    assert await db.fetchval("SELECT bool_and(whole) FROM reservations") is True
    overlapping = await book(
        client, park, 1, start=iso(a + timedelta(hours=3)), end=iso(b + timedelta(hours=1)), expected=409
    )
    assert overlapping["type"].endswith("/insufficient-capacity")
    assert (overlapping["free_capacity"], overlapping["capacity"]) == ("0.000", "1.000")
    assert await db.fetchval("SELECT count(*) FROM reservations") == 2


async def test_a_request_that_fitted_is_refused_at_accept_once_the_slot_is_taken(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    start = hours_from_now(24)
    early = await book(client, park, 2, start=iso(start), end=iso(start + timedelta(hours=4)))
    late = await book(
        client, park, 2, start=iso(start + timedelta(hours=2)), end=iso(start + timedelta(hours=6))
    )
    await act(client, late["id"], "accept", park.as_provider())
    refused = await act(client, early["id"], "accept", park.as_provider(), expected=409)
    assert refused["free_capacity"] == "1.000"
    assert await status_of(db, early["id"]) == "requested"
    assert await held(db, park.storage) == 2


async def test_the_exclusion_constraint_refuses_overlapping_whole_holdings_even_past_the_service(
    park: Park, db: asyncpg.Connection
) -> None:
    start = hours_from_now(24)
    taken = await factories.reservation(
        db, park.storage, requester=park.requester, quantity=3, status="confirmed", start=start
    )
    await db.execute("UPDATE reservations SET whole = true WHERE id = $1", taken)
    adjacent = await factories.reservation(
        db,
        park.storage,
        requester=park.requester,
        quantity=3,
        status="confirmed",
        start=start + timedelta(hours=4),
    )
    await db.execute("UPDATE reservations SET whole = true WHERE id = $1", adjacent)
    overlapping = await factories.reservation(
        db, park.storage, requester=park.requester, quantity=3, start=start + timedelta(hours=1)
    )
    await db.execute(
        "UPDATE reservations SET whole = true WHERE id = $1", overlapping
    )  # requested: holds nothing
    with pytest.raises(asyncpg.ExclusionViolationError):
        await db.execute("UPDATE reservations SET status = 'accepted' WHERE id = $1", overlapping)


async def test_the_constraint_answers_409_with_the_free_capacity_if_the_check_above_it_failed(
    park: Park,
    client: AsyncTestClient[RequestContext],
    db: asyncpg.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await db.execute("UPDATE listings SET capacity = 1 WHERE id = $1", park.storage)
    first = await book(client, park, 1)
    second = await book(client, park, 1)
    await act(client, first["id"], "accept", park.as_provider())
    # A bug in the arithmetic (everything looks free) is caught by PostgreSQL, and answered as a 409.
    monkeypatch.setattr(service, "min_free", lambda capacity, held, start, end: capacity)
    refused = await act(client, second["id"], "accept", park.as_provider(), expected=409)
    assert refused["type"].endswith("/insufficient-capacity")
    assert await status_of(db, second["id"]) == "requested"
    assert await held(db, park.storage) == 1


async def test_a_retry_with_the_same_idempotency_key_returns_the_first_reservation(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    headers = {**park.as_requester(), "idempotency-key": "booking-2026-001"}
    body = {"start": iso(hours_from_now(24)), "end": iso(hours_from_now(28)), "quantity": 1}
    url = f"/v1/listings/{park.storage}/reservations"
    first = await client.post(url, json=body, headers=headers)
    again = await client.post(url, json=body, headers=headers)
    assert (first.status_code, again.status_code) == (201, 201)
    assert first.json()["id"] == again.json()["id"]
    assert again.headers["idempotent-replayed"] == "true"
    other = await client.post(url, json={**body, "quantity": 2}, headers=headers)
    assert other.status_code == 422
    assert other.json()["type"].endswith("/idempotency-key-reused")
    assert await db.fetchval("SELECT count(*) FROM reservations") == 1


async def test_concurrent_retries_create_one_reservation(
    park: Park, asgi: RequestContext, db: asyncpg.Connection
) -> None:
    headers = {**park.as_requester(), "idempotency-key": "retry-storm"}
    body = {"start": iso(hours_from_now(24)), "end": iso(hours_from_now(28)), "quantity": 1}
    async with concurrent_client(asgi) as client:
        responses = await asyncio.gather(
            *(
                client.post(f"/v1/listings/{park.storage}/reservations", json=body, headers=headers)
                for _ in range(8)
            )
        )
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["id"] for r in responses}) == 1
    assert await db.fetchval("SELECT count(*) FROM reservation_events") == 1


BAD_INPUT: list[tuple[str, dict[str, Any], str]] = [
    ("end before start", {"start": 30, "end": 26}, "body.end"),
    ("empty period", {"start": 30, "end": 30}, "body.end"),
    ("start in the past", {"start": -2, "end": 2}, "body.start"),
    ("before the window", {"start": 1, "end": 5}, "body.start"),
    ("after the window", {"start": 200, "end": 205}, "body.end"),
    ("too short", {"start": 30, "end": 30.5}, "body.end"),
    ("too long", {"start": 30, "end": 60}, "body.end"),
    ("no capacity", {"quantity": 0}, "body.quantity"),
    ("negative capacity", {"quantity": -1}, "body.quantity"),
    ("more than the capacity", {"quantity": 4}, "body.quantity"),
    ("too many decimals", {"quantity": "1.0001"}, "body.quantity"),
    ("huge", {"quantity": "1e30"}, "body.quantity"),
    ("not finite", {"quantity": "Infinity"}, "body.quantity"),
    ("not a number", {"quantity": "beaucoup"}, "body.quantity"),
    ("naive start", {"start": "2030-03-02T08:00:00"}, "body.start"),
    ("naive end", {"end": "2030-03-02T08:00:00"}, "body.end"),
    ("not a date", {"start": "demain"}, "body.start"),
    ("missing end", {"end": None}, "body"),
    ("unknown field", {"quantite": 1}, "body"),
]


@pytest.mark.parametrize(("case", "change", "path"), BAD_INPUT, ids=[c[0] for c in BAD_INPUT])
async def test_bad_input_is_a_422_naming_the_field_and_creates_nothing(
    park: Park,
    client: AsyncTestClient[RequestContext],
    db: asyncpg.Connection,
    case: str,
    change: dict[str, Any],
    path: str,
) -> None:
    await db.execute(
        """UPDATE listings SET available_from = now() + interval '2 hours',
               available_until = now() + interval '100 hours', min_reservation_hours = 2,
               max_reservation_hours = 24 WHERE id = $1""",
        park.storage,
    )
    body: dict[str, Any] = {"start": 30, "end": 34, "quantity": 1, **change}
    for name in ("start", "end"):
        if isinstance(body[name], int | float):
            body[name] = iso(hours_from_now(body[name]))
    body = {k: v for k, v in body.items() if v is not None}
    response = await client.post(
        f"/v1/listings/{park.storage}/reservations", json=body, headers=park.as_requester()
    )
    assert response.status_code == 422, f"{case}: {response.text}"
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["path"].startswith(path), response.text
    assert await db.fetchval("SELECT count(*) FROM reservations") == 0


@pytest.mark.parametrize(
    ("who", "expected", "problem"),
    [
        ("provider", 409, "listing-not-bookable"),
        ("resource", 409, "listing-not-bookable"),
        ("paused", 404, "not-found"),
        ("suspended", 404, "not-found"),
        ("suspended_public", 403, "forbidden"),
        ("provider_suspended", 404, "not-found"),
        ("no_organisation", 403, "forbidden"),
    ],
)
async def test_only_active_members_book_published_services_of_others(
    park: Park,
    client: AsyncTestClient[RequestContext],
    db: asyncpg.Connection,
    who: str,
    expected: int,
    problem: str,
) -> None:
    listing = park.storage
    headers = park.as_requester()
    if who == "provider":
        headers = park.as_provider()
    elif who == "resource":
        listing = await factories.listing(db, park.network, park.provider)
    elif who == "paused":
        await db.execute("UPDATE listings SET status = 'paused' WHERE id = $1", listing)
    elif who.startswith("suspended"):
        await db.execute(
            "UPDATE memberships SET status = 'suspended' WHERE organisation_id = $1", park.requester
        )
        if who == "suspended_public":
            await db.execute("UPDATE listings SET visibility = 'public' WHERE id = $1", listing)
    elif who == "provider_suspended":
        await db.execute(
            "UPDATE memberships SET status = 'suspended' WHERE organisation_id = $1", park.provider
        )
    elif who == "no_organisation":
        headers = park.tom.headers()
        await db.execute("UPDATE listings SET visibility = 'public' WHERE id = $1", listing)
    body = {"start": iso(hours_from_now(24)), "end": iso(hours_from_now(28)), "quantity": 1}
    response = await client.post(f"/v1/listings/{listing}/reservations", json=body, headers=headers)
    assert response.status_code == expected, response.text
    assert response.json()["type"].endswith(problem)
    assert await db.fetchval("SELECT count(*) FROM reservations") == 0


async def test_a_suspended_provider_cannot_accept_and_nothing_is_held(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    rid = (await book(client, park, 1))["id"]
    await db.execute("UPDATE memberships SET status = 'suspended' WHERE organisation_id = $1", park.provider)
    refused = await act(client, rid, "accept", park.as_provider(), expected=403)
    assert "suspended" in refused["detail"]
    assert (await status_of(db, rid), await held(db, park.storage)) == ("requested", Decimal(0))


async def test_a_listing_paused_after_the_request_cannot_be_accepted(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    rid = (await book(client, park, 1))["id"]
    await db.execute("UPDATE listings SET status = 'paused' WHERE id = $1", park.storage)
    refused = await act(client, rid, "accept", park.as_provider(), expected=409)
    assert refused["type"].endswith("/listing-not-bookable")
    assert await status_of(db, rid) == "requested"


async def test_a_reason_sent_to_an_action_that_does_not_read_it_is_422(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    rid = (await book(client, park, 1))["id"]
    refused = await act(client, rid, "accept", park.as_provider(), expected=422, reason="parce que")
    assert refused["errors"][0]["path"] == "body.reason"


async def test_the_provider_cannot_lower_the_capacity_below_what_is_held(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    start = hours_from_now(24)
    for offset, quantity in ((0, 1), (2, 1), (30, 2)):  # two overlap for 2 hours; the third holds 2 alone
        await factories.reservation(
            db,
            park.storage,
            requester=park.requester,
            quantity=quantity,
            status="confirmed",
            start=start + timedelta(hours=offset),
        )
    await factories.reservation(
        db, park.storage, requester=park.requester, quantity=3
    )  # requested: holds nothing
    url = f"/v1/listings/{park.storage}"
    refused = await client.patch(url, json={"capacity": 1}, headers={**park.as_provider(), "if-match": '"1"'})
    assert refused.status_code == 422, refused.text
    assert refused.json()["errors"][0]["path"] == "body.capacity"
    lowered = await client.patch(url, json={"capacity": 2}, headers={**park.as_provider(), "if-match": '"1"'})
    assert lowered.status_code == 200, lowered.text
    assert lowered.json()["capacity"] == "2.000"
