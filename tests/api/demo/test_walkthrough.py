"""The README's demo walk-through: a new user books a free shared service from request to completed,
and a priced one is refused at request while payments are not configured."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import asyncpg
from litestar.testing import AsyncTestClient

from api.auth.tokens import LOCAL_ISSUER, LocalIssuer
from api.demo import services
from api.demo.loader import load_demo
from api.observability import RequestContext
from api.reservations.service import sweep_due
from tests.factories import hours_from_now

LEA = "lea@envie-rhone.demo.symbiose.eco"  # admin of Envie Rhône, the requester
SOFIA = "sofia@rhone-palettes.demo.symbiose.eco"  # admin of Rhône Palettes Services, the provider


def _iso(hours: float) -> str:
    return hours_from_now(hours).isoformat().replace("+00:00", "Z")


async def _headers(
    client: AsyncTestClient[RequestContext], issuer: LocalIssuer, email: str
) -> dict[str, str]:
    token = {"authorization": f"Bearer {issuer.mint(email=email)}"}
    me = (await client.get("/v1/me", headers=token)).json()
    return {**token, "x-organisation-id": me["organisations"][0]["id"]}


async def _offers(
    client: AsyncTestClient[RequestContext], headers: dict[str, str], price: str
) -> list[dict[str, Any]]:
    response = await client.get(
        "/v1/search/listings",
        params={"direction": "offer", "nature": "service", "price": price, "hits_per_page": 100},
        headers=headers,
    )
    assert response.status_code == 200, response.text
    hits: list[dict[str, Any]] = response.json()["hits"]
    return hits


async def test_the_demo_offers_free_storage_equipment_and_guarding_besides_paid_services(
    db: asyncpg.Connection, client: AsyncTestClient[RequestContext], issuer: LocalIssuer
) -> None:
    await load_demo(db, LOCAL_ISSUER)
    lea = await _headers(client, issuer, LEA)
    free = await _offers(client, lea, "free")
    assert {h["price_kind"] for h in free} == {"free"}
    kinds = {h["category_id"].split(".")[1] for h in free}
    assert {"storage", "equipment_loan", "security"} <= kinds
    assert {s[3] for s in services.SHARED_SERVICES if s[7] == "free"} <= {h["title"] for h in free}
    assert await _offers(client, lea, "paid")


async def test_a_new_user_books_a_free_service_from_request_to_completed(
    db: asyncpg.Connection, client: AsyncTestClient[RequestContext], issuer: LocalIssuer
) -> None:
    await load_demo(db, LOCAL_ISSUER)
    lea, sofia = await _headers(client, issuer, LEA), await _headers(client, issuer, SOFIA)
    storage = next(
        h for h in await _offers(client, lea, "free") if h["title"] == services.SHARED_SERVICES[0][3]
    )
    assert storage["organisation_id"] == sofia["x-organisation-id"]

    requested = await client.post(
        f"/v1/listings/{storage['id']}/reservations",
        json={"start": _iso(2), "end": _iso(26), "quantity": "50", "message": "Stock de palettes"},
        headers=lea,
    )
    assert requested.status_code == 201, requested.text
    reservation = requested.json()
    assert reservation["status"] == "requested"

    async def act(action: str, headers: dict[str, str]) -> str:
        response = await client.post(f"/v1/reservations/{reservation['id']}/{action}", headers=headers)
        assert response.status_code == 200, f"{action}: {response.text}"
        status: str = response.json()["status"]
        return status

    assert await act("accept", sofia) == "accepted"
    assert await act("confirm", lea) == "confirmed"
    # Time passes: the period starts, and the clock (the sweep) starts the reservation.
    await db.execute(
        "UPDATE reservations SET period = tstzrange(lower(period) - $2::interval, upper(period), '[)') "
        "WHERE id = $1::uuid",
        reservation["id"],
        timedelta(hours=3),
    )
    async with db.transaction():
        await sweep_due(db)
    assert (await client.get(f"/v1/reservations/{reservation['id']}", headers=lea)).json()[
        "status"
    ] == "in_progress"
    assert await act("complete", sofia) == "completed"


async def test_a_paid_demo_service_is_refused_at_request_while_payments_are_not_configured(
    db: asyncpg.Connection, client: AsyncTestClient[RequestContext], issuer: LocalIssuer
) -> None:
    await load_demo(db, LOCAL_ISSUER)
    lea = await _headers(client, issuer, LEA)
    paid_title = next(s[3] for s in services.SHARED_SERVICES if s[7] != "free" and s[0] == 1)
    paid = next(h for h in await _offers(client, lea, "paid") if h["title"] == paid_title)
    before = await db.fetchval("SELECT count(*) FROM reservations")
    response = await client.post(
        f"/v1/listings/{paid['id']}/reservations",
        json={"start": _iso(48), "end": _iso(72), "quantity": "10"},
        headers=lea,
    )
    assert response.status_code == 409, response.text
    assert response.json()["type"].endswith("/payments-not-configured")
    assert await db.fetchval("SELECT count(*) FROM reservations") == before
