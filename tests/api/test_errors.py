from __future__ import annotations

from typing import Annotated

import msgspec
from litestar import Litestar, post
from litestar.params import JSONBody
from litestar.testing import AsyncTestClient

from api.app import create_asgi
from api.observability import RequestContext
from api.settings import Settings
from schemas.base import Input


class Widget(Input):
    name: Annotated[str, msgspec.Meta(min_length=1)]
    quantity: int


@post("/test/widgets", sync_to_thread=False)
def create_widget(data: JSONBody[Widget]) -> Widget:
    return data


@post("/test/explode", sync_to_thread=False)
def explode() -> None:
    raise RuntimeError("secret internal detail")


def _register(app: Litestar) -> None:
    app.register(create_widget)
    app.register(explode)


def _is_problem(response: object) -> dict[str, object]:
    assert response.headers["content-type"].startswith("application/problem+json")  # type: ignore[attr-defined]
    body: dict[str, object] = response.json()  # type: ignore[attr-defined]
    assert {"type", "title", "status", "detail"} <= body.keys()
    return body


async def test_malformed_json_is_a_400_problem(
    app: Litestar, client: AsyncTestClient[RequestContext]
) -> None:
    _register(app)
    response = await client.post(
        "/test/widgets", content=b'{"name": "pallet",', headers={"content-type": "application/json"}
    )
    assert response.status_code == 400
    body = _is_problem(response)
    assert body["status"] == 400
    assert "JSON" in str(body["detail"])


async def test_wrong_types_are_a_422_problem_naming_the_field(
    app: Litestar, client: AsyncTestClient[RequestContext]
) -> None:
    _register(app)
    response = await client.post("/test/widgets", json={"name": "pallet", "quantity": "many"})
    assert response.status_code == 422
    body = _is_problem(response)
    assert body["errors"] == [
        {"path": "body.quantity", "message": "Expected `int`, got `str`", "source": "body"}
    ]


async def test_unknown_fields_are_refused(app: Litestar, client: AsyncTestClient[RequestContext]) -> None:
    _register(app)
    response = await client.post("/test/widgets", json={"name": "pallet", "quantity": 1, "colour": "red"})
    assert response.status_code == 422
    assert "colour" in str(_is_problem(response)["detail"])


async def test_unknown_route_is_a_404_problem(client: AsyncTestClient[RequestContext]) -> None:
    response = await client.get("/v1/does-not-exist")
    assert response.status_code == 404
    assert _is_problem(response)["status"] == 404


async def test_wrong_method_is_a_405_problem_listing_allowed_methods(
    client: AsyncTestClient[RequestContext],
) -> None:
    response = await client.delete("/health/live")
    assert response.status_code == 405
    body = _is_problem(response)
    assert "GET" in response.headers["allow"]
    assert "GET" in str(body["detail"])


async def test_unexpected_error_is_a_generic_500_logged_with_the_request_id(
    app: Litestar, client: AsyncTestClient[RequestContext], caplog: object
) -> None:
    import logging

    _register(app)
    with caplog.at_level(logging.ERROR, logger="api.errors"):  # type: ignore[attr-defined]
        response = await client.post("/test/explode", headers={"x-request-id": "trace-abc-123"})
    assert response.status_code == 500
    body = _is_problem(response)
    assert "secret internal detail" not in response.text
    assert "trace-abc-123" in str(body["detail"])
    records = [r for r in caplog.records if r.name == "api.errors"]  # type: ignore[attr-defined]
    assert records
    assert "trace-abc-123" in records[0].getMessage()
    assert records[0].exc_info is not None


async def test_a_body_over_the_size_limit_is_the_documented_413(
    client: AsyncTestClient[RequestContext],
) -> None:
    response = await client.post(
        "/v1/search/listings", content=b" " * 10_000_001, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    problem = response.json()
    assert (problem["status"], problem["type"]) == (413, "https://symbiose.eco/problems/payload-too-large")


async def test_the_rate_limit_is_the_documented_429(settings: Settings) -> None:
    limited = msgspec.structs.replace(settings, rate_limit_anonymous_per_minute=1)
    async with AsyncTestClient(app=create_asgi(limited)) as client:
        await client.get("/v1/networks")
        response = await client.get("/v1/networks")
    assert response.status_code == 429
    problem = response.json()
    assert (problem["status"], problem["type"]) == (429, "https://symbiose.eco/problems/too-many-requests")
