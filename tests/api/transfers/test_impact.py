"""Impact: hand-computed field examples, counted once, and summed per network."""

from __future__ import annotations

import csv
import io
import uuid
from decimal import Decimal
from unittest.mock import ANY

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.errors import RequestValidationError
from api.observability import RequestContext
from api.transfers import impact, repository
from tests import factories
from tests.api.transfers.conftest import Park, act, ask

PLAN = {"scheduled_for": "2026-03-02T08:00:00Z", "transport_mode": "road"}


async def _factor(db: asyncpg.Connection, category_id: str) -> Decimal:
    value: Decimal = await db.fetchval("SELECT co2e_kg_per_kg FROM categories WHERE id = $1", category_id)
    return value


async def test_sixty_tonnes_of_rubble(db: asyncpg.Connection) -> None:
    factors = await repository.category_factors(db, "construction.rubble")
    figures = impact.compute(Decimal(60), "t", factors, replaced_site_km=Decimal(25), replaced_trips=900)
    factor = await _factor(db, "construction.rubble")
    assert figures.mass_kg == Decimal(60) * 1000
    assert figures.co2e_avoided_kg == Decimal(60) * 1000 * factor
    assert figures.co2e_avoided_kg == Decimal(300)  # 0.005 kg CO2e per kg, ADEME aggregates
    assert (figures.trips_saved, figures.km_saved) == (900, Decimal(900 * 25))


async def test_four_hundred_laptops(db: asyncpg.Connection) -> None:
    factors = await repository.category_factors(db, "it.computers.laptops")
    figures = impact.compute(Decimal(400), "piece", factors)
    kg_per_piece = Decimal(
        await db.fetchval("SELECT kg_per_unit->>'piece' FROM categories WHERE id = 'it.computers.laptops'")
    )
    factor = await _factor(db, "it.computers.laptops")
    assert figures.kg_per_unit == kg_per_piece == Decimal(2)
    assert figures.mass_kg == Decimal(400) * kg_per_piece == Decimal(800)
    assert figures.co2e_avoided_kg == Decimal(800) * factor == Decimal(60_000)
    assert (figures.km_saved, figures.trips_saved) == (None, None)


async def test_ten_tonnes_of_polystyrene(db: asyncpg.Connection) -> None:
    factors = await repository.category_factors(db, "plastics.ps")
    by_mass = impact.compute(Decimal(10), "t", factors)
    factor = await _factor(db, "plastics.ps")
    assert by_mass.co2e_avoided_kg == Decimal(10_000) * factor == Decimal(33_000)
    # Expanded polystyrene counted by volume: 20 kg per m3.
    by_volume = impact.compute(Decimal(500), "m3", factors, replaced_site_km=Decimal("12.5"))
    assert by_volume.mass_kg == Decimal(10_000)
    assert by_volume.co2e_avoided_kg == by_mass.co2e_avoided_kg
    assert (by_volume.trips_saved, by_volume.km_saved) == (1, Decimal("12.5"))


def test_a_unit_without_a_mass_counts_no_mass() -> None:
    factors = impact.CategoryFactors({}, Decimal("0.5"), "test")
    figures = impact.compute(Decimal(3), "piece", factors)
    assert (figures.mass_kg, figures.co2e_avoided_kg) == (None, None)


def test_figures_are_rounded_half_up_to_the_stored_precision() -> None:
    factors = impact.CategoryFactors({}, Decimal("3.3"), "test")
    figures = impact.compute(Decimal("0.0005"), "kg", factors)
    assert (figures.mass_kg, figures.co2e_avoided_kg) == (Decimal("0.001"), Decimal("0.002"))


async def _completed(
    park: Park, client: AsyncTestClient[RequestContext], quantity: str, **replaced: object
) -> str:
    tid = (await ask(client, park, quantity))["id"]
    await act(client, tid, "accept", park.as_giver())
    await act(client, tid, "schedule", park.as_giver(), **PLAN)
    await act(client, tid, "dispatch", park.as_giver())
    await act(client, tid, "receive", park.as_taker(), received_quantity=quantity)
    await act(client, tid, "complete", park.as_giver(), **replaced)
    return str(tid)


async def test_impact_is_counted_once_and_kept_when_the_factors_change(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    tid = await _completed(park, client, "4")
    again = await act(client, tid, "complete", park.as_taker(), expected=409)
    assert again["allowed_actions"] == []
    assert await db.fetchval("SELECT count(*) FROM transfer_impacts") == 1
    transfer = await repository.get(db, uuid.UUID(tid))
    assert transfer is not None
    figures = impact.compute(Decimal(4), "pallet", await repository.category_factors(db, "testwood.pallets"))
    assert await repository.insert_impact(db, transfer, figures) is False
    await db.execute("UPDATE categories SET co2e_kg_per_kg = 9 WHERE id = 'testwood.pallets'")
    read = (await client.get(f"/v1/transfers/{tid}", headers=park.as_taker())).json()
    assert (Decimal(read["impact"]["co2e_kg_per_kg"]), Decimal(read["impact"]["co2e_avoided_kg"])) == (
        Decimal("0.5"),
        Decimal(50),
    )


async def test_operators_see_every_transfer_members_their_own_and_the_total(
    park: Park, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    await _completed(park, client, "4", replaced_site_km="20", replaced_trips=3)  # 100 kg, 50 kg CO2e
    # A transfer between two other members: the taker of the first sees it only in the total.
    second_offer = await factories.listing(db, park.network, park.other, title="Palettes B")
    response = await client.post(
        f"/v1/listings/{second_offer}/transfers", json={"quantity": 2}, headers=park.as_giver()
    )
    tid = response.json()["id"]
    await act(client, tid, "accept", park.eve.headers(park.other))
    await act(client, tid, "schedule", park.eve.headers(park.other), **PLAN)
    await act(client, tid, "dispatch", park.eve.headers(park.other))
    await act(client, tid, "receive", park.as_giver(), received_quantity="2")
    await act(client, tid, "complete", park.as_giver())

    path = f"/v1/networks/{park.network}/impact"
    everything = (
        await client.get(path, params={"group_by": "organisation"}, headers=park.as_operator())
    ).json()
    assert everything["scope"] == "network"
    by_org = {r["key"]: r for r in everything["rows"]}
    assert by_org[str(park.giver)]["transfers"] == 2
    assert Decimal(by_org[str(park.taker)]["mass_kg"]) == Decimal(100)
    assert Decimal(by_org[str(park.other)]["co2e_avoided_kg"]) == Decimal(25)
    total = everything["total"]
    assert (total["transfers"], Decimal(total["mass_kg"]), total["trips_saved"]) == (2, Decimal(150), 3)
    assert Decimal(total["km_saved"]) == Decimal(60)

    mine = (await client.get(path, params={"group_by": "category"}, headers=park.as_taker())).json()
    assert mine["scope"] == "organisation"
    assert [(r["key"], r["transfers"]) for r in mine["rows"]] == [("testwood.pallets", 1)]
    assert mine["total"]["transfers"] == 2

    zones = (await client.get(path, params={"group_by": "zone"}, headers=park.as_operator())).json()
    assert {r["key"]: r["transfers"] for r in zones["rows"]} == {str(park.zone): 1, None: 1}
    month = (await client.get(path, headers=park.as_operator())).json()
    assert [r["transfers"] for r in month["rows"]] == [2]
    empty = (
        await client.get(
            path,
            params={"from": "2000-01-01T00:00:00Z", "to": "2000-02-01T00:00:00Z"},
            headers=park.as_operator(),
        )
    ).json()
    assert (empty["rows"], empty["total"]["transfers"]) == ([], 0)


@pytest.mark.parametrize("how", ["query", "accept"])
async def test_the_report_as_csv(park: Park, client: AsyncTestClient[RequestContext], how: str) -> None:
    await _completed(park, client, "4")
    params = {"group_by": "category", **({"format": "csv"} if how == "query" else {})}
    headers = {**park.as_operator(), **({"accept": "text/csv"} if how == "accept" else {})}
    response = await client.get(f"/v1/networks/{park.network}/impact", params=params, headers=headers)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/csv; charset=utf-8"
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows[0] == ["group", "key", "transfers", "mass_kg", "co2e_avoided_kg", "km_saved", "trips_saved"]
    assert rows[1][:3] == ["category", "testwood.pallets", "1"]
    assert Decimal(rows[1][3]) == Decimal(100)
    assert rows[2][0] == "network_total"


async def test_a_period_ending_before_it_starts_is_422(
    park: Park, client: AsyncTestClient[RequestContext]
) -> None:
    response = await client.get(
        f"/v1/networks/{park.network}/impact",
        params={"from": "2026-02-01T00:00:00Z", "to": "2026-01-01T00:00:00Z"},
        headers=park.as_operator(),
    )
    assert response.status_code == 422


@pytest.mark.parametrize("parameter", ["from", "to"])
async def test_a_date_without_a_time_is_422_at_the_parameter_sent(
    park: Park, client: AsyncTestClient[RequestContext], parameter: str
) -> None:
    response = await client.get(
        f"/v1/networks/{park.network}/impact", params={parameter: "2026-01-01"}, headers=park.as_operator()
    )
    assert response.status_code == 422
    assert [e["path"] for e in response.json()["errors"]] == [f"query.{parameter}"]


@pytest.mark.parametrize(
    ("quantity", "unit", "km", "trips", "figure"),
    [
        (Decimal("99999999999.999"), "t", None, None, "mass_kg"),
        (Decimal("1"), "kg", Decimal("9999999.99"), 1_000_000, "km_saved"),
    ],
)
def test_a_figure_too_large_for_its_column_is_a_422_naming_it(
    quantity: Decimal, unit: str, km: Decimal | None, trips: int | None, figure: str
) -> None:
    factors = impact.CategoryFactors({}, Decimal("0.5"), "test")
    with pytest.raises(RequestValidationError) as refused:
        impact.compute(quantity, unit, factors, replaced_site_km=km, replaced_trips=trips)
    assert refused.value.extra == {"errors": [{"path": f"impact.{figure}", "message": ANY, "source": "body"}]}
