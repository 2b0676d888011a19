"""The operators' payments report, per provider and month, as JSON and CSV."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
from litestar.testing import AsyncTestClient

from api.observability import RequestContext
from tests.api.payments.conftest import deliver, onboard, price
from tests.api.reservations.conftest import Park, act, book, period
from tests.stripe_standin import StripeStandIn


async def test_the_report_sums_gross_fees_refunds_and_net_to_providers(
    park: Park, paying: AsyncTestClient[RequestContext], standin: StripeStandIn, db: asyncpg.Connection
) -> None:
    await onboard(paying, standin, park)
    await price(db, park, "fixed", 10_000)
    await db.execute("UPDATE networks SET fee_basis_points = 1000 WHERE id = $1", park.network)
    ids = []
    for _ in range(2):
        rid = (await book(paying, park, 1, **period(48)))["id"]
        await act(paying, rid, "accept", park.as_provider())
        [intent_id] = [i for i, v in standin.intents.items() if v["metadata"]["reservation_id"] == rid]
        standin.pay(intent_id)
        await deliver(paying, standin, "payment_intent.succeeded", dict(standin.intents[intent_id]))
        ids.append(rid)
    # The requester cancels one 48 h ahead under the flexible policy: refunded in full.
    await act(paying, ids[0], "cancel", park.as_requester(), reason="Plus besoin")
    path = f"/v1/networks/{park.network}/payments"
    answer = await paying.get(path, headers=park.as_operator())
    assert answer.status_code == 200, answer.text
    month = datetime.now(UTC).strftime("%Y-%m")
    [row] = answer.json()["rows"]
    assert row == {
        "organisation_id": str(park.provider),
        "organisation_name": "Provider",
        "month": month,
        "currency": "EUR",
        "payments": 2,
        "gross_cents": 20_000,
        "fee_cents": 2_000,
        "refund_cents": 10_000,
        "net_to_providers_cents": 20_000 - 2_000 - 9_000,
    }
    as_csv = await paying.get(path, params={"format": "csv"}, headers=park.as_operator())
    assert as_csv.headers["content-type"].startswith("text/csv")
    lines = as_csv.text.splitlines()
    assert lines[0].startswith("organisation_id,organisation_name,month")
    assert lines[1].endswith(",2,20000,2000,10000,9000")
    empty = await paying.get(path, params={"to": "2020-01-01T00:00:00Z"}, headers=park.as_operator())
    assert empty.json()["rows"] == []
    refused = await paying.get(path, headers=park.as_provider())
    assert refused.status_code == 403
