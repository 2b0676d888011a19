from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest
from click.testing import CliRunner
from litestar.testing import AsyncTestClient

from api.auth.tokens import LocalIssuer
from api.cli import main
from api.observability import RequestContext
from tests import factories
from tests.factories import Person

HEADER = "siret,direction,category,title,unit,quantity,capacity,capacity_period,waste_code,publish"


@dataclass
class Programme:
    network: uuid.UUID
    operator: Person
    sirets: dict[str, str]


@pytest.fixture
async def programme(db: asyncpg.Connection, issuer: LocalIssuer) -> Programme:
    await factories.catalogue(db)
    operator = await factories.person(db, issuer, "op@cci.fr")
    network = await factories.network(db, "parc", operators=(operator,))
    sirets = {}
    for name, status in (("Active", "active"), ("Pending", "pending"), ("Suspended", "suspended")):
        organisation = await factories.organisation(db, name)
        await db.execute(
            "UPDATE organisations SET latitude = 45.7, longitude = 4.8 WHERE id = $1", organisation
        )
        await factories.membership(db, network, organisation, status)
        sirets[status] = await db.fetchval("SELECT siret FROM organisations WHERE id = $1", organisation)
    return Programme(network, operator, sirets)


def _csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


async def _post(client: AsyncTestClient[RequestContext], p: Programme, body: bytes):  # type: ignore[no-untyped-def]
    return await client.post(
        f"/v1/networks/{p.network}/imports",
        content=body,
        headers={**p.operator.headers(), "content-type": "text/csv"},
    )


async def test_a_clean_file_creates_every_listing(
    programme: Programme, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    active, pending = programme.sirets["active"], programme.sirets["pending"]
    body = _csv(
        f"{active},offer,testwood.pallets,Palettes Europe,pallet,40,,,15 01 03,true",
        f"{pending},need,testwood,Chutes de bois,kg,500,,,,false",
        f"{active},offer,teststorage,Entrepôt 200 m²,m2,,200,month,,true",
    )
    response = await _post(client, programme, body)
    assert response.status_code == 201, response.text
    assert (response.json()["rows"], response.json()["created"], response.json()["published"]) == (3, 3, 2)
    rows = await db.fetch("SELECT title, status, available_quantity, import_id FROM listings ORDER BY title")
    assert [(r["title"], r["status"]) for r in rows] == [
        ("Chutes de bois", "draft"),
        ("Entrepôt 200 m²", "published"),
        ("Palettes Europe", "published"),
    ]
    assert {r["import_id"] for r in rows} == {uuid.UUID(response.json()["id"])}
    assert await db.fetchval("SELECT count(*) FROM outbox WHERE topic = 'listing.changed'") == 3
    assert await db.fetchval("SELECT count(*) FROM listing_events WHERE action = 'import'") == 3


async def test_one_bad_row_rejects_the_file_and_reports_every_bad_line(
    programme: Programme, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    active = programme.sirets["active"]
    body = _csv(
        f"{active},offer,testwood.pallets,Palettes Europe,pallet,40,,,,true",
        f"{active},offer,testwood.pallets,Palettes,m2,40,,,,false",
        "73282932000074,offer,testwood,Bois,kg,10,,,,false",
        f"{active},offer,testwood,Bois,kg,beaucoup,,,,false",
        f"{programme.sirets['pending']},offer,testwood,Bois,kg,10,,,,true",
        f"{programme.sirets['suspended']},offer,testwood,Bois,kg,10,,,,false",
        f"{active},offer,testwood,Bois,kg,10,,,99 99 99,false",
    )
    before = await factories.snapshot(db)
    response = await _post(client, programme, body)
    assert response.status_code == 422
    report = {r["row"]: [e["path"] for e in r["errors"]] for r in response.json()["rows"]}
    assert report == {
        3: ["row.unit"],
        4: ["row.siret"],
        5: ["row.quantity"],
        6: ["row.publish"],
        7: ["row.siret"],
        8: ["row.waste_code"],
    }
    assert "nothing was imported" in response.json()["detail"]
    assert await factories.snapshot(db) == before


async def test_a_wrong_header_is_422_naming_the_columns(
    programme: Programme, client: AsyncTestClient[RequestContext]
) -> None:
    response = await _post(client, programme, b"siret,sens,category\n1,2,3\n")
    assert response.status_code == 422
    assert "unknown columns sens" in response.json()["detail"]
    assert "missing columns direction, title, unit" in response.json()["detail"]


async def test_semicolons_and_a_byte_order_mark_are_accepted(
    programme: Programme, client: AsyncTestClient[RequestContext]
) -> None:
    text = (
        "\ufeffsiret;direction;category;title;unit;quantity\n"
        + f"{programme.sirets['active']};offer;testwood;Bois;kg;12.5\n"
    )
    response = await _post(client, programme, text.encode())
    assert response.status_code == 201, response.text


async def test_not_utf8_is_400(programme: Programme, client: AsyncTestClient[RequestContext]) -> None:
    response = await _post(client, programme, "siret,title\n1,Entrepôt\n".encode("latin-1"))
    assert response.status_code == 400


def test_the_cli_imports_a_file(database_url: str, tmp_path: Path, programme: Programme) -> None:
    path = tmp_path / "listings.csv"
    path.write_bytes(_csv(f"{programme.sirets['active']},offer,testwood.pallets,Palettes,pallet,40,,,,true"))
    result = CliRunner().invoke(
        main, ["import", str(path), "--network", "parc"], env={"DATABASE_URL": database_url}
    )
    assert result.exit_code == 0, result.output
    assert "imported 1 listings (1 published)" in result.output
    bad = tmp_path / "bad.csv"
    bad.write_bytes(_csv(f"{programme.sirets['active']},offer,testwood.pallets,Palettes,m2,40,,,,true"))
    refused = CliRunner().invoke(
        main, ["import", str(bad), "--network", "parc"], env={"DATABASE_URL": database_url}
    )
    assert refused.exit_code != 0
    assert "line 2: unit:" in refused.output


async def test_a_file_uploaded_from_a_form_is_imported_and_its_import_can_be_read_back(
    programme: Programme, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    active = programme.sirets["active"]
    body = _csv(
        f"{active},offer,testwood.pallets,Palettes Europe,pallet,40,,,,true",
        f"{active},need,testwood,Chutes de bois,kg,500,,,,false",
    )
    response = await client.post(
        f"/v1/networks/{programme.network}/imports",
        files={"file": ("listings.csv", body, "text/csv")},
        headers=programme.operator.headers(),
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert (created["rows"], created["created"], created["published"]) == (2, 2, 1)
    location = response.headers["location"]
    assert location == f"/v1/networks/{programme.network}/imports/{created['id']}"
    again = await client.get(location, headers=programme.operator.headers())
    assert again.status_code == 200, again.text
    assert again.json() == created
    assert await db.fetchval("SELECT count(*) FROM listings") == 2


async def test_a_form_without_the_file_field_is_400_and_imports_nothing(
    programme: Programme, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    response = await client.post(
        f"/v1/networks/{programme.network}/imports",
        files={"upload": ("listings.csv", _csv(), "text/csv")},
        headers=programme.operator.headers(),
    )
    assert response.status_code == 400
    assert response.headers["content-type"] == "application/problem+json"
    assert "`file`" in response.json()["detail"]
    assert await db.fetchval("SELECT count(*) FROM imports") == 0


async def test_another_content_type_is_415_naming_the_two_accepted(
    programme: Programme, client: AsyncTestClient[RequestContext]
) -> None:
    response = await client.post(
        f"/v1/networks/{programme.network}/imports",
        content=_csv(),
        headers={**programme.operator.headers(), "content-type": "application/json"},
    )
    assert response.status_code == 415
    problem = response.json()
    assert (problem["status"], problem["type"]) == (
        415,
        "https://symbiose.eco/problems/unsupported-media-type",
    )
    assert "text/csv" in problem["detail"]
    assert "multipart/form-data" in problem["detail"]


async def test_an_import_of_another_network_is_not_found(
    programme: Programme, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    other = await factories.network(db, "autre", operators=(programme.operator,))
    response = await _post(
        client, programme, _csv(f"{programme.sirets['active']},need,testwood,Bois,kg,1,,,,false")
    )
    assert response.status_code == 201, response.text
    wrong = await client.get(
        f"/v1/networks/{other}/imports/{response.json()['id']}", headers=programme.operator.headers()
    )
    assert wrong.status_code == 404
