"""At send time the name is resolved once, every address is checked, and the connection goes to the
address that was checked (with the name kept for Host and TLS): a name that resolves to a public
address for the check and to a private one for the connection cannot reach the private one."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from litestar.testing import AsyncTestClient

from api.db.pool import Pool
from api.observability import RequestContext
from api.webhooks.safety import UnsafeUrlError, check_url
from api.webhooks.worker import Deliverer
from tests.api.webhooks.conftest import Park, Receiver, ask

Client = AsyncTestClient[RequestContext]


class Rebinding:
    """A resolver answering each lookup with the next list of addresses (then the last one again)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers = list(answers)
        self.lookups: list[tuple[str, int]] = []

    async def __call__(self, host: str, port: int) -> list[str]:
        self.lookups.append((host, port))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


@pytest.fixture
async def captured() -> AsyncIterator[tuple[httpx.AsyncClient, list[httpx.Request]]]:
    requests: list[httpx.Request] = []

    def answer(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, stream=httpx.ByteStream(b"ok"))

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer)) as client:
        yield client, requests


async def subscribe(client: Client, park: Park, url: str) -> dict[str, Any]:
    # The app of these tests runs with WEBHOOK_ALLOW_INSECURE, so any URL is saved: the checks under
    # test are the worker's, at send time.
    response = await client.post("/v1/webhook-endpoints", json={"url": url}, headers=park.as_giver())
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def last_error(client: Client, park: Park, endpoint: dict[str, Any]) -> str:
    log = (
        await client.get(f"/v1/webhook-endpoints/{endpoint['id']}/attempts", headers=park.as_giver())
    ).json()
    error: str = log["items"][0]["error"]
    return error


async def test_a_name_resolving_to_loopback_is_refused_at_send_time(
    client: Client, park: Park, receiver: Receiver, pool: Pool
) -> None:
    endpoint = await subscribe(client, park, f"https://localhost:{receiver.port}/hook")
    await ask(client, park, "10")
    async with httpx.AsyncClient() as http:
        await Deliverer(pool, http, allow_insecure=False, schedule=(3600.0,)).drain()
    assert receiver.received == []
    assert "host localhost resolves to a private or local address" in await last_error(client, park, endpoint)


async def test_the_connection_goes_to_the_address_that_was_checked(
    client: Client,
    park: Park,
    pool: Pool,
    captured: tuple[httpx.AsyncClient, list[httpx.Request]],
) -> None:
    http, requests = captured
    resolver = Rebinding(["8.8.8.8"], ["127.0.0.1"])
    endpoint = await subscribe(client, park, "https://hooks.example.com:8443/in/hook?key=1")
    worker = Deliverer(pool, http, allow_insecure=False, schedule=(3600.0,), resolve=resolver)
    await ask(client, park, "10")
    assert await worker.drain() == 1
    (sent,) = requests
    assert str(sent.url) == "https://8.8.8.8:8443/in/hook?key=1"
    assert sent.headers["host"] == "hooks.example.com:8443"
    assert sent.extensions["sni_hostname"] == "hooks.example.com"
    assert sent.headers["connection"] == "close"  # never reused for another name at this address
    assert resolver.lookups == [("hooks.example.com", 8443)]
    # The name now resolves to loopback: the next attempt checks what it connects to, and refuses.
    await ask(client, park, "5")
    assert await worker.drain() == 1
    assert len(requests) == 1
    assert "127.0.0.1" in await last_error(client, park, endpoint)
    assert len(resolver.lookups) == 2


async def test_every_address_a_name_resolves_to_is_checked() -> None:
    with pytest.raises(UnsafeUrlError, match=r"10\.0\.0\.7"):
        await check_url(
            "https://hooks.example.com/hook",
            allow_insecure=False,
            resolve=Rebinding(["8.8.8.8", "10.0.0.7"]),
        )


async def test_an_ipv6_address_is_pinned_in_brackets_and_an_address_literal_has_no_sni() -> None:
    target = await check_url(
        "https://hooks.example.com/h", allow_insecure=False, resolve=Rebinding(["2001:4860:4860::8888"])
    )
    assert (target.url, target.host, target.sni_hostname) == (
        "https://[2001:4860:4860::8888]/h",
        "hooks.example.com",
        "hooks.example.com",
    )
    literal = await check_url("https://8.8.4.4/h", allow_insecure=False, resolve=Rebinding(["8.8.4.4"]))
    assert (literal.url, literal.host, literal.sni_hostname) == ("https://8.8.4.4/h", "8.8.4.4", None)
