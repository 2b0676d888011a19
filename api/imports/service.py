"""Bulk import: every row is checked, then all are created or none."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

import asyncpg
import msgspec

from api.auth import policy
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import NotFoundError, RequestValidationError
from api.imports import repository
from api.imports.csv_rows import CsvHeaderError, read_rows
from api.listings import repository as listings
from api.listings import rules
from api.listings.rules import Draft
from api.networks.service import get_network
from schemas.imports import ImportResult, ImportRow, RowError

MAX_ROWS = 50_000
MAX_REPORTED_ROWS = 200
Progress = Callable[[int], None]


class ImportRejectedError(RequestValidationError):
    slug, title_text = "import-rejected", "The file has errors; nothing was imported"


async def import_for(
    conn: Connection, principal: Principal, network_id: uuid.UUID, read: Callable[[], Awaitable[str]]
) -> ImportResult:
    """The API entry point: operators of the network import for its members. The file is `read` once
    the caller may import, so that a caller who may not learns nothing from how their file is refused."""
    await get_network(conn, network_id)
    user = policy.network_operator(principal, network_id)
    return await import_csv(conn, network_id, await read(), created_by=user.id)


async def get_import(
    conn: Connection, principal: Principal, network_id: uuid.UUID, import_id: uuid.UUID
) -> ImportResult:
    """One import of the network, for its operators."""
    await get_network(conn, network_id)
    policy.network_operator(principal, network_id)
    row = await repository.get_import(conn, network_id, import_id)
    if row is None:
        raise NotFoundError("no such import in this network")
    return msgspec.convert(dict(row), ImportResult)


async def import_csv(
    conn: Connection,
    network_id: uuid.UUID,
    text: str,
    *,
    created_by: uuid.UUID | None,
    progress: Progress | None = None,
) -> ImportResult:
    """Check every row of `text`, then create all its listings in one go, or raise with every row's errors."""
    try:
        parsed = list(read_rows(text))
    except CsvHeaderError as exc:
        raise ImportRejectedError(str(exc), extra={"rows": []}) from exc
    if not parsed:
        raise ImportRejectedError("the file has a header but no rows", extra={"rows": []})
    if len(parsed) > MAX_ROWS:
        raise ImportRejectedError(f"at most {MAX_ROWS} rows per file; split it", extra={"rows": []})
    rows = [row for _, row, _ in parsed if row is not None]
    refs = await listings.load_references(
        conn,
        network_id,
        sorted({r.category for r in rows}),
        sorted({rules.normalise_waste_code(r.waste_code) for r in rows if r.waste_code}),
    )
    members = await repository.members_by_siret(conn, network_id, sorted({r.siret for r in rows}))
    report: list[RowError] = []
    accepted: list[tuple[uuid.UUID, Draft, bool]] = []
    for index, (line, row, errors) in enumerate(parsed, start=1):
        if row is not None:
            draft, errors = _check_row(row, network_id, refs, members)
            if not errors and draft is not None:
                accepted.append((uuid.uuid4(), draft, row.publish))
        if errors:
            report.append(RowError(row=line, errors=errors))
        if progress is not None and index % 500 == 0:
            progress(500)
    if report:
        shown = report[:MAX_REPORTED_ROWS]
        raise ImportRejectedError(
            f"{len(report)} of {len(parsed)} rows have errors (first on line {report[0].row}); "
            "nothing was imported",
            extra={"rows": [msgspec.to_builtins(r) for r in shown], "rows_with_errors": len(report)},
        )
    created = await repository.insert_import(conn, network_id, created_by, len(parsed), len(accepted))
    await repository.copy_listings(conn, accepted, created_by, created["id"], datetime.now(UTC))
    if progress is not None:
        progress(len(parsed) % 500)
    return ImportResult(**dict(created), published=sum(1 for _, _, p in accepted if p))


def _check_row(
    row: ImportRow, network_id: uuid.UUID, refs: rules.References, members: dict[str, asyncpg.Record]
) -> tuple[Draft | None, rules.FieldErrors]:
    member = members.get(row.siret)
    if member is None:
        return None, [_error("row.siret", "no member of this network has this SIRET")]
    status = member["status"]
    if status not in ("active", "pending"):
        return None, [_error("row.siret", f"this organisation's membership is {status}")]
    if row.publish and status != "active":
        return None, [_error("row.publish", "only active members' listings can be published")]
    latitude = row.latitude if row.latitude is not None else member["latitude"]
    longitude = row.longitude if row.longitude is not None else member["longitude"]
    if latitude is None or longitude is None or (row.latitude is None) != (row.longitude is None):
        return None, [_error("row.latitude", "give latitude and longitude (the organisation has no site)")]
    fields = msgspec.structs.asdict(row)
    for name in ("siret", "category", "publish"):
        del fields[name]
    fields.update(
        organisation_id=member["id"],
        network_id=network_id,
        category_id=row.category,
        zone_id=member["zone_id"],
        latitude=latitude,
        longitude=longitude,
        photos=[],
    )
    draft, errors = rules.check(msgspec.convert(fields, Draft), refs, prefix="row")
    if not errors and draft.direction == "offer" and draft.quantity is not None:
        draft = msgspec.structs.replace(draft, available_quantity=draft.quantity)
    return draft, errors


def _error(path: str, message: str) -> dict[str, str]:
    return {"path": path, "message": message, "source": "body"}
