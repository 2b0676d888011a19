"""The data of migration 0004: the category tree, units and the European Waste Catalogue."""

from __future__ import annotations

import json

import asyncpg

from api.categories.units import KG_PER_MASS_UNIT


async def test_every_category_hangs_under_its_dotted_parent(db: asyncpg.Connection) -> None:
    rows = await db.fetch("SELECT id, parent_id, position FROM categories")
    ids = {row["id"] for row in rows}
    assert 60 <= len(ids) <= 90
    for row in rows:
        if "." in row["id"]:
            assert row["parent_id"] == row["id"].rsplit(".", 1)[0], row["id"]
            assert row["parent_id"] in ids
        else:
            assert row["parent_id"] is None, row["id"]
    siblings = await db.fetch(
        "SELECT parent_id, count(*) AS n, count(DISTINCT position) AS positions FROM categories GROUP BY 1"
    )
    assert all(s["n"] == s["positions"] for s in siblings)


async def test_the_tree_covers_materials_energy_and_services(db: asyncpg.Connection) -> None:
    roots = {
        r["id"]: r["nature"]
        for r in await db.fetch("SELECT id, nature FROM categories WHERE parent_id IS NULL")
    }
    assert roots["energy"] == "energy"
    assert roots["services"] == "service"
    for root in ("wood", "paper", "plastics", "metals", "glass", "textiles", "construction", "it"):
        assert roots[root] == "material"
    expected = {
        "wood.pallets": "pallet",
        "paper.shredded": "kg",
        "plastics.pvc_rigid": "kg",
        "plastics.ps": "kg",
        "textiles.jute_sacks": "piece",
        "construction.rubble": "t",
        "glass.jars": "piece",
        "containers.big_bags": "piece",
        "energy.waste_heat": "mwh",
        "services.storage": "m2",
        "services.security": "hour",
        "services.staff": "person_day",
        "services.vehicles": "day",
    }
    rows = await db.fetch("SELECT id, default_unit FROM categories WHERE id = ANY($1)", list(expected))
    assert {r["id"]: r["default_unit"] for r in rows} == expected


async def test_units_and_waste_codes_of_categories_exist(db: asyncpg.Connection) -> None:
    units = {r["code"] for r in await db.fetch("SELECT code FROM units")}
    codes = {r["code"] for r in await db.fetch("SELECT code FROM waste_codes")}
    for row in await db.fetch(
        "SELECT id, default_unit, allowed_units, ewc_codes, kg_per_unit FROM categories"
    ):
        assert row["default_unit"] in row["allowed_units"], row["id"]
        assert set(row["allowed_units"]) <= units, row["id"]
        assert set(row["ewc_codes"]) <= codes, row["id"]
        assert set(json.loads(row["kg_per_unit"])) <= set(row["allowed_units"]), row["id"]


async def test_every_material_unit_converts_to_kg(db: asyncpg.Connection) -> None:
    """A material listing in any of its allowed units can be counted in kg for impact."""
    mass_units = {r["code"] for r in await db.fetch("SELECT code FROM units WHERE dimension = 'mass'")}
    rows = await db.fetch("SELECT id, allowed_units, kg_per_unit FROM categories WHERE nature = 'material'")
    for row in rows:
        per_unit = json.loads(row["kg_per_unit"])
        for unit in row["allowed_units"]:
            assert unit in mass_units or per_unit.get(unit, 0) > 0, (row["id"], unit)


async def test_factors_are_for_materials_only_and_name_their_source(db: asyncpg.Connection) -> None:
    rows = await db.fetch("SELECT id, nature, co2e_kg_per_kg, factor_source FROM categories")
    for row in rows:
        if row["nature"] != "material":
            assert row["co2e_kg_per_kg"] is None, row["id"]
        if row["co2e_kg_per_kg"] is not None:
            assert row["factor_source"], row["id"]
            assert 0 < row["co2e_kg_per_kg"] < 1000, row["id"]
    with_factor = [r for r in rows if r["co2e_kg_per_kg"] is not None]
    assert len(with_factor) >= 50


async def test_units_are_labelled_and_only_masses_have_a_kg_factor(db: asyncpg.Connection) -> None:
    rows = {r["code"]: r for r in await db.fetch("SELECT * FROM units")}
    required = [
        "kg",
        "t",
        "g",
        "m3",
        "l",
        "m2",
        "piece",
        "pallet",
        "m",
        "km",
        "kwh",
        "mwh",
        "kw",
        "hour",
        "day",
        "week",
        "month",
        "person_day",
        "seat",
    ]
    assert set(required) <= set(rows)
    assert {code: float(r["kg_factor"]) for code, r in rows.items() if r["kg_factor"] is not None} == {
        code: float(factor) for code, factor in KG_PER_MASS_UNIT.items()
    }
    assert all(r["label_fr"] and r["label_en"] for r in rows.values())


async def test_the_waste_catalogue_is_complete(db: asyncpg.Connection) -> None:
    total = await db.fetchval("SELECT count(*) FROM waste_codes")
    assert 800 <= total <= 900
    assert total == 842  # Decision 2014/955/EU
    assert await db.fetchval("SELECT count(*) FROM waste_codes WHERE hazardous") == 408
    chapters = [r["chapter"] for r in await db.fetch("SELECT DISTINCT chapter FROM waste_codes ORDER BY 1")]
    assert chapters == [f"{n:02d}" for n in range(1, 21)]
    assert await db.fetchval("SELECT count(*) FROM waste_codes WHERE chapter <> left(code, 2)") == 0


async def test_well_known_codes_carry_the_official_hazard_flag(db: asyncpg.Connection) -> None:
    expected = {
        "15 01 01": False,  # paper and cardboard packaging
        "15 01 03": False,  # wooden packaging
        "15 01 10": True,  # packaging containing residues of or contaminated by hazardous substances
        "17 01 07": False,  # mixtures of concrete, bricks, tiles and ceramics
        "17 06 05": True,  # construction materials containing asbestos
        "16 02 13": True,  # discarded equipment containing hazardous components
        "16 02 14": False,
        "20 01 35": True,
        "20 01 36": False,  # discarded electrical and electronic equipment
        "13 02 05": True,  # mineral-based non-chlorinated engine, gear and lubricating oils
        "13 08 99": True,  # chapter 13 is hazardous throughout, even its "not otherwise specified"
        "18 01 03": True,
        "20 03 01": False,  # mixed municipal waste
    }
    rows = await db.fetch("SELECT code, hazardous FROM waste_codes WHERE code = ANY($1)", list(expected))
    assert {r["code"]: r["hazardous"] for r in rows} == expected
    wooden = await db.fetchrow("SELECT * FROM waste_codes WHERE code = '15 01 03'")
    assert wooden["description_en"] == "wooden packaging"
    assert wooden["description_fr"] == "emballages en bois"
    oils = await db.fetchval("SELECT description_en FROM waste_codes WHERE code = '13 02 05'")
    assert oils == "mineral-based non-chlorinated engine, gear and lubricating oils"
