"""The operators' payments report: gross, fees, refunds and net to providers per organisation and month."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from datetime import datetime

from api.auth import policy
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import RequestValidationError
from api.networks.service import get_network
from api.payments import repository
from schemas.payments import PaymentsReport, PaymentsRow

CSV_COLUMNS = tuple(PaymentsRow.__struct_fields__)


async def network_payments(
    conn: Connection,
    principal: Principal,
    network_id: uuid.UUID,
    date_from: datetime | None,
    date_to: datetime | None,
) -> PaymentsReport:
    """The network's payments over `[from, to)`, for its operators."""
    await get_network(conn, network_id)
    policy.network_operator(principal, network_id)
    if date_from is not None and date_to is not None and date_to <= date_from:
        raise RequestValidationError(
            "to must be after from",
            extra={"errors": [{"path": "query.to", "message": "must be after from", "source": "query"}]},
        )
    return PaymentsReport(
        network_id=network_id,
        date_from=date_from,
        date_to=date_to,
        rows=await repository.report_rows(conn, network_id, date_from, date_to),
    )


def _line(values: tuple[object, ...]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(values)
    return buffer.getvalue()


async def csv_lines(report: PaymentsReport) -> AsyncIterator[str]:
    """The report as CSV (RFC 4180), one line a row, after a header line."""
    yield _line(CSV_COLUMNS)
    for row in report.rows:
        yield _line(tuple(getattr(row, name) for name in CSV_COLUMNS))
