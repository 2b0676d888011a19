"""Every class of bad input, on every route family: a 4xx problem naming the field, nothing stored.

Each table row is one request a careless client or an attacker could send. The classes: decimals
that are not finite, too large or finer than the column; timestamps out of range or overflowing
once in UTC; control characters in text; malformed, non-UTF-8 or deeply nested JSON; forged or
changed cursors; If-Match values that are not this resource's ETag; CSV cells that cannot be read;
bodies of a media type the route does not read.
"""

from __future__ import annotations

import base64
import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import pytest
from litestar.testing import AsyncTestClient

from api.auth.tokens import LocalIssuer
from api.observability import RequestContext
from tests import factories
from tests.factories import Person

OVERFLOW_LOW = "0001-01-01T00:00:00+14:00"
OVERFLOW_HIGH = "9999-12-31T23:59:59-14:00"
NOT_UTF8 = b'{"q":"\xff"}'
DEEP = b"[" * 20_000 + b"]" * 20_000


def forged_cursor(*values: Any) -> str:
    """A cursor as the API made them before they were signed: base64url of a JSON list."""
    return base64.urlsafe_b64encode(json.dumps(list(values)).encode()).decode().rstrip("=")


@dataclass
class World:
    network: uuid.UUID
    zone: uuid.UUID
    giver: uuid.UUID
    taker: uuid.UUID
    offer: uuid.UUID
    service: uuid.UUID
    requested: uuid.UUID
    """A transfer of the offer, requested by the taker."""
    accepted: uuid.UUID
    """A transfer of the offer, accepted by the giver."""
    reservation: uuid.UUID
    """A requested reservation of the service, by the taker."""
    callers: dict[str, dict[str, str]] = field(default_factory=dict)


@pytest.fixture
async def world(db: asyncpg.Connection, issuer: LocalIssuer) -> World:
    alice = await factories.person(db, issuer, "alice@giver.fr")
    tom = await factories.person(db, issuer, "tom@taker.fr")
    olga = await factories.person(db, issuer, "olga@operator.fr")
    root = await factories.person(db, issuer, "root@symbiose.eco", platform_admin=True)
    network = await factories.network(db, "parc-sud", operators=(olga,))
    await factories.network(db, "parc-nord")
    zone = await factories.zone(db, network, "Parc Sud")
    giver = await factories.organisation(db, "Giver", admins=(alice,))
    taker = await factories.organisation(db, "Taker", admins=(tom,))
    for organisation in (giver, taker):
        await factories.membership(db, network, organisation, "active")
        await db.execute(
            "UPDATE organisations SET latitude = 45.7, longitude = 4.85 WHERE id = $1", organisation
        )
    offer = await factories.listing(db, network, giver, visibility="public")
    service = await factories.service_listing(db, network, giver)
    await db.execute("UPDATE listings SET visibility = 'public' WHERE id = $1", service)
    requested = await factories.transfer(db, offer, taker=taker)
    accepted = await factories.transfer(db, offer, taker=taker, status="accepted")
    await db.execute("UPDATE transfers SET agreed_quantity = requested_quantity WHERE id = $1", accepted)
    reservation = await factories.reservation(db, service, requester=taker)
    callers = {
        "anonymous": {},
        "giver": alice.headers(giver),
        "taker": tom.headers(taker),
        "operator": olga.headers(),
        "root": root.headers(),
    }
    return World(network, zone, giver, taker, offer, service, requested, accepted, reservation, callers)


@dataclass(frozen=True)
class Bad:
    """One bad request and the answer expected: `status`, and `path` among the problem's errors."""

    label: str
    method: str
    path: str
    caller: str
    status: int
    field: str | None
    json: Any = None
    content: bytes | None = None
    content_type: str | None = None
    params: dict[str, str] | None = None
    headers: dict[str, str] | None = None


LISTING = {
    "direction": "offer",
    "category_id": "testwood.pallets",
    "title": "Palettes Europe",
    "unit": "pallet",
    "quantity": "10",
}


def listing_create(**overrides: Any) -> dict[str, Any]:
    return {"network_id": "{network}", **LISTING, **overrides}


ZONE = {"name": "Zone", "kind": "other", "latitude": 45.7, "longitude": 4.85}
WINDOW = {"start": "2030-03-02T08:00:00Z", "end": "2030-03-02T12:00:00Z", "quantity": "1"}
SCHEDULE = {"scheduled_for": "2030-01-01T08:00:00Z", "transport_mode": "road"}
V1 = {"if-match": '"1"'}
LISTING_1E400 = (b'{"network_id":"{network}","direction":"offer","category_id":"testwood.pallets",'
                 b'"title":"Palettes","unit":"pallet","quantity":1e400}')  # fmt: skip
ZONE_5E324 = b'{"name":"Z","kind":"other","latitude":45.7,"longitude":4.85,"radius_km":5e-324}'
LISTINGS, SEARCH, ZONES = "/v1/listings", "/v1/search/listings", "/v1/networks/{network}/zones"
TRANSFERS, RESERVATIONS = "/v1/listings/{offer}/transfers", "/v1/listings/{service}/reservations"
SCHEDULING, ACCEPTING = "/v1/transfers/{accepted}/schedule", "/v1/transfers/{requested}/accept"
AVAILABILITY, IMPACT = "/v1/listings/{service}/availability", "/v1/networks/{network}/impact"

# ruff: noqa: E501 - one request per line reads as a table
# fmt: off
DECIMALS = [
    Bad("listing quantity NaN", "POST", LISTINGS, "giver", 422, "body.quantity", listing_create(quantity="NaN")),
    Bad("listing quantity Infinity", "POST", LISTINGS, "giver", 422, "body.quantity", listing_create(quantity="Infinity")),
    Bad("listing quantity 1e400", "POST", LISTINGS, "giver", 422, "body.quantity", content=LISTING_1E400),
    Bad("listing quantity finer than stored", "POST", LISTINGS, "giver", 422, "body.quantity", listing_create(quantity="0.0001")),
    Bad("listing quantity too large", "POST", LISTINGS, "giver", 422, "body.quantity", listing_create(quantity="1e12")),
    Bad("listing PATCH capacity NaN", "PATCH", "/v1/listings/{service}", "giver", 422, "body.capacity", {"capacity": "NaN"}, headers=V1),
    Bad("transfer quantity NaN", "POST", TRANSFERS, "taker", 422, "body.quantity", {"quantity": "NaN"}),
    Bad("transfer quantity -Infinity", "POST", TRANSFERS, "taker", 422, "body.quantity", {"quantity": "-Infinity"}),
    Bad("transfer quantity 1e400", "POST", TRANSFERS, "taker", 422, "body.quantity", content=b'{"quantity":1e400}'),
    Bad("transfer quantity 5e-324", "POST", TRANSFERS, "taker", 422, "body.quantity", content=b'{"quantity":5e-324}'),
    Bad("accept quantity NaN", "POST", ACCEPTING, "giver", 422, "body.quantity", {"quantity": "NaN"}),
    Bad("schedule distance NaN", "POST", SCHEDULING, "giver", 422, "body.distance_km", {**SCHEDULE, "distance_km": "NaN"}),
    Bad("schedule distance finer than stored", "POST", SCHEDULING, "giver", 422, "body.distance_km", {**SCHEDULE, "distance_km": 12.345}),
    Bad("reservation quantity NaN", "POST", RESERVATIONS, "taker", 422, "body.quantity", {**WINDOW, "quantity": "NaN"}),
    Bad("search quantity_at_least NaN", "GET", SEARCH, "anonymous", 422, "query.quantity_at_least", params={"quantity_at_least": "NaN"}),
    Bad("search quantity_at_least Infinity", "GET", SEARCH, "anonymous", 422, "query.quantity_at_least", params={"quantity_at_least": "Infinity"}),
    Bad("search quantity_at_least 1e400", "GET", SEARCH, "anonymous", 422, "query.quantity_at_least", params={"quantity_at_least": "1e400"}),
    Bad("search body quantity_at_least NaN", "POST", SEARCH, "anonymous", 422, "body.quantity_at_least", {"quantity_at_least": "NaN"}),
    Bad("zone radius 0.0001", "POST", ZONES, "operator", 422, "body.radius_km", {**ZONE, "radius_km": 0.0001}),
    Bad("zone radius 5e-324", "POST", ZONES, "operator", 422, "body.radius_km", content=ZONE_5E324),
    Bad("zone radius NaN", "POST", ZONES, "operator", 422, "body.radius_km", {**ZONE, "radius_km": "NaN"}),
]

TIMESTAMPS = [
    Bad("available_until overflowing low", "POST", LISTINGS, "giver", 422, "body.available_until", listing_create(available_until=OVERFLOW_LOW)),
    Bad("available_until overflowing high", "POST", LISTINGS, "giver", 422, "body.available_until", listing_create(available_until=OVERFLOW_HIGH)),
    Bad("available_until in year 1", "POST", LISTINGS, "giver", 422, "body.available_until", listing_create(available_until="0001-01-01T00:00:00Z")),
    Bad("available_until without offset", "POST", LISTINGS, "giver", 422, "body.available_until", listing_create(available_until="2030-01-01T00:00:00")),
    Bad("PATCH available_from in 1999", "PATCH", "/v1/listings/{offer}", "giver", 422, "body.available_from", {"available_from": "1999-12-31T23:59:59Z"}, headers=V1),
    Bad("reservation start overflowing", "POST", RESERVATIONS, "taker", 422, "body.start", {**WINDOW, "start": OVERFLOW_LOW}),
    Bad("reservation end in 9999", "POST", RESERVATIONS, "taker", 422, "body.end", {**WINDOW, "end": "9999-01-01T00:00:00Z"}),
    Bad("scheduled_for in year 1", "POST", SCHEDULING, "giver", 422, "body.scheduled_for", {**SCHEDULE, "scheduled_for": "0001-01-01"}),
    Bad("scheduled_for overflowing", "POST", SCHEDULING, "giver", 422, "body.scheduled_for", {**SCHEDULE, "scheduled_for": OVERFLOW_HIGH}),
    Bad("impact from overflowing", "GET", IMPACT, "operator", 422, "query.from", params={"from": OVERFLOW_LOW}),
    Bad("impact to overflowing", "GET", IMPACT, "operator", 422, "query.to", params={"to": OVERFLOW_HIGH}),
    Bad("reservations from overflowing", "GET", "/v1/reservations", "taker", 422, "query.from", params={"from": OVERFLOW_LOW}),
    Bad("reservations to in 9999", "GET", "/v1/reservations", "taker", 422, "query.to", params={"to": "9999-01-01T00:00:00Z"}),
    Bad("availability from overflowing (anonymous)", "GET", AVAILABILITY, "anonymous", 422, "query.from", params={"from": OVERFLOW_LOW}),
    Bad("availability to overflowing (anonymous)", "GET", AVAILABILITY, "anonymous", 422, "query.to", params={"to": OVERFLOW_HIGH}),
    Bad("search available_on in year 1", "GET", SEARCH, "anonymous", 422, "query.available_on", params={"available_on": "0001-01-01"}),
    Bad("search body available_on in 9999", "POST", SEARCH, "anonymous", 422, "body.available_on", {"available_on": "9999-12-31"}),
]

TEXT = [
    Bad("title with NUL", "POST", LISTINGS, "giver", 422, "body.title", listing_create(title="Pal\u0000ettes")),
    Bad("description with NUL", "POST", LISTINGS, "giver", 422, "body.description", listing_create(description="a\u0000b")),
    Bad("description with ESC", "POST", LISTINGS, "giver", 422, "body.description", listing_create(description="a\u001bb")),
    Bad("title ending in a newline", "POST", LISTINGS, "giver", 422, "body.title", listing_create(title="Palettes\n")),
    Bad("PATCH title with NUL", "PATCH", "/v1/listings/{offer}", "giver", 422, "body.title", {"title": "a\u0000bc"}, headers=V1),
    Bad("photo URL with NUL", "POST", LISTINGS, "giver", 422, "body.photos[0]", listing_create(photos=["https://x.fr/\u0000"])),
    Bad("transfer message with NUL", "POST", TRANSFERS, "taker", 422, "body.message", {"quantity": "1", "message": "\u0000"}),
    Bad("reservation message with NUL", "POST", RESERVATIONS, "taker", 422, "body.message", {**WINDOW, "message": "\u0000"}),
    Bad("organisation name with NUL", "PATCH", "/v1/organisations/{giver}", "giver", 422, "body.name", {"name": "G\u0000"}, headers=V1),
    Bad("network name with NUL", "PATCH", "/v1/networks/{network}", "root", 422, "body.name", {"name": "N\u0000"}, headers=V1),
    Bad("zone name with NUL", "POST", ZONES, "operator", 422, "body.name", {**ZONE, "name": "Z\u0000", "radius_km": 1}),
    Bad("search body q with NUL", "POST", SEARCH, "anonymous", 422, "body.q", {"q": "pal\u0000"}),
    Bad("search q with NUL", "GET", SEARCH, "anonymous", 422, "query.q", params={"q": "pal\u0000"}),
    Bad("waste codes q with NUL", "GET", "/v1/waste-codes", "anonymous", 422, "query.q", params={"q": "bois\u0000"}),
    Bad("listings category_id with NUL", "GET", LISTINGS, "giver", 422, "query.category_id", params={"category_id": "wood\u0000"}),
    Bad("SIRET ending in a newline", "POST", "/v1/organisations", "giver", 422, "body.siret", {"name": "Nouvelle", "siret": "73282932000074\n"}),
    Bad("unit ending in a newline", "POST", LISTINGS, "giver", 422, "body.unit", listing_create(unit="pallet\n")),
]

BODIES = [
    Bad("search body not UTF-8", "POST", SEARCH, "anonymous", 400, "body", content=NOT_UTF8),
    Bad("search body nested 20 000 deep", "POST", SEARCH, "anonymous", 400, "body", content=DEEP),
    Bad("search body not JSON", "POST", SEARCH, "anonymous", 400, "body", content=b'{"q":'),
    Bad("listing body not UTF-8", "POST", LISTINGS, "giver", 400, "body", content=b'{"title":"\xc3\x28"}'),
    Bad("listing body nested 20 000 deep", "POST", LISTINGS, "giver", 400, "body", content=DEEP),
    Bad("transfer body nested 5 000 deep", "POST", TRANSFERS, "taker", 400, "body", content=b'{"quantity":' + b"[" * 5000 + b"]" * 5000 + b"}"),
    Bad("reservation body not UTF-8", "POST", RESERVATIONS, "taker", 400, "body", content=b'{"message":"\xfe"}'),
    Bad("action body nested 20 000 deep", "POST", ACCEPTING, "giver", 400, "body", content=DEEP),
    Bad("zone body not UTF-8", "POST", ZONES, "operator", 400, "body", content=b'{"name":"\xff"}'),
]

MEDIA_TYPES = [
    Bad("listing as text/plain", "POST", LISTINGS, "giver", 415, "header.content-type", content=json.dumps(listing_create()).encode(), content_type="text/plain"),
    Bad("listing PATCH as a form", "PATCH", "/v1/listings/{offer}", "giver", 415, "header.content-type", content=b'{"title":"Palettes neuves"}', content_type="application/x-www-form-urlencoded", headers=V1),
    Bad("transfer without Content-Type", "POST", TRANSFERS, "taker", 415, "header.content-type", content=b'{"quantity":"1"}', content_type=""),
    Bad("search body as text/csv", "POST", SEARCH, "anonymous", 415, "header.content-type", content=b'{"q":"palettes"}', content_type="text/csv"),
    Bad("import as application/json", "POST", "/v1/networks/{network}/imports", "operator", 415, "header.content-type", content=b"siret,direction\n", content_type="application/json"),
]

LISTS = [
    ("networks", "/v1/networks", "anonymous"),
    ("members", "/v1/networks/{network}/members", "operator"),
    ("memberships", "/v1/networks/{network}/memberships", "operator"),
    ("listings", LISTINGS, "giver"),
    ("organisation listings", "/v1/organisations/{giver}/listings", "giver"),
    ("transfers", "/v1/transfers", "taker"),
    ("reservations", "/v1/reservations", "taker"),
    ("waste codes", "/v1/waste-codes", "anonymous"),
]
FORGED_CURSORS = [
    ("holding a number", "WzFd"),
    ("holding NUL", forged_cursor("\u0000", str(uuid.uuid4()))),
    ("holding an overflowing timestamp", forged_cursor(OVERFLOW_LOW, str(uuid.uuid4()))),
    ("that is not base64", "%%%"),
]
CURSORS = [
    Bad(f"{name} cursor {label}", "GET", path, caller, 400, "query.cursor", params={"cursor": cursor})
    for name, path, caller in LISTS
    for label, cursor in FORGED_CURSORS
]

UPDATES = [
    ("listing PATCH", "PATCH", "/v1/listings/{offer}", "giver", {"title": "Palettes neuves"}),
    ("organisation PATCH", "PATCH", "/v1/organisations/{giver}", "giver", {"city": "Vénissieux"}),
    ("network PATCH", "PATCH", "/v1/networks/{network}", "root", {"name": "Parc Sud bis"}),
    ("reservation accept", "POST", "/v1/reservations/{reservation}/accept", "giver", None),
    ("transfer accept", "POST", "/v1/transfers/{requested}/accept", "giver", None),
]
BAD_IF_MATCH = [("superscript two", '"²"'), ("weak", 'W/"1"'), ("unquoted", "1"), ("garbage", '"1" x')]
IF_MATCH = [
    Bad(f"{name} If-Match {label}", method, path, caller, 412, "header.if-match", body, headers={"if-match": value})
    for name, method, path, caller, body in UPDATES
    for label, value in BAD_IF_MATCH
]
# fmt: on

CSV_HEADER = "siret,direction,category,title,unit,quantity,available_until,description"
CSV_ROW = {"siret": "{giver_siret}", "direction": "offer", "category": "testwood.pallets", "title": "Palettes",
           "unit": "pallet", "quantity": "4", "available_until": "", "description": ""}  # fmt: skip


def csv_case(label: str, cells: dict[str, str]) -> Bad:
    row = {**CSV_ROW, **cells}
    text = CSV_HEADER + "\n" + ",".join(row[name] for name in CSV_HEADER.split(",")) + "\n"
    path = "/v1/networks/{network}/imports"
    return Bad(label, "POST", path, "operator", 422, "row", content=text.encode(), content_type="text/csv")


IMPORTS = [
    csv_case("CSV title with NUL", {"title": "Pal\u0000ettes"}),
    csv_case("CSV cell over 128 KiB", {"description": "x" * 140_000}),
    csv_case("CSV quantity NaN", {"quantity": "NaN"}),
    csv_case("CSV quantity finer than stored", {"quantity": "0.0001"}),
    csv_case("CSV available_until overflowing", {"available_until": OVERFLOW_LOW}),
    csv_case("CSV available_until in year 1", {"available_until": "0001-01-01T00:00:00Z"}),
]

FAMILIES = {
    "decimals": DECIMALS,
    "timestamps": TIMESTAMPS,
    "text": TEXT,
    "bodies": BODIES,
    "media types": MEDIA_TYPES,
    "cursors": CURSORS,
    "if-match": IF_MATCH,
    "imports": IMPORTS,
}


def _fill(text: str, world: World, siret: str) -> str:
    names = {k: str(v) for k, v in vars(world).items() if isinstance(v, uuid.UUID)}
    for name, value in {**names, "giver_siret": siret}.items():
        text = text.replace("{" + name + "}", value)
    return text


async def _send(client: AsyncTestClient[RequestContext], world: World, case: Bad, siret: str) -> Any:
    # Header values go as bytes: `If-Match: "²"` is latin-1 on the wire.
    headers: dict[str, Any] = {**world.callers[case.caller]}
    headers.update({k: v.encode("latin-1") for k, v in (case.headers or {}).items()})
    if case.content is not None:
        content = _fill(case.content.decode("latin-1"), world, siret).encode("latin-1")
        if case.content_type is None:
            headers["content-type"] = "application/json"
        elif case.content_type:
            headers["content-type"] = case.content_type
    elif case.json is not None:
        content = _fill(json.dumps(case.json), world, siret).encode()
        headers["content-type"] = "application/json"
    else:
        content = None
    return await client.request(
        case.method, _fill(case.path, world, siret), content=content, params=case.params, headers=headers
    )


def _paths(problem: dict[str, Any]) -> list[str]:
    paths = [error.get("path") for error in problem.get("errors", [])]
    for row in problem.get("rows", []):
        paths += [error.get("path") for error in row.get("errors", [])]
    return [p for p in paths if isinstance(p, str)]


@pytest.mark.parametrize("family", list(FAMILIES))
async def test_bad_input_is_a_4xx_problem_naming_the_field_and_changes_nothing(
    family: str, world: World, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    siret = await db.fetchval("SELECT siret FROM organisations WHERE id = $1", world.giver)
    before = await factories.snapshot(db)
    failures = []
    for case in FAMILIES[family]:
        response = await _send(client, world, case, siret)
        problem = (
            response.json()
            if response.headers.get("content-type", "").startswith("application/problem+json")
            else {}
        )
        wrong = []
        if response.status_code != case.status:
            wrong.append(f"status {response.status_code}, expected {case.status}")
        if not problem:
            wrong.append(f"content-type {response.headers.get('content-type')!r}")
        elif problem.get("status") != response.status_code:
            wrong.append(f"problem status {problem.get('status')}")
        if case.field is not None and problem and not any(p.startswith(case.field) for p in _paths(problem)):
            wrong.append(f"paths {_paths(problem)}, expected {case.field}")
        after = await factories.snapshot(db)
        if after != before:
            wrong.append(f"changed {sorted(t for t in after if after[t] != before.get(t))}")
        if wrong:
            failures.append(f"{case.label}: {'; '.join(wrong)} — {response.text[:300]}")
    assert failures == [], "\n".join(failures)


async def test_a_cursor_changed_by_the_client_is_refused_and_an_issued_one_works(
    world: World, client: AsyncTestClient[RequestContext]
) -> None:
    first = await client.get("/v1/networks", params={"limit": 1})
    cursor = first.json()["next_cursor"]
    assert (await client.get("/v1/networks", params={"limit": 1, "cursor": cursor})).status_code == 200
    payload, _, signature = cursor.partition(".")
    values = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    changed = forged_cursor(*[v + "0" for v in values]) + "." + signature
    answer = await client.get("/v1/networks", params={"limit": 1, "cursor": changed})
    assert answer.status_code == 400
    assert answer.json()["type"].endswith("/invalid-cursor")


@pytest.mark.parametrize(
    ("if_match", "status"),
    [('"1"', 200), ("*", 200), ('"7", "1"', 200), ('W/"1"', 412), ('"2"', 412), (None, 428)],
)
async def test_if_match_follows_rfc_9110(
    world: World,
    client: AsyncTestClient[RequestContext],
    db: asyncpg.Connection,
    if_match: str | None,
    status: int,
) -> None:
    headers = {**world.callers["giver"], **({"if-match": if_match} if if_match is not None else {})}
    response = await client.patch(
        f"/v1/listings/{world.offer}", json={"title": "Palettes neuves"}, headers=headers
    )
    assert response.status_code == status, response.text
    title = await db.fetchval("SELECT title FROM listings WHERE id = $1", world.offer)
    assert title == ("Palettes neuves" if status == 200 else "Palettes Europe")


async def test_a_suspended_member_reads_its_listings_but_changes_none(
    world: World, client: AsyncTestClient[RequestContext], db: asyncpg.Connection
) -> None:
    await db.execute("UPDATE memberships SET status = 'suspended' WHERE organisation_id = $1", world.giver)
    headers = world.callers["giver"]
    assert (await client.get(f"/v1/listings/{world.offer}", headers=headers)).status_code == 200
    before = await factories.snapshot(db)
    patch = await client.patch(
        f"/v1/listings/{world.offer}",
        json={"title": "Palettes neuves"},
        headers={**headers, "if-match": '"1"'},
    )
    assert patch.status_code == 403, patch.text
    assert "suspended" in patch.json()["detail"]
    assert await factories.snapshot(db) == before


async def test_an_idempotency_key_is_the_users_and_the_acting_organisations(
    db: asyncpg.Connection, issuer: LocalIssuer, world: World, client: AsyncTestClient[RequestContext]
) -> None:
    bea: Person = await factories.person(db, issuer, "bea@two.fr")
    first = await factories.organisation(db, "One", admins=(bea,))
    second = await factories.organisation(db, "Two", admins=(bea,))
    for organisation in (first, second):
        await factories.membership(db, world.network, organisation, "active")
    path = f"/v1/listings/{world.offer}/transfers"
    key = {"idempotency-key": "same-key"}
    one = await client.post(path, json={"quantity": "1"}, headers={**bea.headers(first), **key})
    replay = await client.post(path, json={"quantity": "1"}, headers={**bea.headers(first), **key})
    two = await client.post(path, json={"quantity": "1"}, headers={**bea.headers(second), **key})
    assert one.status_code == 201, one.text
    assert replay.json()["id"] == one.json()["id"]
    assert two.status_code == 201, two.text
    assert two.json()["id"] != one.json()["id"]
    assert two.json()["taker_id"] == str(second)


async def test_a_control_character_is_explained_in_words(
    world: World, client: AsyncTestClient[RequestContext]
) -> None:
    response = await client.post("/v1/listings", json=_filled(world), headers=world.callers["giver"])
    assert response.status_code == 422
    assert response.json()["errors"] == [
        {
            "path": "body.title",
            "message": "expected text without control characters (U+0000-U+001F, U+007F-U+009F)",
            "source": "body",
        }
    ]


def _filled(world: World) -> dict[str, Any]:
    return {**listing_create(title="Pal\u0000ettes"), "network_id": str(world.network)}
