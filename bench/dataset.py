"""A fresh, migrated benchmark database bulk-loaded with COPY.

One network with three zones, a small catalogue, `organisations` organisations all with an active
membership, and `listings` published listings (half public) with French titles and descriptions.
"""

from __future__ import annotations

import contextlib
import random
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import asyncpg

from api.auth.tokens import LocalIssuer, local_subject
from api.db.embedded import with_database
from api.db.migrations import migrate
from api.demo.data import siret

DATABASE = "symbiose_bench"
ADMIN_EMAIL = "bench.admin@bench.symbiose.eco"

UNITS = [
    ("kg", "kg", "kg", "mass", Decimal(1)),
    ("t", "t", "t", "mass", Decimal(1000)),
    ("pallet", "palette", "pallet", "count", None),
    ("unit", "unité", "unit", "count", None),
    ("m2", "m²", "m²", "area", None),
    ("m3", "m³", "m³", "volume", None),
    ("mwh", "MWh", "MWh", "energy", None),
]

# id, parent, fr, en, nature, default unit, allowed units, kg per unit, co2e, EWC codes
CATEGORIES = [
    ("wood", None, "Bois", "Wood", "material", "t", ["t", "kg"], {}, "0.5"),
    (
        "wood.pallets",
        "wood",
        "Palettes",
        "Pallets",
        "material",
        "pallet",
        ["pallet", "kg", "t"],
        {"pallet": 25},
        "0.5",
    ),
    (
        "wood.offcuts",
        "wood",
        "Chutes de bois",
        "Wood offcuts",
        "material",
        "m3",
        ["m3", "kg", "t"],
        {"m3": 500},
        "0.5",
    ),
    ("packaging", None, "Emballages", "Packaging", "material", "t", ["t", "kg"], {}, "0.9"),
    ("packaging.cardboard", "packaging", "Cartons", "Cardboard", "material", "kg", ["kg", "t"], {}, "0.9"),
    ("construction", None, "BTP", "Construction", "material", "t", ["t", "m3"], {"m3": 1400}, "0.01"),
    (
        "construction.rubble",
        "construction",
        "Gravats",
        "Rubble",
        "material",
        "t",
        ["t", "m3"],
        {"m3": 1400},
        "0.01",
    ),
    ("it", None, "Informatique", "IT", "material", "unit", ["unit", "kg"], {"unit": 8}, "20"),
    (
        "it.equipment",
        "it",
        "Matériel informatique",
        "IT equipment",
        "material",
        "unit",
        ["unit", "kg"],
        {"unit": 8},
        "20",
    ),
    ("metal", None, "Métaux", "Metals", "material", "t", ["t", "kg"], {}, "1.5"),
    ("metal.scrap", "metal", "Ferraille", "Scrap metal", "material", "t", ["t", "kg"], {}, "1.5"),
    ("energy", None, "Énergie", "Energy", "energy", "mwh", ["mwh"], {}, None),
    ("energy.waste_heat", "energy", "Chaleur fatale", "Waste heat", "energy", "mwh", ["mwh"], {}, None),
    ("storage", None, "Stockage", "Storage", "service", "m2", ["m2", "m3"], {}, None),
]

WASTE_CODES = [
    ("15 01 01", "15", False, "paper and cardboard packaging", "emballages en papier/carton"),
    ("15 01 03", "15", False, "wooden packaging", "emballages en bois"),
    ("17 01 07", "17", False, "mixtures of concrete, bricks, tiles and ceramics", "mélanges de béton"),
    ("17 04 05", "17", False, "iron and steel", "fer et acier"),
    ("16 02 14", "16", False, "discarded equipment", "équipements mis au rebut"),
    ("03 01 05", "03", False, "sawdust, shavings, cuttings, wood", "sciure, copeaux, chutes"),
]

# category -> (waste code or None, titles)
TITLES: dict[str, tuple[str | None, list[str]]] = {
    "wood.pallets": (
        "15 01 03",
        [
            "Palettes Europe 80x120 en bon état",
            "Palettes perdues 100x120",
            "Lot de palettes EPAL reconditionnées",
            "Palettes bois hors normes",
            "Palettes demi-format 60x80",
            "Palettes cassées pour réparation",
        ],
    ),
    "wood.offcuts": (
        "03 01 05",
        [
            "Chutes de bois massif de menuiserie",
            "Chutes de contreplaqué",
            "Bois de coffrage réutilisable",
            "Poutres en chêne de récupération",
            "Panneaux OSB entamés",
        ],
    ),
    "packaging.cardboard": (
        "15 01 01",
        [
            "Cartons d'emballage à plat",
            "Balles de carton compacté",
            "Chutes de carton ondulé",
            "Cartons double cannelure 60x40x40",
            "Intercalaires carton pour palettes",
        ],
    ),
    "construction.rubble": (
        "17 01 07",
        [
            "Gravats de béton concassé",
            "Terres et cailloux de terrassement",
            "Déblais de démolition triés",
            "Briques et tuiles de démolition",
            "Pavés autobloquants déposés",
        ],
    ),
    "it.equipment": (
        "16 02 14",
        [
            "Lot d'ordinateurs portables reconditionnables",
            "Écrans 24 pouces",
            "Serveurs rack 1U réformés",
            "Claviers et souris",
            "Imprimantes laser multifonctions",
            "Commutateurs réseau 48 ports",
        ],
    ),
    "metal.scrap": (
        "17 04 05",
        [
            "Ferraille et chutes d'acier",
            "Profilés aluminium",
            "Tôles inox de découpe",
            "Câbles cuivre dénudés",
        ],
    ),
    "energy.waste_heat": (
        None,
        [
            "Chaleur fatale de process à 90 °C",
            "Vapeur basse pression disponible",
            "Eau chaude de refroidissement",
            "Chaleur de fours récupérable",
        ],
    ),
    "storage": (
        None,
        [
            "Espace de stockage couvert",
            "Entrepôt partagé avec quai",
            "Zone de stockage extérieure sécurisée",
            "Cellule frigorifique à partager",
            "Hangar sec pour matériaux",
        ],
    ),
}
CATEGORY_WEIGHTS = {
    "wood.pallets": 25, "wood.offcuts": 8, "packaging.cardboard": 20, "construction.rubble": 15,
    "it.equipment": 12, "metal.scrap": 8, "energy.waste_heat": 4, "storage": 8,
}  # fmt: skip
CITIES = [
    ("Saint-Fons", "69190", 45.7061, 4.8582), ("Feyzin", "69320", 45.6724, 4.8589),
    ("Vénissieux", "69200", 45.6975, 4.8867), ("Corbas", "69960", 45.6683, 4.9010),
    ("Mions", "69780", 45.6631, 4.9531), ("Villeurbanne", "69100", 45.7719, 4.8902),
    ("Pierre-Bénite", "69310", 45.7036, 4.8242), ("Givors", "69700", 45.5906, 4.7689),
]  # fmt: skip
OPENINGS = [
    "Disponible immédiatement sur notre site de {city}.",
    "Nous cherchons un repreneur local, idéalement sur le parc de {city}.",
    "Issu de notre activité courante à {city}, le gisement se renouvelle chaque mois.",
    "Suite à un réaménagement de nos locaux à {city}, nous libérons ce lot.",
]
MIDDLES = [
    "Enlèvement par vos soins, chariot élévateur disponible sur place pour le chargement.",
    "Le lot est stocké à l'abri, trié et prêt à partir.",
    "Nous pouvons livrer dans un rayon de 20 km moyennant une participation aux frais.",
    "Photos et fiche technique sur demande, visite possible en semaine de 8 h à 17 h.",
    "Accès poids lourds par la rue des Entrepreneurs, quai de chargement à niveau.",
    "Quantités indicatives : merci de préciser votre besoin pour que nous réservions le volume.",
]
CLOSINGS = [
    "Contact : service logistique, du lundi au vendredi.",
    "Priorité aux structures de l'économie sociale et solidaire du réseau.",
    "Échange possible contre des cartons ou des palettes.",
    "Merci de répondre via la plateforme, nous revenons vers vous sous 48 h.",
]
CONDITIONS = ["new", "as_new", "good", "good", "used", "used", "for_parts"]
CATEGORY_COLUMNS = [
    "id", "parent_id", "position", "label_fr", "label_en", "nature", "default_unit", "allowed_units",
    "kg_per_unit", "co2e_kg_per_kg", "factor_source",
]  # fmt: skip
ORGANISATION_COLUMNS = [
    "id", "name", "siret", "naf_code", "legal_form", "is_ess", "description", "address_line", "postcode",
    "city", "latitude", "longitude",
]  # fmt: skip
LISTING_COLUMNS = [
    "id", "organisation_id", "network_id", "zone_id", "direction", "category_id", "nature", "title",
    "description", "unit", "quantity", "available_quantity", "capacity", "capacity_period", "price_kind",
    "price_cents", "currency", "condition", "waste_code", "hazardous", "latitude", "longitude",
    "available_from", "available_until", "photos", "visibility", "status", "version", "created_at",
    "updated_at", "published_at",
]  # fmt: skip


@dataclass(frozen=True)
class Dataset:
    dsn: str
    public_ids: list[uuid.UUID]
    all_ids: list[uuid.UUID]
    network_only_id: uuid.UUID
    admin_organisation_id: uuid.UUID
    admin_token: str
    load_seconds: float
    listing_count: int


async def _admin(admin_dsn: str, *statements: str) -> None:
    conn = await asyncpg.connect(admin_dsn)
    try:
        for sql in statements:
            await conn.execute(sql)
    finally:
        await conn.close()


def _organisations(count: int, rng: random.Random) -> list[tuple[object, ...]]:
    forms = ["SAS", "SARL", "SA", "SCOP", "Association"]
    trades = ["Logistique", "Chimie", "Menuiserie", "Imprimerie", "Transports", "Recyclage", "BTP", "Agro"]
    rows = []
    for i in range(count):
        city, postcode, lat, lon = rng.choice(CITIES)
        form = rng.choice(forms)
        rows.append(
            (
                uuid.uuid4(),
                f"{rng.choice(trades)} {city} {i:03d}",
                siret(str(300_000_000 + i)),
                f"{rng.randint(10, 96):02d}.{rng.randint(10, 99):02d}Z",
                form,
                form in ("SCOP", "Association"),
                f"Entreprise de {city}, membre du programme d'écologie industrielle.",
                f"{rng.randint(1, 200)} rue de l'Industrie",
                postcode,
                city,
                lat + rng.uniform(-0.01, 0.01),
                lon + rng.uniform(-0.01, 0.01),
            )
        )
    return rows


def _listings(
    count: int,
    network_id: uuid.UUID,
    organisations: list[tuple[object, ...]],
    zone_ids: list[uuid.UUID],
    rng: random.Random,
) -> list[tuple[object, ...]]:
    categories = {c[0]: c for c in CATEGORIES}
    names = list(CATEGORY_WEIGHTS)
    weights = list(CATEGORY_WEIGHTS.values())
    now = datetime.now(UTC)
    rows = []
    for i in range(count):
        org = organisations[rng.randrange(len(organisations))]
        category_id = rng.choices(names, weights)[0]
        _, _, _, _, nature, default_unit, allowed, _, _ = categories[category_id]
        waste_code, titles = TITLES[category_id]
        direction = "offer" if rng.random() < 0.7 else "need"
        unit = default_unit if rng.random() < 0.7 else rng.choice(allowed)
        quantity = available = capacity = period = None
        if nature == "service":
            capacity, period = Decimal(rng.choice([50, 100, 200, 500, 1000])), rng.choice(["week", "month"])
        else:
            quantity = Decimal(rng.randint(1, 400)) + Decimal(rng.choice(["0", "0.5", "0.25"]))
            available = quantity if direction == "offer" else None
        price_kind = rng.choices(["free", "negotiable", "fixed", "per_unit"], [50, 20, 15, 15])[0]
        price_cents, currency = (
            (rng.randint(100, 500_000), "EUR") if price_kind in ("fixed", "per_unit") else (None, None)
        )
        city = str(org[9])
        description = " ".join(
            (rng.choice(OPENINGS).format(city=city), *rng.sample(MIDDLES, 2), rng.choice(CLOSINGS))
        )
        created = now - timedelta(days=rng.uniform(1, 365))
        published = created + timedelta(hours=rng.uniform(0, 48))
        until = None if rng.random() < 0.6 else now + timedelta(days=rng.uniform(60, 400))
        photos = [
            f"https://photos.bench.symbiose.eco/{i}/{n}.jpg" for n in range(rng.choice([0, 0, 1, 2, 3]))
        ]
        rows.append(
            (
                uuid.uuid4(),
                org[0],
                network_id,
                rng.choice(zone_ids) if rng.random() < 0.5 else None,
                direction,
                category_id,
                nature,
                f"{rng.choice(titles)} - {city}",
                description,
                unit,
                quantity,
                available,
                capacity,
                period,
                price_kind,
                price_cents,
                currency,
                rng.choice(CONDITIONS) if nature == "material" else None,
                waste_code if nature == "material" and direction == "offer" else None,
                False,
                float(org[10]) + rng.uniform(-0.002, 0.002),  # type: ignore[arg-type]
                float(org[11]) + rng.uniform(-0.002, 0.002),  # type: ignore[arg-type]
                None,
                until,
                photos,
                "public" if i % 2 == 0 else "network",
                "published",
                rng.randint(1, 4),
                created,
                published,
                published,
            )
        )
    return rows


IMPORT_CHUNK = 50_000  # the importer's bound on one file (api/imports/service.py MAX_ROWS)


def _csv(rows: list[tuple[object, ...]], sirets: dict[object, str]) -> str:
    """The listings as the import CSV an operator would send (ImportRow's columns)."""
    import csv
    import io

    columns = [
        "siret", "direction", "category", "title", "unit", "description", "quantity", "capacity",
        "capacity_period", "price_kind", "price_cents", "currency", "condition", "waste_code", "latitude",
        "longitude", "available_until", "visibility", "publish",
    ]  # fmt: skip
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    for r in rows:
        until = r[23]
        writer.writerow(
            [
                sirets[r[1]], r[4], r[5], r[7], r[9], r[8], r[10] or "", r[12] or "", r[13] or "", r[14],
                r[15] or "", r[16] or "", r[17] or "", r[18] or "", f"{r[20]:.6f}", f"{r[21]:.6f}",
                until.isoformat() if isinstance(until, datetime) else "", r[25], "true",
            ]
        )  # fmt: skip
    return out.getvalue()


async def _import(conn: asyncpg.Connection, network_id: uuid.UUID, text: str) -> None:
    from api.imports.service import import_csv

    async with conn.transaction():
        await import_csv(conn, network_id, text, created_by=None)


async def build(
    admin_dsn: str,
    issuer: LocalIssuer,
    *,
    listings: int,
    organisations: int,
    seed: int = 1,
    via_import: bool = False,
) -> Dataset:
    """Drop and recreate the benchmark database, migrate it and bulk-load it: with COPY, or with
    `via_import` through the importer `symbiose import` runs (rows checked, listings created,
    published and indexed by the same code), in files of at most 50 000 rows."""
    started = time.perf_counter()
    rng = random.Random(seed)
    await _admin(
        admin_dsn, f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)', f'CREATE DATABASE "{DATABASE}"'
    )
    dsn = with_database(admin_dsn, DATABASE)
    conn = await asyncpg.connect(dsn)
    try:
        await migrate(conn)
        async with conn.transaction():
            # The benchmark brings its own small reference data in place of the shipped taxonomy.
            await conn.execute("DELETE FROM categories; DELETE FROM waste_codes; DELETE FROM units")
            await conn.copy_records_to_table(
                "units", records=UNITS, columns=["code", "label_fr", "label_en", "dimension", "kg_factor"]
            )
            await conn.copy_records_to_table(
                "categories",
                records=[
                    (c[0], c[1], n, c[2], c[3], c[4], c[5], c[6], _json(c[7]), _dec(c[8]), c[8] and "bench")
                    for n, c in enumerate(CATEGORIES)
                ],
                columns=CATEGORY_COLUMNS,
            )
            await conn.copy_records_to_table(
                "waste_codes",
                records=WASTE_CODES,
                columns=["code", "chapter", "hazardous", "description_en", "description_fr"],
            )
            network_id: uuid.UUID = await conn.fetchval(
                """INSERT INTO networks (slug, name, description, latitude, longitude)
                   VALUES ('bench-lyon-sud', 'EIT Bench Lyon Sud', 'Réseau du banc d''essai', 45.70, 4.85)
                   RETURNING id"""
            )
            zone_ids = [
                await conn.fetchval(
                    """INSERT INTO zones (network_id, name, kind, latitude, longitude, radius_km)
                       VALUES ($1, $2, 'business_park', $3, $4, 3) RETURNING id""",
                    network_id,
                    f"Parc d'activités de {city}",
                    lat,
                    lon,
                )
                for city, _, lat, lon in CITIES[:3]
            ]
            orgs = _organisations(organisations, rng)
            await conn.copy_records_to_table(
                "organisations",
                records=orgs,
                columns=ORGANISATION_COLUMNS,
            )
            await conn.copy_records_to_table(
                "memberships",
                records=[(network_id, o[0], "active", datetime.now(UTC)) for o in orgs],
                columns=["network_id", "organisation_id", "status", "decided_at"],
            )
            rows = _listings(listings, network_id, orgs, zone_ids, rng)
            if not via_import:
                await conn.copy_records_to_table("listings", records=rows, columns=LISTING_COLUMNS)
            admin_org = orgs[0][0]
            user_id = await conn.fetchval(
                """INSERT INTO users (issuer, subject, email, name) VALUES ($1, $2, $3, 'Bench Admin')
                   RETURNING id""",
                issuer.issuer,
                local_subject(ADMIN_EMAIL),
                ADMIN_EMAIL,
            )
            await conn.execute(
                "INSERT INTO organisation_roles (organisation_id, user_id, role) VALUES ($1, $2, 'admin')",
                admin_org,
                user_id,
            )
        if via_import:
            sirets = {o[0]: str(o[2]) for o in orgs}
            for start in range(0, len(rows), IMPORT_CHUNK):
                await _import(conn, network_id, _csv(rows[start : start + IMPORT_CHUNK], sirets))
            imported = await conn.fetch("SELECT id, visibility FROM listings")
            rows = [(r["id"],) + (None,) * 24 + (r["visibility"],) for r in imported]
        # Set hint bits and the visibility map now, and flush the load's dirty pages, so neither
        # autovacuum nor the checkpointer competes with the servers during the measurement.
        await conn.execute("VACUUM (FREEZE, ANALYZE)")
        with contextlib.suppress(asyncpg.InsufficientPrivilegeError):  # no pg_checkpoint role: fine
            await conn.execute("CHECKPOINT")
    finally:
        await conn.close()
    public = [r[0] for r in rows if r[25] == "public"]
    network_only = next(r[0] for r in rows if r[25] == "network")
    return Dataset(
        dsn=dsn,
        public_ids=public,  # type: ignore[arg-type]
        all_ids=[r[0] for r in rows],  # type: ignore[misc]
        network_only_id=network_only,  # type: ignore[arg-type]
        admin_organisation_id=admin_org,  # type: ignore[arg-type]
        admin_token=issuer.mint(email=ADMIN_EMAIL, ttl_s=3600),
        load_seconds=time.perf_counter() - started,
        listing_count=len(rows),
    )


def _json(value: dict[str, int]) -> str:
    import json

    return json.dumps(value)


def _dec(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)
