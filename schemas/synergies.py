"""Synergies: substitutions and poolings proposed by detection and followed through the funnel."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Annotated, Literal

import msgspec

from schemas.base import Input, Schema
from schemas.types import LONG_TEXT_PATTERN, Kilometres, Timestamp

SynergyKind = Literal["substitution", "pooling"]
SynergyStatus = Literal["potential", "studied", "in_progress", "realised", "abandoned", "dismissed"]
AbandonReason = Literal["regulation", "distance", "quality", "quantity", "cost", "no_interest", "other"]
Note = Annotated[str, msgspec.Meta(min_length=1, max_length=10_000, pattern=LONG_TEXT_PATTERN)]


class ScoreComponent(Schema):
    name: str
    """category, waste_code, quantity, months, distance, hierarchy, transport (substitution);
    members, distance (pooling); complementarity, coverage, distance (staff sharing)."""
    value: float
    """In [0, 1]; 1 is the best fit."""
    weight: float
    """Its weight in the score (a setting: see the README, Synergies)."""
    detail: str
    """Why it has this value, in words."""


class SynergyExplanation(Schema):
    components: list[ScoreComponent]
    summary: str
    distance_km: float | None = None
    """Great-circle distance between the two sites (substitution, staff sharing), from the zone's
    centre to the farthest site (pooling by zone) or between the two farthest sites (by radius)."""
    mass_kg_per_year: float | None = None
    """What would move in a year, when the units say it (substitution)."""
    transport_co2e_kg_per_year: float | None = None


class SynergyEvent(Schema):
    action: str
    from_status: SynergyStatus | None
    to_status: SynergyStatus
    actor_user_id: uuid.UUID | None
    reason: AbandonReason | None
    note: str | None
    created_at: Timestamp


class SynergyNote(Schema):
    id: uuid.UUID
    organisation_id: uuid.UUID | None
    """The involved organisation the author wrote for; null for an operator."""
    author_user_id: uuid.UUID
    body: str
    created_at: Timestamp


class SynergyExchange(Schema):
    transfer_id: uuid.UUID | None
    reservation_id: uuid.UUID | None
    created_at: Timestamp


class SynergyOutcome(Schema):
    id: uuid.UUID
    euros_saved_cents: int | None
    """What the pooling saves, in euro cents, as declared."""
    km_saved: Decimal | None
    """Kilometres no longer driven (fewer collection rounds, guards' patrols, deliveries)."""
    shared_jobs: float | None
    """Jobs shared or created between the organisations, in full-time equivalents."""
    note: str | None
    declared_by: uuid.UUID
    """The user who declared it."""
    declared_for: uuid.UUID | None
    """The involved organisation they spoke for; null for an operator."""
    declared_at: Timestamp


class SynergyOutcomeCreate(Input):
    """At least one figure; a pooling synergy in progress becomes `realised` with its first outcome."""

    euros_saved_cents: Annotated[int, msgspec.Meta(ge=0, le=10**12)] | None = None
    km_saved: Kilometres | None = None
    shared_jobs: Annotated[float, msgspec.Meta(ge=0, le=100_000)] | None = None
    note: Note | None = None


class Synergy(Schema):
    id: uuid.UUID
    network_id: uuid.UUID
    kind: SynergyKind
    status: SynergyStatus
    category_id: str
    organisation_ids: list[uuid.UUID]
    flow_ids: list[uuid.UUID]
    listing_ids: list[uuid.UUID]
    score: float
    explanation: SynergyExplanation
    abandon_reason: AbandonReason | None
    abandon_note: str | None
    version: int
    created_at: Timestamp
    updated_at: Timestamp
    allowed_actions: list[str] = msgspec.field(default_factory=list)
    events: list[SynergyEvent] = msgspec.field(default_factory=list)
    notes: list[SynergyNote] = msgspec.field(default_factory=list)
    exchanges: list[SynergyExchange] = msgspec.field(default_factory=list)
    outcomes: list[SynergyOutcome] = msgspec.field(default_factory=list)
    """Declared outcomes (pooling synergies)."""


class SynergyStep(Input):
    note: Note | None = None
    """Recorded with the step, e.g. what the workshop concluded."""


class SynergyStudy(SynergyStep, kw_only=True):
    """Mark a potential synergy as studied."""


class SynergyDismiss(SynergyStep, kw_only=True):
    """Dismiss a potential synergy."""


class SynergyStart(SynergyStep, kw_only=True):
    """Start carrying out a studied synergy."""


class SynergyAbandon(Input):
    reason: AbandonReason
    note: Note | None = None


class SynergyNoteCreate(Input):
    body: Note


class SynergyExchangeCreate(Input):
    """Name exactly one transfer or one reservation of the synergy's network."""

    transfer_id: uuid.UUID | None = None
    reservation_id: uuid.UUID | None = None


class DetectionResult(Schema):
    proposed: int
    """New potential synergies (inputs not seen before)."""
    substitutions: int
    poolings: int
    already_known: int
    """Candidates whose inputs were already proposed (in any status, dismissed ones included)."""
    synergy_ids: list[uuid.UUID]
    """The new ones."""


FunnelGroup = Literal["kind", "category", "zone", "month"]


class FunnelRow(Schema):
    key: str | None
    """The kind, category id, zone id (of the first organisation's membership) or month (`2026-03`);
    null for the total or an unknown zone."""
    synergies: int
    potential: int
    studied: int
    in_progress: int
    realised: int
    abandoned: int
    dismissed: int
    """Synergies in each status now."""
    reached_studied: int
    reached_in_progress: int
    """Synergies that reached the stage at some point, wherever they are now."""
    conversion_studied: float | None
    """reached_studied / synergies."""
    conversion_in_progress: float | None
    """reached_in_progress / reached_studied."""
    conversion_realised: float | None
    """realised / reached_in_progress."""
    abandonment_reasons: dict[str, int]
    organisations_engaged: int
    """Distinct organisations of the synergies that reached `studied` or further."""
    mass_kg: float
    co2e_avoided_kg: float
    km_saved: float
    trips_saved: int
    """Summed over the completed transfers linked to realised synergies."""
    euros_saved_cents: int = 0
    declared_km_saved: float = 0.0
    shared_jobs: float = 0.0
    """Summed over the outcomes declared for realised (pooling) synergies; declared km are not in
    `km_saved`, which is measured from transfers."""


class FunnelReport(Schema):
    network_id: uuid.UUID
    group_by: FunnelGroup
    date_from: Timestamp | None
    date_to: Timestamp | None
    """Synergies proposed in [date_from, date_to)."""
    rows: list[FunnelRow]
    total: FunnelRow
