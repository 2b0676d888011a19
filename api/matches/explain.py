"""How a match is scored: the components of detection (api/synergies/scoring.py), for two listings.

The offer is the supply, the need the demand, as in detection. Listings have no months and no
current destination: `months` measures their availability windows instead (the share of the need's
window, within the next year, when the offer is available) and `hierarchy` is detection's value for
an unknown destination. Services are compared on category, capacity, availability and distance only
(no waste code, no mass to carry). Quantities are per year when they have a period (a service's
capacity per day, week or month); a resource's quantity is a lot, compared as it stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from api.matches.repository import Candidate
from api.synergies import scoring
from api.synergies.candidate import substitution_fingerprint, substitution_key
from api.synergies.scoring import Scoring, component
from schemas.listings import Listing
from schemas.synergies import ScoreComponent, SynergyExplanation

HORIZON = timedelta(days=365)
PER_YEAR: dict[str | None, int] = {"day": 365, **scoring.PERIODS_PER_YEAR}


@dataclass(frozen=True, slots=True)
class Side:
    listing: Listing
    kg_per_unit: float | None
    co2e_kg_per_kg: float | None


@dataclass(frozen=True, slots=True)
class Scored:
    candidate: Candidate
    score: float
    explanation: SynergyExplanation


def _amount(listing: Listing) -> float:
    if listing.nature == "service":
        return float(listing.capacity or 0) * PER_YEAR[listing.capacity_period]
    if listing.direction == "offer":
        return float(listing.available_quantity or 0)
    return float(listing.quantity or 0)


def window_fit(supply: Listing, demand: Listing, now: datetime) -> tuple[float, str]:
    """The share of the need's window (within the next year) when the offer is available."""
    end_of_horizon = now + HORIZON

    def window(listing: Listing) -> tuple[datetime, datetime]:
        start = max(listing.available_from or now, now)
        return start, min(listing.available_until or end_of_horizon, end_of_horizon)

    (s_start, s_end), (d_start, d_end) = window(supply), window(demand)
    needed = (d_end - d_start).total_seconds()
    if needed <= 0:
        return 0.0, "the need's window is over"
    shared = max(0.0, (min(s_end, d_end) - max(s_start, d_start)).total_seconds())
    days, of = round(shared / 86_400), round(needed / 86_400)
    return shared / needed, f"available {days} of the {of} days it is needed (next 12 months)"


def _quantity(supply: Side, demand: Side) -> tuple[float, str, float | None]:
    """(value, detail, mass in kg when both sides convert to kg)."""
    s_amount, d_amount = _amount(supply.listing), _amount(demand.listing)
    s_kg = None if supply.kg_per_unit is None else s_amount * supply.kg_per_unit
    d_kg = None if demand.kg_per_unit is None else d_amount * demand.kg_per_unit
    if s_kg is not None and d_kg is not None:
        value, detail = scoring.quantity_fit(s_kg, d_kg, "kg")
        return value, detail, min(s_kg, d_kg)
    if supply.listing.unit == demand.listing.unit:
        value, detail = scoring.quantity_fit(s_amount, d_amount, supply.listing.unit)
        return value, detail, None
    value, detail = scoring.quantity_fit(None, None, f"{supply.listing.unit} and {demand.listing.unit}")
    return value, detail, None


def explain(config: Scoring, supply: Side, demand: Side, km: float, now: datetime) -> SynergyExplanation:
    s, d = supply.listing, demand.listing
    quantity_value, quantity_detail, mass = _quantity(supply, demand)
    parts: list[tuple[str, float, str]] = [
        ("category", *scoring.category_fit(s.category_id, d.category_id)),
        ("quantity", quantity_value, quantity_detail),
        ("months", *window_fit(s, d, now)),
        ("distance", *scoring.distance_fit(config, km)),
    ]
    transport_kg: float | None = None
    if s.nature != "service":
        transport_value, transport_detail, transport_kg = scoring.transport_fit(
            km, mass, supply.co2e_kg_per_kg
        )
        parts[1:1] = [("waste_code", *scoring.waste_code_fit(s.waste_code, d.waste_code))]
        parts += [
            ("hierarchy", *scoring.hierarchy_gain(None)),
            ("transport", transport_value, transport_detail),
        ]
    components: list[ScoreComponent] = [component(config, n, v, detail) for n, v, detail in parts]
    return SynergyExplanation(
        components=components,
        summary=f"{s.category_id} offered {km:.1f} km from where {d.category_id} is needed",
        distance_km=round(km, 3),
        mass_kg_per_year=None if mass is None else round(mass, 3),
        transport_co2e_kg_per_year=None if transport_kg is None else round(transport_kg, 3),
    )


def score(config: Scoring, listing: Listing, candidate: Candidate, now: datetime | None = None) -> Scored:
    """Score `candidate` as a match of `listing`."""
    own, their = candidate.own_factors, candidate.factors
    mine = Side(listing, own.kg_per_unit, own.co2e_kg_per_kg)
    theirs = Side(candidate.listing, their.kg_per_unit, their.co2e_kg_per_kg)
    supply, demand = (mine, theirs) if listing.direction == "offer" else (theirs, mine)
    explanation = explain(config, supply, demand, candidate.km, now or datetime.now(UTC))
    return Scored(candidate, scoring.total(explanation.components), explanation)


def inputs_key(offer: Listing, need: Listing) -> str:
    """Detection's key for the pair (supply first, then demand)."""
    return substitution_key(f"listing:{offer.id}", f"listing:{need.id}")


def fingerprint(offer: Listing, need: Listing) -> str:
    """Detection's fingerprint for the pair as the listings stand (their ids and versions)."""
    return substitution_fingerprint(inputs_key(offer, need), offer.version, need.version)
