"""A candidate synergy as detection found it: what it joins, its fingerprint and its explained score."""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass

from schemas.synergies import SynergyExplanation

ACTIVE_MEMBERS = """active AS (
    SELECT organisation_id, zone_id FROM memberships WHERE network_id = $1 AND status = 'active'
)"""
"""The network's active members, `$1` the network: only they take part in detection."""


@dataclass(frozen=True, slots=True)
class Candidate:
    kind: str
    category_id: str
    organisations: list[uuid.UUID]
    flows: list[uuid.UUID]
    listings: list[uuid.UUID]
    inputs_key: str
    fingerprint: str
    score: float
    explanation: SynergyExplanation


def digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def substitution_key(supply: str, demand: str) -> str:
    """A substitution's `inputs_key` from its two `source:id` references, supply first (offer, output
    flow), then demand (need, input flow). Matches name the pair of two listings the same way."""
    return f"substitution|{supply}|{demand}"


def substitution_fingerprint(inputs_key: str, supply_version: int, demand_version: int) -> str:
    """A substitution's fingerprint: its inputs as they stand (their versions)."""
    return digest(f"{inputs_key}|{supply_version}|{demand_version}")


def split(items: list[tuple[str, uuid.UUID]]) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """(flow ids, listing ids) of `(source, id)` items."""
    return [i for s, i in items if s == "flow"], [i for s, i in items if s == "listing"]


def parse_items(items: list[str]) -> tuple[list[uuid.UUID], list[uuid.UUID]]:
    """`source:id:version` items from SQL, split into flow ids and listing ids."""
    pairs = [item.split(":") for item in items]
    return split([(source, uuid.UUID(identifier)) for source, identifier, _ in pairs])
