"""Flows and synergies are seen by the network's operators and the organisations concerned only."""

from __future__ import annotations

import asyncpg
from litestar.testing import AsyncTestClient

from api.auth.tokens import LocalIssuer
from api.observability import RequestContext
from tests import factories
from tests.api.synergies.conftest import Park, add_flow
from tests.api.synergies.test_detection import detect
from tests.api.synergies.test_pooling import STORAGE


async def test_a_pooling_is_seen_by_each_of_its_organisations_and_nobody_else(
    client: AsyncTestClient[RequestContext], park: Park, db: asyncpg.Connection, issuer: LocalIssuer
) -> None:
    flows = [
        await add_flow(client, park, organisation, **STORAGE, latitude=45.70 + i / 100)
        for i, organisation in enumerate((park.carpenter, park.packer, park.other))
    ]
    [synergy_id] = (await detect(client, park))["synergy_ids"]
    # A member of the same network that is not involved, and the operator of another network.
    nina = await factories.person(db, issuer, "nina@outsider.fr")
    outsider = await factories.organisation(db, "Outsider", admins=(nina,))
    await factories.membership(db, park.network, outsider, "active")
    oscar = await factories.person(db, issuer, "oscar@elsewhere.fr")
    await factories.network(db, "elsewhere", operators=(oscar,))

    parties = {
        park.carpenter: park.alice.headers(park.carpenter),
        park.packer: park.tom.headers(park.packer),
        park.other: park.eve.headers(park.other),
    }
    for organisation, headers in parties.items():
        seen = await client.get(f"/v1/synergies/{synergy_id}", headers=headers)
        assert seen.status_code == 200, seen.text
        assert seen.json()["allowed_actions"] == []  # they see it and add notes; operators move it
        listed = await client.get(f"/v1/organisations/{organisation}/synergies", headers=headers)
        assert [s["id"] for s in listed.json()["items"]] == [synergy_id]
    # Sharing a synergy does not show a partner's flow: flows stay with their organisation.
    partner_flow = await client.get(f"/v1/flows/{flows[1]['id']}", headers=parties[park.carpenter])
    assert partner_flow.status_code == 404
    partner_flows = await client.get(
        f"/v1/organisations/{park.packer}/flows", headers=parties[park.carpenter]
    )
    assert partner_flows.status_code == 403

    for headers in (nina.headers(outsider), oscar.headers()):
        assert (await client.get(f"/v1/synergies/{synergy_id}", headers=headers)).status_code == 404
        note = await client.post(f"/v1/synergies/{synergy_id}/notes", json={"body": "x"}, headers=headers)
        assert note.status_code == 404
        outcome = await client.post(
            f"/v1/synergies/{synergy_id}/outcomes", json={"euros_saved_cents": 1}, headers=headers
        )
        assert outcome.status_code == 404
        for flow in flows:
            assert (await client.get(f"/v1/flows/{flow['id']}", headers=headers)).status_code == 404
        report = await client.get(f"/v1/networks/{park.network}/synergies/report", headers=headers)
        assert report.status_code == 403
        imported = await client.post(
            f"/v1/networks/{park.network}/flows/import",
            content=b"siret,direction,category,quantity,unit,period\n",
            headers={**headers, "content-type": "text/csv"},
        )
        assert imported.status_code == 403
    mine = await client.get(f"/v1/organisations/{outsider}/synergies", headers=nina.headers(outsider))
    assert mine.json()["items"] == []
    assert await db.fetchval("SELECT count(*) FROM synergy_notes") == 0
