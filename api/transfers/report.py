"""The impact report of a network: sums of counted impact per zone, organisation, category or month."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Operation, Schema

from api.auth import policy
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import RequestValidationError
from api.networks.service import get_network
from api.transfers import repository
from schemas.impact import ImpactGroup, ImpactReport, ImpactRow

CSV_COLUMNS = ("group", "key", "transfers", "mass_kg", "co2e_avoided_kg", "km_saved", "trips_saved")
CSV_MEDIA_TYPE = "text/csv"


@dataclass
class ReportOperation(Operation):
    """Documents the CSV form of the 200 beside the JSON one; a `ResponseSpec` states one media type."""

    def __post_init__(self) -> None:
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            ok.content[CSV_MEDIA_TYPE] = OpenAPIMediaType(schema=Schema(type=OpenAPIType.STRING))


async def network_impact(
    conn: Connection,
    principal: Principal,
    network_id: uuid.UUID,
    group_by: ImpactGroup,
    date_from: datetime | None,
    date_to: datetime | None,
) -> ImpactReport:
    """Impact of the transfers completed in `[from, to)`: every one for operators, the acting
    organisation's own (as giver or taker) for members; the network's total for both."""
    await get_network(conn, network_id)
    acting = principal.acting_organisation_id
    status = None if acting is None else await repository.membership_status(conn, network_id, acting)
    view = policy.impact_view(principal, network_id, status)
    if date_from is not None and date_to is not None and date_to <= date_from:
        raise RequestValidationError(
            "to must be after from",
            extra={"errors": [{"path": "query.to", "message": "must be after from", "source": "query"}]},
        )
    only = None if view == "network" else acting
    rows = await repository.impact_rows(conn, network_id, group_by, date_from, date_to, only)
    total = await repository.impact_total(conn, network_id, date_from, date_to)
    return ImpactReport(
        network_id=network_id,
        group_by=group_by,
        date_from=date_from,
        date_to=date_to,
        scope=view,
        rows=rows,
        total=total,
    )


def _line(values: tuple[object, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


def _values(group: str, row: ImpactRow) -> tuple[object, ...]:
    return (
        group,
        row.key or "",
        row.transfers,
        row.mass_kg,
        row.co2e_avoided_kg,
        row.km_saved,
        row.trips_saved,
    )


async def csv_lines(report: ImpactReport) -> AsyncIterator[str]:
    """The report as CSV (RFC 4180), one line at a time; the last line is the network's total."""
    yield _line(CSV_COLUMNS)
    for row in report.rows:
        yield _line(_values(report.group_by, row))
    yield _line(_values("network_total", report.total))
