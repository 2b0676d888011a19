from __future__ import annotations

import json

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
