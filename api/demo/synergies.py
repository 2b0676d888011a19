"""The demo network's flows and its synergy funnel, as a programme looks in its second year.

The operator has interviewed the members: each has its recurring inputs and outputs recorded as flows.
Detection then proposes dozens of potential synergies (from the flows and the published listings);
the operator has studied some, some are in progress, some were abandoned or dismissed, and a few are
realised with their impact: rubble reused on a building site, pallets and cardboard offcuts taken by
neighbours (completed transfers, their impact counted), the shared guarding of the Corbas park, shared
storage in Saint-Fons and two firms with opposite seasons sharing staff (declared outcomes).

Every step goes through the synergies' own transition table and repository; loading twice changes
nothing (the flows are loaded once per network).
"""

from __future__ import annotations

import random
import uuid
from decimal import Decimal
from typing import Any

from api.db.pool import Connection
from api.demo import data
from api.demo import synergy_repository as repo
from api.demo.synergy_data import (
    ABANDONED,
    DISMISSED,
    OTHER_FLOWS,
    POOLINGS,
    STAFF_OUTCOME,
    STAFF_PAIR,
    STARTED,
    STORY_FLOWS,
    STUDIED,
    SUBSTITUTIONS,
)
from api.flows import repository as flows
from api.flows import rules
from api.synergies import repository as synergies
from api.synergies.detect import detect
from api.synergies.lifecycle import SYNERGY
from api.transfers import impact
from api.transfers import repository as transfers
from schemas.synergies import AbandonReason, SynergyOutcomeCreate, SynergyStatus


async def load(conn: Connection, network_id: uuid.UUID, operator_id: uuid.UUID) -> str:
    """Load the flows, detect, and walk the funnel; a summary for the loader's line."""
    if await repo.count_flows(conn, network_id):
        return "synergies already loaded"
    members = await repo.members(conn, network_id)
    rows = _story_rows(members) + await _other_rows(conn, members)
    await flows.copy_flows(conn, await _checked(conn, rows), network_id, operator_id)
    result = await detect(conn, network_id)
    ids = await repo.flow_ids(conn, network_id)
    story = [
        await _realise_substitution(conn, network_id, operator_id, members, ids, s) for s in SUBSTITUTIONS
    ]
    zones = list((await repo.zones(conn, network_id)).items())
    by_name = dict(zones)
    for zone, category, email, euros, km, jobs, note in POOLINGS:
        zone_id = by_name[data.ZONES[zone][0]]
        synergy_id = await _found(
            repo.synergy_by_inputs(conn, network_id, f"pooling|{zone_id}|{category}"), category
        )
        outcome = SynergyOutcomeCreate(
            euros_saved_cents=euros, km_saved=Decimal(km), shared_jobs=jobs, note=note
        )
        await _realise_pooling(conn, synergy_id, operator_id, outcome, email)
        story.append(synergy_id)
    a, b = sorted(members[name][0] for name in STAFF_PAIR)
    staff = await _found(repo.synergy_by_inputs(conn, network_id, f"pooling|staff|{a}|{b}"), "staff")
    await _realise_pooling(conn, staff, operator_id, STAFF_OUTCOME, None)
    await _walk_the_rest(conn, network_id, operator_id)
    return f"{len(rows)} flows, {result.proposed} synergies proposed, {len(story) + 1} realised"


def _story_rows(members: dict[str, tuple[uuid.UUID, float, float]]) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    rows = []
    for name, direction, category, code, quantity, unit, period, months, destination, cost in STORY_FLOWS:
        organisation_id, latitude, longitude = members[name]
        values = _values(direction, category, code, quantity, unit, period, latitude, longitude)
        rows.append(
            (
                organisation_id,
                values | {"months": months, "destination": destination, "destination_cost_cents": cost},
            )
        )
    return rows


async def _other_rows(
    conn: Connection, members: dict[str, tuple[uuid.UUID, float, float]]
) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    in_stories = {row[0] for row in STORY_FLOWS}
    units = await repo.default_units(conn, sorted({t[1] for t in OTHER_FLOWS}))
    rng = random.Random(2027)  # noqa: S311 - reproducible demo data
    rows = []
    for name in sorted(members):
        if name in in_stories:
            continue
        organisation_id, latitude, longitude = members[name]
        for direction, category, low, high, period, destination in rng.sample(OTHER_FLOWS, 2):
            values = _values(
                direction,
                category,
                None,
                rng.randint(low, high),
                units[category],
                period,
                latitude,
                longitude,
            )
            rows.append((organisation_id, values | {"destination": destination}))
    return rows


def _values(
    direction: str,
    category: str,
    code: str | None,
    quantity: int,
    unit: str,
    period: str,
    lat: float,
    lon: float,
) -> dict[str, Any]:
    return {
        "direction": direction,
        "category_id": category,
        "waste_code": code,
        "description": "",
        "quantity": Decimal(quantity),
        "unit": unit,
        "period": period,
        "latitude": lat,
        "longitude": lon,
        "months": [],
        "destination": None,
        "destination_cost_cents": None,
        "visibility": "operators",
    }


async def _checked(
    conn: Connection, rows: list[tuple[uuid.UUID, dict[str, Any]]]
) -> list[tuple[uuid.UUID, dict[str, Any]]]:
    """The flows as the API checks them: demo data that would not pass is a bug."""
    units = await flows.allowed_units(conn, sorted({v["category_id"] for _, v in rows}))
    codes = await flows.known_waste_codes(conn, sorted({v["waste_code"] for _, v in rows if v["waste_code"]}))
    checked = []
    for organisation_id, values in rows:
        values, errors = rules.check(values, units, codes)
        if errors:
            raise ValueError(f"demo flow {values['category_id']} is invalid: {errors}")
        checked.append((organisation_id, values))
    return checked


async def _found(lookup: Any, what: str) -> uuid.UUID:
    synergy_id: uuid.UUID | None = await lookup
    if synergy_id is None:
        raise RuntimeError(f"detection did not propose the demo's {what} synergy")
    return synergy_id


async def _walk(
    conn: Connection,
    synergy_id: uuid.UUID,
    actions: list[str],
    actor: uuid.UUID | None,
    *,
    reason: AbandonReason | None = None,
    note: str | None = None,
) -> None:
    """Take `actions` from `potential` through the funnel's table, with their events."""
    status: SynergyStatus = "potential"
    for action in actions:
        step = SYNERGY.step(status, action, "system" if action == "realise" else "operator")
        abandoning = action == "abandon"
        await synergies.set_status(
            conn,
            synergy_id,
            step.to_status,
            abandon_reason=reason if abandoning else None,
            abandon_note=note if abandoning else None,
        )
        await synergies.insert_event(
            conn,
            synergy_id,
            action,
            status,
            step.to_status,
            actor,
            reason=reason if abandoning else None,
            note=note if abandoning else None,
        )
        status = step.to_status


async def _realise_substitution(
    conn: Connection,
    network_id: uuid.UUID,
    operator_id: uuid.UUID,
    members: dict[str, tuple[uuid.UUID, float, float]],
    ids: dict[tuple[uuid.UUID, str, str], uuid.UUID],
    story: tuple[str, str, str, str, int, int, int, int],
) -> uuid.UUID:
    giver_name, taker_name, category, title, quantity, distance, replaced_km, trips = story
    giver, taker = members[giver_name], members[taker_name]
    pair = [ids[(giver[0], "output", category)], ids[(taker[0], "input", category)]]
    synergy_id = await _found(repo.synergy_with_flows(conn, network_id, pair), category)
    await _walk(conn, synergy_id, ["study", "start"], operator_id)
    code = next(row[3] for row in STORY_FLOWS if row[0] == giver_name and row[2] == category)
    unit = next(row[5] for row in STORY_FLOWS if row[0] == giver_name and row[2] == category)
    listing_id = await repo.given_offer(
        conn, network_id, giver[0], category, code, title, Decimal(quantity), unit, (giver[1], giver[2])
    )
    transfer_id = await repo.completed_transfer(
        conn, listing_id, taker[0], Decimal(quantity), Decimal(distance), Decimal(replaced_km), trips
    )
    transfer = await transfers.get(conn, transfer_id)
    assert transfer is not None  # just inserted
    figures = impact.compute(
        Decimal(quantity),
        unit,
        await transfers.category_factors(conn, category),
        replaced_site_km=Decimal(replaced_km),
        replaced_trips=trips,
    )
    await transfers.insert_impact(conn, transfer, figures)
    await synergies.link_exchange(
        conn, synergy_id, transfer_id=transfer_id, reservation_id=None, created_by=operator_id
    )
    step = SYNERGY.step("in_progress", "realise", "system")
    await synergies.set_status(conn, synergy_id, step.to_status)
    await synergies.insert_event(conn, synergy_id, "realise", "in_progress", step.to_status, None)
    return synergy_id


async def _realise_pooling(
    conn: Connection,
    synergy_id: uuid.UUID,
    operator_id: uuid.UUID,
    outcome: SynergyOutcomeCreate,
    declarer_email: str | None,
) -> None:
    """Studied, started, then realised by its first declared outcome (as `declare_outcome` does)."""
    await _walk(conn, synergy_id, ["study", "start"], operator_id)
    declarer, speaking_for = operator_id, None
    if declarer_email is not None:
        declarer, speaking_for = await repo.person(conn, declarer_email)
    await synergies.insert_outcome(conn, synergy_id, outcome, declarer, speaking_for)
    step = SYNERGY.step("in_progress", "realise", "system")
    await synergies.set_status(conn, synergy_id, step.to_status)
    await synergies.insert_event(
        conn, synergy_id, "realise", "in_progress", step.to_status, declarer, note="outcome declared"
    )


async def _walk_the_rest(conn: Connection, network_id: uuid.UUID, operator_id: uuid.UUID) -> None:
    potentials = await repo.potential_ids(conn, network_id)
    for synergy_id in potentials[:STUDIED]:
        await _walk(conn, synergy_id, ["study"], operator_id)
    for synergy_id in potentials[STUDIED : STUDIED + STARTED]:
        await _walk(conn, synergy_id, ["study", "start"], operator_id)
    tail = potentials[STUDIED + STARTED :][::-1]
    for synergy_id, (reason, note) in zip(tail, ABANDONED, strict=False):
        await _walk(conn, synergy_id, ["study", "abandon"], operator_id, reason=reason, note=note)
    for synergy_id in tail[len(ABANDONED) : len(ABANDONED) + DISMISSED]:
        await _walk(conn, synergy_id, ["dismiss"], operator_id)
