"""Flows from a CSV file (the interviews' spreadsheet): every row is checked, then all are created or none.

The file is read by the listings' importer (`api.imports.csv_rows`) and refused with its problem
(`import-rejected`, every bad line with its fields), so one spreadsheet habit serves both."""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

import msgspec

from api.auth import policy
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import RequestValidationError
from api.flows import repository, rules
from api.imports import repository as imports
from api.imports.csv_rows import CsvHeaderError, read_typed_rows
from api.imports.service import MAX_REPORTED_ROWS, MAX_ROWS, ImportRejectedError
from api.listings.rules import normalise_waste_code
from api.networks.service import get_network
from api.organisations.service import organisation_visibility
from schemas.flows import FlowImportResult, FlowImportRow
from schemas.imports import RowError

NETWORK_REQUIRED = ("siret", "direction", "category", "quantity", "unit", "period")
ORGANISATION_REQUIRED = NETWORK_REQUIRED[1:]
COLUMNS = tuple(FlowImportRow.__struct_fields__)
# The row's columns that the flow calls otherwise.
_NAMES = {"category_id": "category"}
_MONTH = re.compile(r"([0-9]{1,2})(?: ?- ?([0-9]{1,2}))?")
Reader = Callable[[], Awaitable[str]]


async def import_network_flows(
    conn: Connection, principal: Principal, network_id: uuid.UUID, read: Reader
) -> FlowImportResult:
    """Operators of the network import its members' flows (members found by SIRET). The file is read
    once the caller may import, so a caller who may not learns nothing from how it is refused."""
    await get_network(conn, network_id)
    user = policy.flows_of_network(principal, network_id)
    text = await read()
    parsed = _parse(text, NETWORK_REQUIRED)
    sirets = sorted({row.siret for _, row, _ in parsed if row is not None and row.siret is not None})
    members = await imports.members_by_siret(conn, network_id, sirets)

    def owner(row: FlowImportRow) -> tuple[Any, list[tuple[str, str]]]:
        member = members.get(row.siret or "")
        if member is None:
            return None, [("row.siret", "no member of this network has this SIRET")]
        if member["status"] == "rejected":
            return None, [("row.siret", f"this organisation's membership is {member['status']}")]
        return (member["id"], member["latitude"], member["longitude"]), []

    return await _import(conn, network_id, parsed, owner, user.id)


async def import_organisation_flows(
    conn: Connection, principal: Principal, organisation_id: uuid.UUID, network_id: uuid.UUID, read: Reader
) -> FlowImportResult:
    """The organisation's people (unless its membership is suspended) or an operator of `network_id`
    import the organisation's flows in that network."""
    user = policy.authenticated(principal)
    _, visible = await organisation_visibility(conn, principal, organisation_id)
    networks = await repository.member_of(conn, organisation_id)
    policy.flows_of_organisation(principal, organisation_id, networks, visible=visible)
    status = await repository.membership_status(conn, network_id, organisation_id)
    policy.flow_writer(principal, network_id, status)
    if network_id not in networks:
        message = "the organisation is not a member of this network"
        raise RequestValidationError(
            f"network_id: {message}",
            extra={"errors": [{"path": "query.network_id", "message": message, "source": "query"}]},
        )
    text = await read()
    parsed = _parse(text, ORGANISATION_REQUIRED)
    siret, latitude, longitude = await repository.organisation_site(conn, organisation_id)

    def owner(row: FlowImportRow) -> tuple[Any, list[tuple[str, str]]]:
        if row.siret is not None and row.siret != siret:
            return None, [("row.siret", "is not this organisation's SIRET")]
        return (organisation_id, latitude, longitude), []

    return await _import(conn, network_id, parsed, owner, user.id)


Parsed = list[tuple[int, FlowImportRow | None, list[dict[str, str]]]]
Owner = Callable[[FlowImportRow], tuple[Any, list[tuple[str, str]]]]


def _parse(text: str, required: tuple[str, ...]) -> Parsed:
    try:
        parsed = list(read_typed_rows(text, FlowImportRow, required))
    except CsvHeaderError as exc:
        raise ImportRejectedError(str(exc), extra={"rows": []}) from exc
    if not parsed:
        raise ImportRejectedError("the file has a header but no rows", extra={"rows": []})
    if len(parsed) > MAX_ROWS:
        raise ImportRejectedError(f"at most {MAX_ROWS} rows per file; split it", extra={"rows": []})
    return parsed


async def _import(
    conn: Connection, network_id: uuid.UUID, parsed: Parsed, owner: Owner, created_by: uuid.UUID
) -> FlowImportResult:
    rows = [row for _, row, _ in parsed if row is not None]
    units = await repository.allowed_units(conn, sorted({r.category for r in rows}))
    codes = await repository.known_waste_codes(
        conn, sorted({normalise_waste_code(r.waste_code) for r in rows if r.waste_code})
    )
    report: list[RowError] = []
    accepted: list[tuple[uuid.UUID, dict[str, Any]]] = []
    for line, row, errors in parsed:
        if row is not None:
            flow, problems = _check_row(row, owner, units, codes)
            errors = [{"path": p, "message": m, "source": "body"} for p, m in problems]
            if flow is not None and not errors:
                accepted.append(flow)
        if errors:
            report.append(RowError(row=line, errors=errors))
    if report:
        raise ImportRejectedError(
            f"{len(report)} of {len(parsed)} rows have errors (first on line {report[0].row}); "
            "nothing was imported",
            extra={
                "rows": [msgspec.to_builtins(r) for r in report[:MAX_REPORTED_ROWS]],
                "rows_with_errors": len(report),
            },
        )
    await repository.copy_flows(conn, accepted, network_id, created_by)
    return FlowImportResult(
        network_id=network_id,
        rows=len(parsed),
        created=len(accepted),
        organisations=len({organisation for organisation, _ in accepted}),
    )


def _check_row(
    row: FlowImportRow, owner: Owner, units: dict[str, list[str]], codes: set[str]
) -> tuple[tuple[uuid.UUID, dict[str, Any]] | None, list[tuple[str, str]]]:
    found, errors = owner(row)
    if found is None:
        return None, errors
    organisation_id, site_latitude, site_longitude = found
    if (row.latitude is None) != (row.longitude is None):
        return None, [("row.latitude", "give both latitude and longitude, or neither (the site)")]
    latitude = row.latitude if row.latitude is not None else site_latitude
    longitude = row.longitude if row.longitude is not None else site_longitude
    if latitude is None or longitude is None:
        return None, [("row.latitude", "give latitude and longitude (the organisation has no site)")]
    months, month_error = _months(row.months)
    values = {
        "direction": row.direction,
        "category_id": row.category,
        "waste_code": row.waste_code,
        "description": row.description,
        "quantity": row.quantity,
        "unit": row.unit,
        "period": row.period,
        "latitude": latitude,
        "longitude": longitude,
        "months": months,
        "destination": row.destination,
        "destination_cost_cents": row.destination_cost_cents,
        "visibility": row.visibility,
    }
    values, errors = rules.check(values, units, codes, prefix="row", names=_NAMES)
    if month_error:
        errors.append(("row.months", month_error))
    return (organisation_id, values), errors


def _months(cell: str | None) -> tuple[list[int], str | None]:
    """`6-8 12` -> [6, 7, 8, 12]; the cell's pattern already holds, the numbers may not."""
    if cell is None:
        return [], None
    months: list[int] = []
    for match in _MONTH.finditer(cell):
        first = int(match[1])
        last = int(match[2]) if match[2] else first
        if not (1 <= first <= 12 and 1 <= last <= 12):
            return [], f"{match[0]!r}: months are 1 to 12"
        if last < first:
            return [], f"{match[0]!r}: write a range over the new year as two ({first}-12 1-{last})"
        months.extend(range(first, last + 1))
    return months, None
