"""Lifecycle actions as operations: one per action of each table, as the document says them."""

from __future__ import annotations

import json
from typing import Any

import pytest
from litestar import Controller

from api.actions import Action, operation_id, with_actions
from api.cli import openapi_document
from api.lifecycle import Lifecycle
from api.listings.lifecycle import LISTING
from api.listings.routes import ACTIONS as LISTING_ACTIONS
from api.memberships.lifecycle import MEMBERSHIP
from api.memberships.routes import ACTIONS as MEMBERSHIP_ACTIONS
from api.reservations.lifecycle import RESERVATION
from api.reservations.routes import ACTIONS as RESERVATION_ACTIONS
from api.synergies.lifecycle import SYNERGY
from api.synergies.routes import ACTIONS as SYNERGY_ACTIONS
from api.transfers.lifecycle import TRANSFER
from api.transfers.routes import ACTIONS as TRANSFER_ACTIONS
from api.transfers.routes import TransferController

FEATURES: list[tuple[str, Lifecycle[Any], dict[str, Action]]] = [
    ("listings", LISTING, LISTING_ACTIONS),
    ("memberships", MEMBERSHIP, MEMBERSHIP_ACTIONS),
    ("transfers", TRANSFER, TRANSFER_ACTIONS),
    ("reservations", RESERVATION, RESERVATION_ACTIONS),
    ("synergies", SYNERGY, SYNERGY_ACTIONS),
]


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(openapi_document())
    return loaded


def _operation(document: dict[str, Any], things: str, thing: str, action: str) -> dict[str, Any]:
    operation: dict[str, Any] = document["paths"][f"/v1/{things}/{{{thing}_id}}/{action}"]["post"]
    return operation


def test_operation_ids_are_the_action_in_camel_case_and_the_thing() -> None:
    assert operation_id("resolve_complete", "transfer") == "resolveCompleteTransfer"
    assert operation_id("publish", "listing") == "publishListing"


@pytest.mark.parametrize(("things", "lifecycle", "actions"), FEATURES, ids=[f[0] for f in FEATURES])
def test_every_action_people_take_is_its_own_operation(
    document: dict[str, Any], things: str, lifecycle: Lifecycle[Any], actions: dict[str, Action]
) -> None:
    assert lifecycle.operations()
    for action in lifecycle.operations():
        operation = _operation(document, things, lifecycle.thing, action)
        assert operation["operationId"] == operation_id(action, lifecycle.thing)
        assert operation["summary"] == actions[action].summary
        assert operation["description"] == actions[action].description
        assert [p["name"] for p in operation["parameters"] if p["in"] == "path"] == [f"{lifecycle.thing}_id"]
        assert {"401", "403", "404", "409", "422"} <= set(operation["responses"])


def test_the_expected_operation_ids_exist(document: dict[str, Any]) -> None:
    ids = {op["operationId"] for item in document["paths"].values() for op in item.values()}
    assert {
        "acceptTransfer",
        "scheduleTransfer",
        "dispatchTransfer",
        "receiveTransfer",
        "completeTransfer",
        "disputeTransfer",
        "resolveCompleteTransfer",
        "resolveCancelTransfer",
        "declineTransfer",
        "cancelTransfer",
        "publishListing",
        "pauseListing",
        "archiveListing",
        "approveMembership",
        "rejectMembership",
        "suspendMembership",
        "reinstateMembership",
        "acceptReservation",
        "declineReservation",
        "confirmReservation",
        "cancelReservation",
        "completeReservation",
    } <= ids
    assert not ids & {"actOnTransfer", "actOnListing", "actOnReservation", "decideMembership"}


def test_system_actions_have_no_route(document: dict[str, Any]) -> None:
    for action in ("pay", "expire", "start"):
        assert f"/v1/reservations/{{reservation_id}}/{action}" not in document["paths"]
    assert "/v1/listings/{listing_id}/expire" not in document["paths"]
    assert "pay" not in RESERVATION.operations()
    assert "complete" in RESERVATION.operations()  # the provider's early end, besides the clock's


def test_no_path_has_an_action_parameter_and_no_body_is_a_union(document: dict[str, Any]) -> None:
    for path, item in document["paths"].items():
        assert "{action}" not in path, path
        for method, operation in item.items():
            names = [p["name"] for p in operation.get("parameters", [])]
            assert "action" not in names, f"{method} {path}"
            for content in operation.get("requestBody", {}).get("content", {}).values():
                assert not {"oneOf", "anyOf"} & set(content["schema"]), path


@pytest.mark.parametrize(("things", "lifecycle", "actions"), FEATURES, ids=[f[0] for f in FEATURES])
def test_each_body_is_the_actions_own_struct_and_required_when_a_field_is(
    document: dict[str, Any], things: str, lifecycle: Lifecycle[Any], actions: dict[str, Action]
) -> None:
    schemas = document["components"]["schemas"]
    for action, spec in actions.items():
        operation = _operation(document, things, lifecycle.thing, action)
        if spec.body is None:
            assert "requestBody" not in operation, action
            continue
        body = operation["requestBody"]
        assert body["content"]["application/json"]["schema"] == {
            "$ref": f"#/components/schemas/{spec.body.__name__}"
        }
        camel = "".join(word.capitalize() for word in action.split("_"))
        assert spec.body.__name__ == f"{lifecycle.thing.capitalize()}{camel}"
        required = schemas[spec.body.__name__].get("required", [])
        assert body["required"] is bool(required), action


def test_the_actions_that_need_input_require_it(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    assert set(schemas["TransferSchedule"]["required"]) == {"scheduled_for", "transport_mode"}
    assert schemas["TransferDispute"]["required"] == ["reason"]
    assert schemas["TransferReceive"]["required"] == ["received_quantity"]
    assert schemas["ReservationCancel"]["required"] == ["reason"]
    assert not schemas["TransferAccept"].get("required")


def test_declarations_must_match_the_table() -> None:
    missing = {k: v for k, v in LISTING_ACTIONS.items() if k != "pause"}
    with pytest.raises(LookupError, match="pause"):
        with_actions(LISTING, missing, answer=dict, act=_never)
    extra = {**LISTING_ACTIONS, "expire": LISTING_ACTIONS["pause"]}
    with pytest.raises(LookupError, match="expire"):
        with_actions(LISTING, extra, answer=dict, act=_never)


def test_each_action_is_a_handler_of_its_controller() -> None:
    assert issubclass(TransferController, Controller)
    for action in TRANSFER.operations():
        assert hasattr(TransferController, f"{action}_transfer")


async def _never(*_: Any) -> Any:
    raise AssertionError("not called")
