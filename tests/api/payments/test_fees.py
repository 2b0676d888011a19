"""Networks' commission: set by operators, applied to the price fixed at request, ESS rate apart."""

from __future__ import annotations

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from api.payments.pricing import breakdown
from tests.api.payments.conftest import onboard, price
from tests.api.reservations.conftest import Park, book
from tests.stripe_standin import StripeStandIn

Client = AsyncTestClient[RequestContext]


async def _set(client: Client, park: Park, body: dict[str, object], expected: int = 200) -> dict[str, object]:
    path = f"/v1/networks/{park.network}/payment-fees"
    current = await client.get(path, headers=park.as_operator())
    assert current.status_code == 200, current.text
    response = await client.put(
        path, json=body, headers={**park.as_operator(), "If-Match": current.headers["ETag"]}
    )
    assert response.status_code == expected, response.text
    result: dict[str, object] = response.json()
    return result


async def test_fees_default_to_nothing_and_an_ess_provider_gets_the_networks_ess_rate(
    park: Park, paying: Client, standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    shown = (await paying.get(f"/v1/networks/{park.network}/payment-fees", headers=park.as_operator())).json()
    assert (shown["basis_points"], shown["fixed_cents"], shown["ess_basis_points"]) == (0, 0, None)
    await onboard(paying, standin, park)
    await price(db, park, "per_unit", 333)
    assert (await book(paying, park, "1.5"))["price"] == {  # 499.5 cents, half up
        "amount_cents": 500,
        "fee_cents": 0,
        "provider_share_cents": 500,
        "currency": "EUR",
    }
    await _set(
        paying, park, {"basis_points": 750, "fixed_cents": 25, "ess_basis_points": 250, "ess_fixed_cents": 0}
    )
    assert (await book(paying, park, "1.5"))["price"]["fee_cents"] == 38 + 25  # 37.5 rounds half up
    await db.execute("UPDATE organisations SET is_ess = true WHERE id = $1", park.provider)
    assert (await book(paying, park, "1.5"))["price"]["fee_cents"] == 13  # 12.5 rounds half up


async def test_fees_need_both_ess_parts_and_an_operator(park: Park, paying: Client) -> None:
    problem = await _set(paying, park, {"ess_basis_points": 100}, expected=422)
    assert problem["errors"] == [
        {
            "path": "body.ess_fixed_cents",
            "message": "set both ESS parts of the fee, or neither",
            "source": "body",
        }
    ]
    path = f"/v1/networks/{park.network}/payment-fees"
    refused = await paying.put(
        path, json={"basis_points": 1}, headers={**park.as_provider(), "If-Match": '"1"'}
    )
    assert refused.status_code == 403
    stale = await paying.put(
        path, json={"basis_points": 1}, headers={**park.as_operator(), "If-Match": '"999"'}
    )
    assert stale.status_code == 412


@pytest.mark.parametrize(
    ("amount", "points", "fixed", "fee"),
    [
        (1000, 0, 0, 0),
        (1000, 250, 0, 25),
        (1001, 250, 0, 25),
        (1002, 250, 0, 25),
        (1020, 250, 0, 26),
        (100, 0, 500, 100),
    ],
)
def test_the_fee_rounds_half_up_and_never_exceeds_the_amount(
    amount: int, points: int, fixed: int, fee: int
) -> None:
    split = breakdown(amount, "EUR", points, fixed)
    assert (split.fee_cents, split.provider_share_cents) == (fee, amount - fee)
