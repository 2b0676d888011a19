"""Flows: an organisation's recurring inputs and outputs, collected by the network's operator."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from schemas.base import Input, Schema
from schemas.listings import CategoryId, Cents, LongText, UnitCode, WasteCode
from schemas.networks import Latitude, Longitude
from schemas.organisations import Siret
from schemas.types import Quantity, Timestamp

FlowDirection = Literal["input", "output"]
FlowPeriod = Literal["week", "month", "year"]
Destination = Literal["landfill", "incineration", "recycling", "reuse", "other"]
FlowVisibility = Literal["operators", "partners"]
"""`operators`: the network's operators and the organisation only (the default); `partners`: also
shown, as part of a synergy, to the other organisations of that synergy."""
Month = Annotated[int, msgspec.Meta(ge=1, le=12)]
Months = Annotated[
    list[Month],
    msgspec.Meta(max_length=12, description="Months of the year (1-12) when it occurs; empty: all year"),
]


class Flow(Schema):
    id: uuid.UUID
    network_id: uuid.UUID
    organisation_id: uuid.UUID
    direction: FlowDirection
    category_id: str
    waste_code: str | None
    description: str
    quantity: Decimal
    """How much per `period`, in `unit`."""
    unit: str
    period: FlowPeriod
    latitude: float
    longitude: float
    months: list[int]
    destination: Destination | None
    """Where an output goes today."""
    destination_cost_cents: int | None
    """What that destination costs per `period`, in euro cents."""
    visibility: FlowVisibility
    version: int
    created_at: Timestamp
    updated_at: Timestamp


class FlowCreate(Input):
    direction: FlowDirection
    category_id: CategoryId
    quantity: Quantity
    unit: UnitCode
    period: FlowPeriod
    latitude: Latitude
    longitude: Longitude
    waste_code: WasteCode | None = None
    description: LongText = ""
    months: Months = msgspec.field(default_factory=list)
    destination: Destination | None = None
    destination_cost_cents: Cents | None = None
    visibility: FlowVisibility = "operators"


class NetworkFlowCreate(FlowCreate, kw_only=True):
    organisation_id: uuid.UUID
    """The member organisation whose flow it is."""


class OrganisationFlowCreate(FlowCreate, kw_only=True):
    network_id: uuid.UUID
    """The network (of which the organisation is a member) whose operator follows the flow."""


class FlowUpdate(Input):
    """Only the fields sent change; `null` clears an optional one."""

    category_id: CategoryId | msgspec.UnsetType = msgspec.UNSET
    quantity: Quantity | msgspec.UnsetType = msgspec.UNSET
    unit: UnitCode | msgspec.UnsetType = msgspec.UNSET
    period: FlowPeriod | msgspec.UnsetType = msgspec.UNSET
    latitude: Latitude | msgspec.UnsetType = msgspec.UNSET
    longitude: Longitude | msgspec.UnsetType = msgspec.UNSET
    waste_code: WasteCode | msgspec.UnsetType | None = msgspec.UNSET
    description: LongText | msgspec.UnsetType = msgspec.UNSET
    months: Months | msgspec.UnsetType = msgspec.UNSET
    destination: Destination | msgspec.UnsetType | None = msgspec.UNSET
    destination_cost_cents: Cents | msgspec.UnsetType | None = msgspec.UNSET
    visibility: FlowVisibility | msgspec.UnsetType = msgspec.UNSET


MonthsCell = Annotated[
    str,
    msgspec.Meta(
        max_length=100,
        pattern=r"^[0-9]{1,2}( ?- ?[0-9]{1,2})?([ ,|/+]+[0-9]{1,2}( ?- ?[0-9]{1,2})?)*(?![\s\S])",
        description="Months (1-12) separated by spaces, commas, `|` or `/`, ranges as `6-8`",
    ),
]


class FlowImportRow(Input):
    """One CSV row of a flows import; the header names these fields. Empty cells count as absent."""

    direction: FlowDirection
    category: CategoryId
    quantity: Quantity
    unit: UnitCode
    period: FlowPeriod
    siret: Siret | None = None
    """The member (required by a network's import; an organisation's may repeat its own)."""
    waste_code: WasteCode | None = None
    description: LongText = ""
    latitude: Latitude | None = None
    longitude: Longitude | None = None
    """The organisation's site when both are absent."""
    months: MonthsCell | None = None
    destination: Destination | None = None
    destination_cost_cents: Cents | None = None
    visibility: FlowVisibility = "operators"


class FlowImportResult(Schema):
    network_id: uuid.UUID
    rows: int
    created: int
    """Flows created: one a row."""
    organisations: int
    """Distinct organisations the flows are of."""
