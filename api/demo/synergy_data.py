"""The demo's flows and how far its synergies went (`api.demo.synergies` loads them)."""

from __future__ import annotations

from schemas.synergies import AbandonReason, SynergyOutcomeCreate

# (organisation, direction, category, waste code, quantity, unit, period, months, destination, cost in cents)
StoryFlow = tuple[str, str, str, str | None, int, str, str, list[int], str | None, int | None]
STORY_FLOWS: list[StoryFlow] = [
    (
        "Démolition Rhodanienne",
        "output",
        "construction.rubble",
        "17 01 01",
        900,
        "t",
        "year",
        [],
        "landfill",
        1_800_000,
    ),
    (
        "BTP Feyzin Construction",
        "input",
        "construction.rubble",
        "17 01 01",
        600,
        "t",
        "year",
        [3, 4, 5, 6, 7, 8, 9, 10],
        None,
        None,
    ),
    (
        "Entrepôts du Grand Parc",
        "output",
        "wood.pallets",
        "15 01 03",
        4000,
        "pallet",
        "year",
        [],
        "incineration",
        600_000,
    ),
    ("Rhône Palettes Services", "input", "wood.pallets", "15 01 03", 3000, "pallet", "year", [], None, None),
    (
        "Cartonnages du Rhône",
        "output",
        "paper.cardboard",
        "03 03 08",
        8,
        "t",
        "month",
        [],
        "recycling",
        90_000,
    ),
    ("Ateliers du Rhône (ESAT)", "input", "paper.cardboard", "03 03 08", 5, "t", "month", [], None, None),
    *(
        (name, "input", "services.security", None, hours, "hour", "month", [], None, None)
        for name, hours in (
            ("Cartonnages du Rhône", 120),
            ("Logistique Sud Lyon", 200),
            ("Menuiserie Dubois et Fils", 80),
            ("Chaudronnerie Mionnaise", 100),
            ("Pharma Logistique Mions", 160),
        )
    ),
    *(
        (name, "input", "services.storage.warehouse", None, m2, "m2", "month", [], None, None)
        for name, m2 in (
            ("Chimiris Saint-Fons", 300),
            ("Peintures Rhône Industrie", 200),
            ("Laboratoires Feyzinois", 120),
            ("Verrerie Technique du Rhône", 250),
        )
    ),
    (
        "Torréfaction Lyon Sud",
        "input",
        "services.staff",
        None,
        40,
        "person_day",
        "month",
        [10, 11, 12],
        None,
        None,
    ),
    (
        "Brasserie des Canuts Sud",
        "input",
        "services.staff",
        None,
        35,
        "person_day",
        "month",
        [5, 6, 7, 8],
        None,
        None,
    ),
    (
        "Jardins d'Insertion d'Irigny",
        "input",
        "services.staff",
        None,
        20,
        "person_day",
        "month",
        [4, 5, 6, 7, 8, 9],
        None,
        None,
    ),
]

# Realised substitutions: (giver, taker, category, offer title, quantity moved, distance km, replaced
# trip km, trips replaced).
SUBSTITUTIONS = [
    (
        "Démolition Rhodanienne",
        "BTP Feyzin Construction",
        "construction.rubble",
        "Gravats de béton concassés",
        60,
        6,
        35,
        3,
    ),
    (
        "Entrepôts du Grand Parc",
        "Rhône Palettes Services",
        "wood.pallets",
        "Palettes bois en fin de stock",
        1200,
        9,
        12,
        10,
    ),
    (
        "Cartonnages du Rhône",
        "Ateliers du Rhône (ESAT)",
        "paper.cardboard",
        "Chutes de carton ondulé",
        12,
        11,
        18,
        6,
    ),
]

# Realised poolings with the outcome declared: (zone, category, declarer's e-mail or None for the
# operator, euros saved in cents, km saved, shared jobs, note).
POOLINGS = [
    (1, "services.security", None, 2_160_000, "4800", 1.5, "Un prestataire unique, rondes communes la nuit"),
    (
        0,
        "services.storage.warehouse",
        "paul@chimiris.demo.symbiose.eco",
        960_000,
        "1500",
        None,
        "800 m² partagés à Saint-Fons au lieu de trois baux",
    ),
]
STAFF_PAIR = ("Torréfaction Lyon Sud", "Brasserie des Canuts Sud")
STAFF_OUTCOME = SynergyOutcomeCreate(
    euros_saved_cents=300_000, shared_jobs=1.0, note="Un CDI partagé : brasserie l'été, torréfaction l'hiver"
)

# Further members' flows, two each: (direction, category, low, high, period, destination).
OTHER_FLOWS = [
    ("output", "wood.offcuts", 2, 40, "year", "incineration"),
    ("output", "plastics.films", 1, 12, "month", "incineration"),
    ("output", "metals.steel", 1, 30, "year", "recycling"),
    ("output", "containers.big_bags", 50, 600, "year", "landfill"),
    ("output", "containers.ibc", 10, 120, "year", "other"),
    ("output", "paper.shredded", 1, 6, "month", "recycling"),
    ("output", "plastics.ps", 1, 10, "year", "landfill"),
    ("output", "wood.pallets.one_way", 100, 2000, "year", "incineration"),
    ("input", "wood.offcuts", 2, 30, "year", None),
    ("input", "containers.big_bags", 50, 400, "year", None),
    ("input", "containers.ibc", 10, 80, "year", None),
    ("input", "plastics.films", 1, 8, "month", None),
    ("input", "wood.pallets.euro", 100, 1500, "year", None),
    ("input", "services.training", 4, 20, "year", None),
    ("input", "services.waste_collection", 1, 10, "month", None),
    ("input", "services.group_purchasing", 10, 200, "year", None),
]
# How far the other potential synergies went: the best ones studied or started, some of the rest
# abandoned or dismissed, most still potential.
STUDIED, STARTED = 8, 5
ABANDONED: list[tuple[AbandonReason, str]] = [
    ("distance", "Trop loin pour des rotations hebdomadaires"),
    ("quality", "Matière souillée, refusée à l'essai"),
    ("cost", "Le transport coûte plus que l'élimination actuelle"),
    ("regulation", "Statut de déchet : sortie de statut non obtenue"),
    ("no_interest", "Le preneur a trouvé un fournisseur"),
]
DISMISSED = 3
