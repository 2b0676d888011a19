from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from api.reservations.capacity import Free, Held, free_intervals, min_free, peak
from tests import factories
from tests.api.reservations.conftest import Park, iso
from tests.factories import hours_from_now

T0 = datetime(2030, 3, 2, 8, tzinfo=UTC)


def at(hours: float) -> datetime:
    return T0 + timedelta(hours=hours)


def test_free_intervals_add_overlaps_and_never_count_adjacent_periods_together() -> None:
    held = [Held(at(1), at(3), Decimal(1)), Held(at(2), at(4), Decimal(2)), Held(at(4), at(5), Decimal(3))]
    assert free_intervals(Decimal(3), held, at(0), at(6)) == [
        Free(at(0), at(1), Decimal(3)),
        Free(at(1), at(2), Decimal(2)),
        Free(at(2), at(3), Decimal(0)),
        Free(at(3), at(4), Decimal(1)),
        Free(at(4), at(5), Decimal(0)),
        Free(at(5), at(6), Decimal(3)),
    ]
    assert min_free(Decimal(3), held, at(3), at(4)) == 1
    assert min_free(Decimal(3), held, at(5), at(6)) == 3
    assert peak(held) == 3
    assert peak(held[:2]) == 3
    assert peak([held[0], held[2]]) == 3
    assert peak([Held(at(0), at(1), Decimal(1)), Held(at(1), at(2), Decimal(1))]) == 1
    assert peak([]) == 0


def test_free_intervals_clip_to_the_window_and_merge_equal_neighbours() -> None:
    held = [Held(at(-5), at(2), Decimal(1)), Held(at(2), at(9), Decimal(1))]
    assert free_intervals(Decimal(2), held, at(0), at(4)) == [Free(at(0), at(4), Decimal(1))]
    assert free_intervals(Decimal(2), [], at(0), at(4)) == [Free(at(0), at(4), Decimal(2))]
    assert free_intervals(Decimal(2), held, at(4), at(4)) == []


async def test_availability_shows_exactly_what_held_reservations_leave_free(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    t = hours_from_now(24)

    def h(hours: int) -> datetime:
        return t + timedelta(hours=hours)

    await db.execute("UPDATE listings SET available_until = $2 WHERE id = $1", park.storage, h(5))
    for status, quantity, start, end in (
        ("accepted", 1, 1, 3),
        ("confirmed", 2, 2, 4),
        ("requested", 3, 0, 5),  # holds nothing
        ("cancelled", 3, 0, 5),  # holds nothing
    ):
        await factories.reservation(
            db,
            park.storage,
            requester=park.requester,
            quantity=quantity,
            status=status,
            start=h(start),
            end=h(end),
        )
    response = await client.get(
        f"/v1/listings/{park.storage}/availability",
        params={"from": iso(h(0)), "to": iso(h(6))},
        headers=park.as_requester(),
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert (body["capacity"], body["unit"], body["start"], body["end"]) == (
        "3.000",
        "m2",
        iso(h(0)),
        iso(h(6)),
    )
    assert [(i["start"], i["end"], i["free_capacity"]) for i in body["intervals"]] == [
        (iso(h(0)), iso(h(1)), "3.000"),
        (iso(h(1)), iso(h(2)), "2.000"),
        (iso(h(2)), iso(h(3)), "0.000"),
        (iso(h(3)), iso(h(4)), "1.000"),
        (iso(h(4)), iso(h(5)), "3.000"),  # and nothing after the listing's availability ends
    ]


async def test_availability_defaults_to_the_next_thirty_days(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    body = (await client.get(f"/v1/listings/{park.storage}/availability", headers=park.as_requester())).json()
    start, end = datetime.fromisoformat(body["start"]), datetime.fromisoformat(body["end"])
    assert end - start == timedelta(days=30)
    assert [(i["start"], i["end"], i["free_capacity"]) for i in body["intervals"]] == [
        (body["start"], body["end"], "3.000")
    ]


@pytest.mark.parametrize(
    ("params", "path"),
    [
        ({"from": "2030-03-02T08:00:00"}, "query.from"),
        ({"from": "2030-03-02T08:00:00Z", "to": "2030-03-02T08:00:00Z"}, "query.to"),
        ({"from": "2030-03-02T08:00:00Z", "to": "2031-03-10T08:00:00Z"}, "query.to"),
        ({"to": "2030-03-02T08:00:00+01:00", "from": "2030-03-05T00:00:00Z"}, "query.to"),
        ({"from": "lundi"}, "query.from"),
    ],
)
async def test_a_bad_window_is_422_naming_the_parameter(
    park: Park, client: AsyncTestClient[RequestContext], params: dict[str, str], path: str
) -> None:
    response = await client.get(
        f"/v1/listings/{park.storage}/availability", params=params, headers=park.as_requester()
    )
    assert response.status_code == 422, response.text
    assert response.json()["errors"][0]["path"] == path


async def test_a_resource_has_no_availability_to_show(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    pallets = await factories.listing(db, park.network, park.provider)
    response = await client.get(f"/v1/listings/{pallets}/availability", headers=park.as_requester())
    assert response.status_code == 409
    assert response.json()["type"].endswith("/listing-not-bookable")
