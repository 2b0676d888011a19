from __future__ import annotations

from typing import Any

from litestar.testing import AsyncTestClient

from api.observability import RequestContext


def _walk(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    found = []
    for node in nodes:
        found.append(node)
        found.extend(_walk(node["children"]))
    return found


async def test_the_tree_nests_children_under_their_parent(client: AsyncTestClient[RequestContext]) -> None:
    response = await client.get("/v1/categories")
    assert response.status_code == 200
    tree = response.json()
    assert {"wood", "paper", "plastics", "energy", "services"} <= {n["id"] for n in tree}
    assert all(n["parent_id"] is None for n in tree)
    for node in _walk(tree):
        for child in node["children"]:
            assert child["parent_id"] == node["id"]
            assert child["id"].startswith(node["id"] + ".")
    nodes = {n["id"]: n for n in _walk(tree)}
    assert 60 <= len(nodes) <= 90
    pallets = nodes["wood.pallets"]
    assert pallets["kg_per_unit"] == {"pallet": 25}
    assert pallets["ewc_codes"] == ["15 01 03"]
    assert pallets["co2e_kg_per_kg"] > 0
    assert pallets["factor_source"]
    assert [c["id"] for c in pallets["children"]] == ["wood.pallets.euro", "wood.pallets.one_way"]
    assert nodes["services.security"]["co2e_kg_per_kg"] is None


async def test_labels_follow_accept_language(client: AsyncTestClient[RequestContext]) -> None:
    default = await client.get("/v1/categories")
    assert default.headers["content-language"] == "fr"
    assert "accept-language" in default.headers["vary"].lower()
    english = await client.get("/v1/categories", headers={"accept-language": "en-GB,en;q=0.9,fr;q=0.8"})
    assert english.headers["content-language"] == "en"
    french_labels = {n["id"]: n["label"] for n in _walk(default.json())}
    english_labels = {n["id"]: n["label"] for n in _walk(english.json())}
    assert french_labels["wood.pallets"] == "Palettes en bois"
    assert english_labels["wood.pallets"] == "Wooden pallets"
    assert english_labels["services.staff"] == "Shared staff"
    german = await client.get("/v1/categories/wood", headers={"accept-language": "de"})
    assert german.headers["content-language"] == "fr"
    assert german.json()["label"] == "Bois et palettes"


async def test_one_category_comes_with_its_subtree(client: AsyncTestClient[RequestContext]) -> None:
    response = await client.get("/v1/categories/wood.pallets", headers={"accept-language": "en"})
    assert response.status_code == 200
    body = response.json()
    assert body["id"] == "wood.pallets"
    assert body["label"] == "Wooden pallets"
    assert body["parent_id"] == "wood"
    assert [c["id"] for c in body["children"]] == ["wood.pallets.euro", "wood.pallets.one_way"]
    leaf = (await client.get("/v1/categories/services.staff")).json()
    assert leaf["children"] == []
    assert leaf["allowed_units"] == ["person_day", "hour"]


async def test_an_unknown_category_is_a_404_problem(client: AsyncTestClient[RequestContext]) -> None:
    for unknown in ("nope", "wood.nope", "wood.pallets.euro.x", "wood_pallets", "WOOD"):
        response = await client.get(f"/v1/categories/{unknown}")
        assert response.status_code == 404, unknown
        assert response.headers["content-type"].startswith("application/problem+json")


async def test_units_are_labelled_in_the_callers_language(client: AsyncTestClient[RequestContext]) -> None:
    french = await client.get("/v1/units")
    assert french.headers["content-language"] == "fr"
    units = {u["code"]: u for u in french.json()}
    assert units["t"] == {"code": "t", "label": "tonne", "dimension": "mass", "kg_factor": 1000.0}
    assert units["pallet"]["label"] == "palette"
    assert units["pallet"]["kg_factor"] is None
    english = {
        u["code"]: u for u in (await client.get("/v1/units", headers={"accept-language": "en"})).json()
    }
    assert english["person_day"]["label"] == "person-day"
    assert english["km"]["dimension"] == "length"


async def test_waste_codes_filter_by_chapter_hazard_and_text(client: AsyncTestClient[RequestContext]) -> None:
    packaging = (await client.get("/v1/waste-codes", params={"chapter": "15", "limit": 200})).json()
    assert [c["code"] for c in packaging["items"]][:3] == ["15 01 01", "15 01 02", "15 01 03"]
    assert len(packaging["items"]) == 12
    assert packaging["next_cursor"] is None
    hazardous = (
        await client.get("/v1/waste-codes", params={"chapter": "15", "hazardous": "true", "q": "packaging"})
    ).json()
    assert [c["code"] for c in hazardous["items"]] == ["15 01 10", "15 01 11"]
    assert all(c["hazardous"] for c in hazardous["items"])
    safe = (await client.get("/v1/waste-codes", params={"hazardous": "false", "q": "Wooden"})).json()
    assert [c["code"] for c in safe["items"]] == ["15 01 03"]
    by_code = (await client.get("/v1/waste-codes", params={"q": "1601"})).json()
    assert by_code["items"][0]["code"] == "16 01 03"
    assert all(c["code"].startswith("16 01") for c in by_code["items"])
    french = (await client.get("/v1/waste-codes", params={"q": "emballages en bois"})).json()
    assert [c["code"] for c in french["items"]] == ["15 01 03"]


async def test_waste_codes_page_through_the_whole_catalogue(client: AsyncTestClient[RequestContext]) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, str | int] = {"limit": 200}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/v1/waste-codes", params=params)).json()
        seen.extend(c["code"] for c in page["items"])
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 842
    assert seen == sorted(seen)


async def test_bad_waste_code_filters_are_422(client: AsyncTestClient[RequestContext]) -> None:
    for params in (
        {"chapter": "1"},
        {"chapter": "ab"},
        {"hazardous": "perhaps"},
        {"limit": 0},
        {"cursor": "x!"},
    ):
        response = await client.get("/v1/waste-codes", params=params)
        # A cursor the API did not sign is not a field error but a 400 `invalid-cursor`.
        assert response.status_code == (400 if "cursor" in params else 422), params
        assert response.json()["errors"][0]["path"] == f"query.{next(iter(params))}"
