"""How a candidate synergy is scored: each component a value in [0, 1] with a weight, explained.

score = sum(weight * value) / sum(weight), over the components of its kind. The weights, the
half-distance, the distance bound, the pooling radius and the staff category are settings
(`SYNERGY_WEIGHTS`, `SYNERGY_HALF_DISTANCE_KM`, `SYNERGY_MAX_DISTANCE_KM`, `SYNERGY_POOLING_RADIUS_KM`,
`SYNERGY_STAFF_CATEGORY`; README, Synergies).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal

from schemas.synergies import ScoreComponent

DEFAULT_WEIGHTS: dict[str, float] = {
    "category": 2.0,
    "waste_code": 1.0,
    "quantity": 1.5,
    "months": 1.0,
    "distance": 2.0,
    "hierarchy": 1.5,
    "transport": 1.0,
    "members": 1.0,
    "complementarity": 2.0,
    "coverage": 1.0,
}
# What an output's current destination leaves to gain when it is reused instead (waste hierarchy).
HIERARCHY_GAIN: dict[str | None, float] = {
    "landfill": 1.0,
    "incineration": 0.8,
    "other": 0.5,
    None: 0.5,
    "recycling": 0.3,
    "reuse": 0.0,
}
TRANSPORT_CO2E_KG_PER_TONNE_KM = 0.1
"""A rigid lorry, about 0.1 kg CO2e per tonne-kilometre (ADEME Base Carbone order of magnitude)."""
PERIODS_PER_YEAR: dict[str | None, int] = {"week": 52, "month": 12, "year": 1, None: 1}


@dataclass(frozen=True, slots=True)
class Scoring:
    weights: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_WEIGHTS))
    half_distance_km: float = 33.0
    """The distance at which the distance component is 0.5: the median distance of the UK's National
    Industrial Symbiosis Programme's exchanges."""
    max_distance_km: float = 100.0
    """Substitutions farther apart than this are not candidates (the geographic bound)."""
    candidates_per_demand: int = 5
    """Each input flow or need is paired with at most this many outputs or offers: the same category
    first, then the same waste code, then the nearest. An operator follows a few leads per need, and
    a network of thousands of flows would otherwise yield a million pairs."""
    pooling_radius_km: float = 5.0
    """Members outside any zone pool a need with those whose sites are within this distance; 0: zones
    only."""
    staff_category: str = "services.staff"
    """The category (and its subcategories) of shared staff: needs of it pair by complementary months
    instead of pooling by zone."""


def parse_weights(text: str) -> dict[str, float]:
    """`distance=3,category=2`: the weights named override the defaults; a bad entry raises ValueError."""
    weights = dict(DEFAULT_WEIGHTS)
    for entry in (e.strip() for e in text.split(",") if e.strip()):
        name, _, value = entry.partition("=")
        if name.strip() not in DEFAULT_WEIGHTS:
            raise ValueError(f"SYNERGY_WEIGHTS: {name.strip()!r} is not one of {', '.join(DEFAULT_WEIGHTS)}")
        number = float(value)
        if not 0 <= number <= 100:
            raise ValueError(f"SYNERGY_WEIGHTS: {name.strip()} must be between 0 and 100")
        weights[name.strip()] = number
    return weights


_current = Scoring()


def configure(
    weights: str = "",
    half_distance_km: float = 33.0,
    max_distance_km: float = 100.0,
    pooling_radius_km: float = 5.0,
    staff_category: str = "services.staff",
) -> None:
    """Install the settings' scoring (called once by `create_app`, and by `symbiose sweep`)."""
    global _current
    _current = replace(
        Scoring(),
        weights=parse_weights(weights),
        half_distance_km=half_distance_km,
        max_distance_km=max_distance_km,
        pooling_radius_km=pooling_radius_km,
        staff_category=staff_category,
    )


def current() -> Scoring:
    return _current


def component(scoring: Scoring, name: str, value: float, detail: str) -> ScoreComponent:
    return ScoreComponent(
        name=name, value=round(min(1.0, max(0.0, value)), 4), weight=scoring.weights[name], detail=detail
    )


def total(components: list[ScoreComponent]) -> float:
    weight = sum(c.weight for c in components)
    return 0.0 if weight == 0 else round(sum(c.weight * c.value for c in components) / weight, 4)


def category_fit(a: str, b: str) -> tuple[float, str]:
    """1 for the same category; 1 / (1 + steps between them in the tree) otherwise."""
    if a == b:
        return 1.0, f"same category {a}"
    left, right = a.split("."), b.split(".")
    common = 0
    while common < min(len(left), len(right)) and left[common] == right[common]:
        common += 1
    steps = len(left) + len(right) - 2 * common
    return 1 / (1 + steps), f"{a} and {b} are {steps} steps apart in the category tree"


def waste_code_fit(a: str | None, b: str | None) -> tuple[float, str]:
    if a is None or b is None:
        return 0.5, "no waste code on one side"
    if a == b:
        return 1.0, f"same waste code {a}"
    if a[:2] == b[:2]:
        return 0.6, f"{a} and {b} are in EWC chapter {a[:2]}"
    return 0.0, f"{a} and {b} are in different EWC chapters"


def yearly_kg(quantity: Decimal, period: str | None, kg_per_unit: float | None) -> float | None:
    if kg_per_unit is None:
        return None
    return float(quantity) * PERIODS_PER_YEAR[period] * kg_per_unit


def quantity_fit(supply: float | None, demand: float | None, unit_note: str) -> tuple[float, str]:
    """The smaller over the larger of what is given and what is wanted (both per year)."""
    if supply is None or demand is None or supply <= 0 or demand <= 0:
        return 0.5, f"quantities not comparable ({unit_note})"
    ratio = min(supply, demand) / max(supply, demand)
    return ratio, f"{supply:,.0f} offered for {demand:,.0f} wanted a year ({unit_note})"


def months_fit(supply: list[int], demand: list[int]) -> tuple[float, str]:
    """The share of the months the taker needs it in that the giver has it."""
    s, d = set(supply or range(1, 13)), set(demand or range(1, 13))
    shared = len(s & d)
    return shared / len(d), f"{shared} of the {len(d)} months it is needed"


def distance_fit(scoring: Scoring, km: float) -> tuple[float, str]:
    return 0.5 ** (
        km / scoring.half_distance_km
    ), f"{km:.1f} km (half-distance {scoring.half_distance_km:g} km)"


def hierarchy_gain(destination: str | None) -> tuple[float, str]:
    if destination is None:
        return HIERARCHY_GAIN[None], "current destination unknown"
    return HIERARCHY_GAIN[destination], f"today it goes to {destination}"


def transport_fit(
    km: float, mass_kg: float | None, co2e_kg_per_kg: float | None
) -> tuple[float, str, float | None]:
    """1 minus the share of the CO2e avoided that the lorry emits back; (value, detail, transport kg)."""
    if mass_kg is None:
        return 0.5, "mass unknown: transport CO2e not counted", None
    transport = mass_kg / 1000 * km * TRANSPORT_CO2E_KG_PER_TONNE_KM
    if not co2e_kg_per_kg:
        return 0.5, f"{transport:,.0f} kg CO2e of transport a year; no avoided-CO2e factor", transport
    avoided = mass_kg * co2e_kg_per_kg
    return (
        1 - min(1.0, transport / avoided),
        f"{transport:,.0f} of {avoided:,.0f} kg CO2e avoided a year",
        transport,
    )


def _months_text(months: list[int]) -> str:
    return ",".join(str(m) for m in sorted(months))


def complementarity(a: list[int], b: list[int]) -> tuple[float, str]:
    """1 minus the share of the shorter season that the other shares: 1 for seasons that never meet."""
    shared = len(set(a) & set(b))
    shorter = min(len(set(a)), len(set(b)))
    value = 0.0 if shorter == 0 else 1 - shared / shorter
    return value, f"months {_months_text(a)} and {_months_text(b)}: {shared} in common"


def coverage(a: list[int], b: list[int]) -> tuple[float, str]:
    """The share of the year the two needs together fill: the shared job's length."""
    covered = len(set(a) | set(b))
    return covered / 12, f"together {covered} months of the year"
