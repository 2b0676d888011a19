"""The fixed data set every search backend is held to: two networks, five organisations (one ESS,
one suspended, one pending), public and network-only listings, and listings search must never show.

Organisation names and category labels avoid every word the tests search for, since a backend may
search them too.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import asyncpg

from api.demo.data import siret
from search.query import Viewer

LYON = (45.75, 4.85)
GRENOBLE = (45.19, 5.72)
NOW = datetime.now(UTC)


@dataclass(frozen=True)
class Spec:
    label: str
    org: str
    network: str
    title: str
    description: str = ""
    category: str = "qwood.pallets"
    direction: str = "offer"
    zone: str | None = None
    status: str = "published"
    visibility: str = "public"
    condition: str | None = None
    price: str = "free"
    hazardous: bool = False
    amount: int = 10
    available: int | None = None
    point: tuple[float, float] = LYON
    days_ago: int = 1
    available_from: datetime | None = None
    available_until: datetime | None = None


IN_2030 = datetime(2030, 6, 1, tzinfo=UTC)
SPECS = [
    # Public, published, of active members: what everyone sees (12).
    Spec("pal1", "A", "N1", "Palettes Europe 80x120", "Lot de palettes en bon état, enlèvement sur place.",
         zone="Z1a", condition="good", amount=40, point=(45.75, 4.85), days_ago=1),
    Spec("pal2", "B", "N1", "Palette perdue 100x120", "Une palette bois légère.", zone="Z1b",
         condition="used", price="fixed", amount=10, point=(45.76, 4.86), days_ago=2),
    Spec("pal3", "C", "N2", "Recherche palettes", "Nous cherchons des palettes pour notre atelier.",
         direction="need", amount=100, point=GRENOBLE, days_ago=3),
    Spec("bois1", "A", "N1", "Chutes de bois massif", "Chêne et hêtre, idéal menuiserie.", category="qwood",
         zone="Z1a", condition="good", price="negotiable", amount=5, point=(45.70, 4.85), days_ago=4),
    Spec("carton1", "B", "N1", "Cartons d'emballage", "Cartons à plat, livrés sur palettes.",
         category="qpack.cardboard", zone="Z1a", condition="new", amount=200, point=(45.745, 4.845),
         days_ago=5),
    Spec("carton2", "C", "N2", "Carton ondulé en balles", "Balles de carton compacté.",
         category="qpack.cardboard", condition="used", price="per_unit", amount=3, point=(45.20, 5.70),
         days_ago=6, available_until=datetime(2030, 3, 1, tzinfo=UTC)),
    Spec("beton1", "A", "N1", "Gravats de béton concassé", "Béton propre, sans ferraille.",
         category="qbuild.rubble", zone="Z1b", amount=60, point=(45.78, 4.90), days_ago=7),
    Spec("beton2", "C", "N2", "Besoin de béton recyclé", "Pour un remblai.", category="qbuild.rubble",
         direction="need", amount=20, point=(45.18, 5.73), days_ago=8),
    Spec("poly1", "B", "N1", "Polystyrène expansé", "Chutes de polystyrène blanc, propres.",
         category="qplastic", condition="as_new", amount=30, point=(45.81, 4.85), days_ago=9),
    Spec("stock1", "A", "N1", "Espace de stockage couvert", "Deux cents mètres carrés sous hangar.",
         category="qstorage", zone="Z1a", price="per_day", amount=200, point=(45.73, 4.80), days_ago=10,
         available_from=IN_2030, available_until=datetime(2030, 12, 31, tzinfo=UTC)),
    Spec("haz1", "A", "N1", "Fûts souillés", "Emballages contenant des résidus dangereux.", category="qpack",
         condition="for_parts", hazardous=True, amount=12, point=(45.75, 4.95), days_ago=11),
    Spec("english", "C", "N2", "Wooden pallets for reuse", "Sturdy pallets, pick up only.",
         condition="good", amount=25, point=(45.21, 5.71), days_ago=12),
    # Network-only: members (and operators) of the network see them.
    Spec("netpal1", "A", "N1", "Palettes sur mesure", "Fabrication à la demande.", visibility="network",
         days_ago=13),
    Spec("netcarton1", "B", "N1", "Cartons neufs", "Jamais servi.", category="qpack.cardboard",
         visibility="network", days_ago=14),
    Spec("netbeton2", "C", "N2", "Béton de démolition", "Concassé sur site.", category="qbuild.rubble",
         visibility="network", point=GRENOBLE, days_ago=15),
    # Never shown, to anyone.
    Spec("draft", "A", "N1", "Palettes brouillon", status="draft", days_ago=16),
    Spec("paused", "A", "N1", "Palettes en pause", status="paused", days_ago=17),
    Spec("archived", "A", "N1", "Palettes archivées", status="archived", days_ago=18),
    Spec("expired", "A", "N1", "Palettes expirées", status="expired", days_ago=19),
    Spec("outdated", "A", "N1", "Palettes périmées", days_ago=20, available_until=NOW - timedelta(days=1)),
    Spec("exhausted", "A", "N1", "Palettes épuisées", available=0, days_ago=21),
    Spec("suspended", "D", "N1", "Palettes du membre suspendu", days_ago=22),
    Spec("pending", "E", "N1", "Palettes du membre en attente", days_ago=23),
]  # fmt: skip
PUBLIC = ["pal1", "pal2", "pal3", "bois1", "carton1", "carton2", "beton1", "beton2", "poly1", "stock1",
          "haz1", "english"]  # fmt: skip
N1_ONLY = ["netpal1", "netcarton1"]
N2_ONLY = ["netbeton2"]
NEVER = ["draft", "paused", "archived", "expired", "outdated", "exhausted", "suspended", "pending"]

CATEGORIES = [
    # id, parent, nature, unit
    ("qwood", None, "material", "kg"),
    ("qwood.pallets", "qwood", "material", "kg"),
    ("qpack", None, "material", "kg"),
    ("qpack.cardboard", "qpack", "material", "kg"),
    ("qbuild", None, "material", "kg"),
    ("qbuild.rubble", "qbuild", "material", "kg"),
    ("qplastic", None, "material", "kg"),
    ("qstorage", None, "service", "m2"),
]
ORGANISATIONS = {  # key: (name, ESS, network, membership status)
    "A": ("Alpha SAS", False, "N1", "active"),
    "B": ("Beta Coop", True, "N1", "active"),
    "C": ("Gamma SARL", False, "N2", "active"),
    "D": ("Delta SA", False, "N1", "suspended"),
    "E": ("Epsilon SA", False, "N1", "pending"),
}


@dataclass
class World:
    ids: dict[str, uuid.UUID] = field(default_factory=dict)
    networks: dict[str, uuid.UUID] = field(default_factory=dict)
    zones: dict[str, uuid.UUID] = field(default_factory=dict)
    organisations: dict[str, uuid.UUID] = field(default_factory=dict)
    points: dict[str, tuple[float, float]] = field(default_factory=dict)

    def labels(self, ids: list[Any]) -> list[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[uuid.UUID(str(i))] for i in ids]

    def viewer(self, *networks: str) -> Viewer:
        return Viewer(frozenset(self.networks[n] for n in networks))


def haversine_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * 6371.0088 * math.asin(min(1.0, math.sqrt(h)))


async def load(db: asyncpg.Connection) -> World:
    world = World()
    await db.execute(
        """INSERT INTO units (code, label_fr, label_en, dimension, kg_factor) VALUES
               ('kg', 'kg', 'kg', 'mass', 1), ('m2', 'm²', 'm²', 'area', NULL) ON CONFLICT (code) DO NOTHING;
           INSERT INTO waste_codes (code, chapter, hazardous, description_en) VALUES
               ('15 01 10', '15', true, 'packaging containing residues') ON CONFLICT (code) DO NOTHING"""
    )
    for position, (category_id, parent, nature, unit) in enumerate(CATEGORIES):
        await db.execute(
            """INSERT INTO categories (id, parent_id, position, label_fr, label_en, nature, default_unit,
                   allowed_units, co2e_kg_per_kg, factor_source)
               VALUES ($1, $2, $3, $4, $4, $5, $6, ARRAY[$6], $7, $8)""",
            category_id,
            parent,
            position,
            f"Famille {position}",
            nature,
            unit,
            None if nature == "service" else Decimal("0.5"),
            None if nature == "service" else "test",
        )
    for key, point in (("N1", LYON), ("N2", GRENOBLE)):
        world.networks[key] = await db.fetchval(
            "INSERT INTO networks (slug, name, latitude, longitude) VALUES ($1, $1, $2, $3) RETURNING id",
            f"net-{key.lower()}",
            *point,
        )
    for key in ("Z1a", "Z1b"):
        world.zones[key] = await db.fetchval(
            """INSERT INTO zones (network_id, name, kind, latitude, longitude, radius_km)
               VALUES ($1, $2, 'business_park', 45.75, 4.85, 2) RETURNING id""",
            world.networks["N1"],
            f"Zone {key}",
        )
    for n, (key, (name, ess, network, status)) in enumerate(ORGANISATIONS.items()):
        world.organisations[key] = await db.fetchval(
            "INSERT INTO organisations (name, siret, is_ess) VALUES ($1, $2, $3) RETURNING id",
            name,
            siret(str(700_000_000 + n)),
            ess,
        )
        await db.execute(
            "INSERT INTO memberships (network_id, organisation_id, status) VALUES ($1, $2, $3)",
            world.networks[network],
            world.organisations[key],
            status,
        )
    for spec in SPECS:
        world.ids[spec.label] = await insert(db, world, spec)
        world.points[spec.label] = spec.point
    return world


async def insert(db: asyncpg.Connection, world: World, spec: Spec) -> uuid.UUID:
    service = spec.category == "qstorage"
    amount = Decimal(spec.amount)
    available = None if service or spec.direction == "need" else Decimal(spec.available or spec.amount)
    if spec.available == 0:
        available = Decimal(0)
    paid = spec.price in ("fixed", "per_unit", "per_day")
    listing_id: uuid.UUID = await db.fetchval(
        """INSERT INTO listings (organisation_id, network_id, zone_id, direction, category_id, nature, title,
               description, unit, quantity, available_quantity, capacity, capacity_period, price_kind,
               price_cents, currency, condition, waste_code, hazardous, latitude, longitude, available_from,
               available_until, visibility, status, published_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20,
               $21, $22, $23, $24, $25, $26) RETURNING id""",
        world.organisations[spec.org],
        world.networks[spec.network],
        world.zones[spec.zone] if spec.zone else None,
        spec.direction,
        spec.category,
        "service" if service else "material",
        spec.title,
        spec.description,
        "m2" if service else "kg",
        None if service else amount,
        available,
        amount if service else None,
        "month" if service else None,
        spec.price,
        500 if paid else None,
        "EUR" if paid else None,
        spec.condition,
        "15 01 10" if spec.hazardous else None,
        spec.hazardous,
        *spec.point,
        spec.available_from,
        spec.available_until,
        spec.visibility,
        spec.status,
        None if spec.status == "draft" else NOW - timedelta(days=spec.days_ago),
    )
    return listing_id
