"""Webhook endpoints: who manages them, what URLs they take, their secret shown once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.observability import RequestContext
from api.settings import Settings
from api.webhooks.safety import UnsafeUrlError, check_url
from tests.api.webhooks.conftest import Park

Client = AsyncTestClient[RequestContext]
URL = "http://127.0.0.1:9/hook"


async def create(
    client: Client, headers: dict[str, str], expected: int = 201, **fields: Any
) -> dict[str, Any]:
    response = await client.post("/v1/webhook-endpoints", json={"url": URL, **fields}, headers=headers)
    assert response.status_code == expected, response.text
    body: dict[str, Any] = response.json()
    return body


async def test_the_secret_is_shown_once_and_the_endpoint_is_managed_by_its_owner(
    client: Client, park: Park
) -> None:
    made = await create(client, park.as_giver(), event_types=["transfer.*"], description="ERP")
    assert made["organisation_id"] == str(park.giver)
    assert len(made["secret"]) >= len("whsec_") + 32
    got = await client.get(f"/v1/webhook-endpoints/{made['id']}", headers=park.as_giver())
    assert got.status_code == 200
    assert "secret" not in got.json()
    for stranger in (park.as_taker(), park.eve.headers(park.other), park.as_operator()):
        assert (await client.get(f"/v1/webhook-endpoints/{made['id']}", headers=stranger)).status_code == 404
    listed = await client.get("/v1/webhook-endpoints", headers=park.as_giver())
    assert [e["id"] for e in listed.json()["items"]] == [made["id"]]
    assert (await client.get("/v1/webhook-endpoints", headers=park.as_operator())).json()["items"] == []


async def test_update_needs_if_match_and_delete_removes_it(client: Client, park: Park) -> None:
    made = await create(client, park.as_giver())
    path = f"/v1/webhook-endpoints/{made['id']}"
    stale = await client.patch(path, json={"enabled": False}, headers={**park.as_giver(), "if-match": '"99"'})
    assert stale.status_code == 412
    etag = (await client.get(path, headers=park.as_giver())).headers["etag"]
    changed = await client.patch(
        path, json={"enabled": False, "description": "off"}, headers={**park.as_giver(), "if-match": etag}
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["enabled"], changed.json()["version"]) == (False, 2)
    assert (await client.delete(path, headers=park.as_giver())).status_code == 204
    assert (await client.get(path, headers=park.as_giver())).status_code == 404


async def test_only_admins_and_operators_create_endpoints(client: Client, park: Park) -> None:
    await create(client, park.as_taker(), expected=403)  # tom is staff of the taker
    await create(client, park.alice.headers(), expected=403)
    network = await create(client, park.as_operator(), network_id=str(park.network))
    assert network["network_id"] == str(park.network)
    assert network["organisation_id"] is None
    await create(client, park.as_giver(), expected=403, network_id=str(park.network))


async def test_unknown_event_types_are_refused_naming_the_field(client: Client, park: Park) -> None:
    response = await client.post(
        "/v1/webhook-endpoints",
        json={"url": URL, "event_types": ["transfer.accepted", "transfer.teleported"]},
        headers=park.as_giver(),
    )
    assert response.status_code == 422
    assert "body.event_types[1]" in response.text


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://example.org/hook", "https"),
        ("https://127.0.0.1/hook", "private or local"),
        ("https://10.1.2.3/hook", "private or local"),
        ("https://169.254.169.254/latest", "private or local"),
        ("https://[::1]/hook", "private or local"),
        ("https://[::ffff:192.168.1.1]/hook", "private or local"),
        ("https://localhost/hook", "private or local"),
    ],
)
async def test_private_and_insecure_urls_are_refused_when_saved(
    database_url: str, tmp_path: Path, park: Park, url: str, why: str
) -> None:
    strict = Settings(database_url=database_url, symbiose_data_dir=str(tmp_path), sweep_interval_seconds=0)
    async with AsyncTestClient(app=create_asgi(strict)) as client:
        response = await client.post("/v1/webhook-endpoints", json={"url": url}, headers=park.as_giver())
    assert response.status_code == 422, response.text
    assert "body.url" in response.text
    assert why in response.text
    with pytest.raises(UnsafeUrlError):
        await check_url(url, allow_insecure=False)


async def test_a_public_address_passes_the_check() -> None:
    await check_url("https://93.184.215.14/hook", allow_insecure=False)
