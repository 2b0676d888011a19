"""Impact counted from completed transfers: mass diverted, CO2e avoided, kilometres and trips saved."""

from __future__ import annotations

import uuid
from datetime import datetime
from decimal import Decimal
from typing import Literal

from schemas.base import Schema

ImpactGroup = Literal["zone", "organisation", "category", "month"]


class TransferImpact(Schema):
    """What one completed transfer counted, with the factors it used (so it can be recomputed)."""

    quantity: Decimal
    unit: str
    kg_per_unit: Decimal | None
    mass_kg: Decimal | None
    co2e_kg_per_kg: Decimal | None
    factor_source: str | None
    co2e_avoided_kg: Decimal | None
    km_saved: Decimal | None
    trips_saved: int | None
    completed_at: datetime


class ImpactRow(Schema):
    key: str | None
    """The zone or organisation id, the category id, or the month (`2026-03`); null when unknown."""
    transfers: int
    mass_kg: Decimal
    co2e_avoided_kg: Decimal
    km_saved: Decimal
    trips_saved: int


class ImpactReport(Schema):
    network_id: uuid.UUID
    group_by: ImpactGroup
    date_from: datetime | None
    date_to: datetime | None
    scope: Literal["network", "organisation"]
    """`network` for operators (every transfer); `organisation` for a member (its own transfers)."""
    rows: list[ImpactRow]
    total: ImpactRow
    """The network's total over the period, whoever asks."""
