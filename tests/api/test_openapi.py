from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from openapi_spec_validator import validate

from api.cli import openapi_document
from tests.conftest import ROOT

COMMITTED = ROOT / "openapi" / "openapi.json"


def test_committed_document_is_what_the_code_produces() -> None:
    assert COMMITTED.read_text(encoding="utf-8") == openapi_document(), (
        "openapi/openapi.json is stale: run `uv run symbiose openapi --output openapi/openapi.json`"
    )


def test_document_is_valid_openapi() -> None:
    validate(json.loads(openapi_document()))


def test_every_operation_has_an_id_a_tag_and_a_description() -> None:
    document = json.loads(openapi_document())
    for path, item in document["paths"].items():
        for method, operation in item.items():
            where = f"{method.upper()} {path}"
            assert operation.get("operationId"), where
            assert operation.get("tags"), where
            assert operation.get("description"), where


PROBLEM = {"$ref": "#/components/schemas/Problem"}
METHODS = ("get", "put", "post", "patch", "delete")
# Stripe's webhook is outside the anonymous limit (api/ratelimit.py; tests/api/payments).
RATE_LIMIT_EXEMPT = ("/health", "/docs", "/docs-assets", "/v1/payments/stripe/webhook")
# The readiness probe answers its checks (`Readiness`), not a problem, when a dependency is down.
OWN_BODIES = {("get", "/health/ready", "503")}


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    parsed: dict[str, Any] = json.loads(openapi_document())
    return parsed


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                yield method, path, item[method]


def _problem_types(operation: dict[str, Any], status: str) -> set[str]:
    response = operation["responses"].get(status)
    if response is None:
        return set()
    examples = response["content"]["application/problem+json"]["examples"].values()
    return {e["value"]["type"].rsplit("/", 1)[1] for e in examples}


def test_every_error_response_is_a_problem_as_sent(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        for status, response in operation["responses"].items():
            if int(status) < 400 or (method, path, status) in OWN_BODIES:
                continue
            where = f"{method.upper()} {path} {status}"
            assert list(response["content"]) == ["application/problem+json"], where
            media = response["content"]["application/problem+json"]
            assert media["schema"] == PROBLEM, where
            assert all(e["value"]["status"] == int(status) for e in media["examples"].values()), where


def test_no_litestar_error_shape_remains(document: dict[str, Any]) -> None:
    text = json.dumps(document)
    assert '"status_code"' not in text
    for method, path, operation in _operations(document):
        if "400" in operation["responses"]:
            kinds = _problem_types(operation, "400")
            # invalid-signature: Stripe's webhook whose body does not verify (api/payments/webhooks.py).
            allowed = {"malformed-body", "invalid-cursor", "bad-request", "invalid-signature"}
            assert kinds <= allowed, f"{method} {path}"
            assert "requestBody" in operation or "invalid-cursor" in kinds, f"{method} {path}"


def test_the_problem_schema_types_its_extension_members(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    problem = schemas["Problem"]
    assert problem["properties"]["status"]["type"] == "integer"
    assert set(problem["required"]) == {"type", "title", "status", "detail"}
    members = {"errors", "current_status", "allowed_actions", "free_capacity", "available_quantity", "rows"}
    assert members <= set(problem["properties"])
    row = schemas["RowProblem"]
    assert row["properties"]["errors"]["items"] == {"$ref": "#/components/schemas/FieldError"}


def test_every_operation_documents_the_token_and_service_failures(document: dict[str, Any]) -> None:
    for method, path, operation in _operations(document):
        where = f"{method.upper()} {path}"
        assert "invalid-token" in _problem_types(operation, "401"), where
        if (method, path, "503") not in OWN_BODIES:
            assert "service-unavailable" in _problem_types(operation, "503"), where


def test_429_is_documented_exactly_where_the_rate_limit_applies(document: dict[str, Any]) -> None:
    limited = 0
    for method, path, operation in _operations(document):
        exempt = path.startswith(RATE_LIMIT_EXEMPT)
        assert ("too-many-requests" in _problem_types(operation, "429")) is not exempt, f"{method} {path}"
        if not exempt:
            limited += 1
            assert "RateLimit-Reset" in operation["responses"]["429"]["headers"]
    assert limited > 40


def test_operations_with_a_body_document_its_failures(document: dict[str, Any]) -> None:
    with_body = 0
    for method, path, operation in _operations(document):
        if "requestBody" not in operation:
            assert "413" not in operation["responses"]
            assert "415" not in operation["responses"]
            continue
        with_body += 1
        where = f"{method.upper()} {path}"
        assert "payload-too-large" in _problem_types(operation, "413"), where
        assert "unsupported-media-type" in _problem_types(operation, "415"), where
        if "application/json" in operation["requestBody"]["content"]:
            assert "malformed-body" in _problem_types(operation, "400"), where
    assert with_body > 15


def test_operations_that_read_the_acting_organisation_document_it(document: dict[str, Any]) -> None:
    reading = set()
    for method, path, operation in _operations(document):
        headers = {p["name"]: p for p in operation.get("parameters", []) if p["in"] == "header"}
        if "X-Organisation-ID" in headers:
            reading.add(operation["operationId"])
            # A string: generated clients put a `format: uuid` value into the request as a UUID object.
            assert headers["X-Organisation-ID"]["schema"]["type"] == "string"
            assert "format" not in headers["X-Organisation-ID"]["schema"]
            assert headers["X-Organisation-ID"]["required"] is False
            assert "forbidden" in _problem_types(operation, "403"), f"{method} {path}"
            assert "unauthorized" in _problem_types(operation, "401"), f"{method} {path}"
    assert {"getMe", "createListing", "searchListings", "searchListingsByBody", "getNetworkImpact"} <= reading
    assert {"getNetwork", "listZones", "getReadiness", "listCategories"}.isdisjoint(reading)


def test_every_201_says_where_the_resource_is(document: dict[str, Any]) -> None:
    created = [o for _, _, o in _operations(document) if "201" in o["responses"]]
    assert len(created) >= 6
    for operation in created:
        assert "Location" in operation["responses"]["201"]["headers"], operation["operationId"]


def test_zones_are_a_page(document: dict[str, Any]) -> None:
    operation = document["paths"]["/v1/networks/{network_id}/zones"]["get"]
    ref = operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"]
    page = document["components"]["schemas"][ref.rsplit("/", 1)[1]]
    assert set(page["properties"]) == {"items", "next_cursor"}
    assert {p["name"] for p in operation["parameters"]} >= {"cursor", "limit"}


def test_csv_in_and_out_is_documented(document: dict[str, Any]) -> None:
    impact = document["paths"]["/v1/networks/{network_id}/impact"]["get"]["responses"]["200"]["content"]
    assert set(impact) == {"application/json", "text/csv"}
    upload = document["paths"]["/v1/networks/{network_id}/imports"]["post"]["requestBody"]
    assert upload["required"] is True
    assert set(upload["content"]) == {"text/csv", "multipart/form-data"}
    form = upload["content"]["multipart/form-data"]["schema"]
    assert form["required"] == ["file"]
    assert form["properties"]["file"]["format"] == "binary"
