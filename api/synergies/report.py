"""The funnel report operators send funders: counts per stage, conversion, abandonment reasons,
organisations engaged, and the impact of the realised synergies' linked transfers."""

from __future__ import annotations

import csv
import io
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from litestar.openapi.spec import OpenAPIMediaType, OpenAPIResponse, OpenAPIType, Schema

from api.auth import policy
from api.auth.principal import Principal
from api.db.pool import Connection
from api.errors import RequestValidationError
from api.networks.service import get_network
from api.openapi import ProblemOperation
from schemas.synergies import AbandonReason, FunnelGroup, FunnelReport, FunnelRow

REASONS: tuple[AbandonReason, ...] = (
    "regulation",
    "distance",
    "quality",
    "quantity",
    "cost",
    "no_interest",
    "other",
)
_KEYS: dict[FunnelGroup | None, str] = {
    None: "NULL::text",
    "kind": "s.kind",
    "category": "s.category_id",
    "month": "to_char(s.created_at AT TIME ZONE 'UTC', 'YYYY-MM')",
    "zone": """(SELECT m.zone_id::text FROM memberships m
                WHERE m.network_id = s.network_id AND m.organisation_id = s.organisation_ids[1])""",
}

# A synergy has passed `studied` when it got there or beyond: one a match carries goes from
# `potential` straight to `in_progress` (api/matches), and counts as studied so conversions stay <= 1.
_PASSED_STUDIED = "s.statuses && ARRAY['studied', 'in_progress', 'realised']"

_SELECTED = """
WITH s AS (
    SELECT s.*, {key} AS key, r.statuses FROM synergies s
    LEFT JOIN LATERAL (SELECT array_agg(DISTINCT e.to_status) AS statuses FROM synergy_events e
                       WHERE e.synergy_id = s.id) r ON true
    WHERE s.network_id = $1 AND ($2::timestamptz IS NULL OR s.created_at >= $2)
      AND ($3::timestamptz IS NULL OR s.created_at < $3)
)"""

_FUNNEL = (
    _SELECTED  # noqa: S608 (constant SQL; the group key is one of _KEYS)
    + """,
impact AS (
    SELECT x.synergy_id, sum(i.mass_kg) AS mass_kg, sum(i.co2e_avoided_kg) AS co2e_avoided_kg,
           sum(i.km_saved) AS km_saved, sum(i.trips_saved) AS trips_saved
    FROM synergy_exchanges x JOIN transfer_impacts i ON i.transfer_id = x.transfer_id
    WHERE x.synergy_id IN (SELECT id FROM s) GROUP BY x.synergy_id
),
declared AS (
    SELECT o.synergy_id, sum(o.euros_saved_cents) AS euros_saved_cents, sum(o.km_saved) AS km_saved,
           sum(o.shared_jobs) AS shared_jobs
    FROM synergy_outcomes o WHERE o.synergy_id IN (SELECT id FROM s) GROUP BY o.synergy_id
)
SELECT s.key, count(*) AS synergies,
       count(*) FILTER (WHERE s.status = 'potential') AS potential,
       count(*) FILTER (WHERE s.status = 'studied') AS studied,
       count(*) FILTER (WHERE s.status = 'in_progress') AS in_progress,
       count(*) FILTER (WHERE s.status = 'realised') AS realised,
       count(*) FILTER (WHERE s.status = 'abandoned') AS abandoned,
       count(*) FILTER (WHERE s.status = 'dismissed') AS dismissed,
       count(*) FILTER (WHERE """
    + _PASSED_STUDIED
    + """) AS reached_studied,
       count(*) FILTER (WHERE 'in_progress' = ANY(s.statuses)) AS reached_in_progress,
       coalesce(sum(i.mass_kg) FILTER (WHERE s.status = 'realised'), 0)::float8 AS mass_kg,
       coalesce(sum(i.co2e_avoided_kg) FILTER (WHERE s.status = 'realised'), 0)::float8 AS co2e_avoided_kg,
       coalesce(sum(i.km_saved) FILTER (WHERE s.status = 'realised'), 0)::float8 AS km_saved,
       coalesce(sum(i.trips_saved) FILTER (WHERE s.status = 'realised'), 0)::int AS trips_saved,
       coalesce(sum(o.euros_saved_cents) FILTER (WHERE s.status = 'realised'), 0)::bigint
           AS euros_saved_cents,
       coalesce(sum(o.km_saved) FILTER (WHERE s.status = 'realised'), 0)::float8 AS declared_km_saved,
       coalesce(sum(o.shared_jobs) FILTER (WHERE s.status = 'realised'), 0)::float8 AS shared_jobs
FROM s LEFT JOIN impact i ON i.synergy_id = s.id LEFT JOIN declared o ON o.synergy_id = s.id
GROUP BY s.key ORDER BY s.key NULLS LAST"""
)
_REASONS = (
    _SELECTED
    + """
SELECT key, abandon_reason, count(*) AS n FROM s WHERE status = 'abandoned' GROUP BY 1, 2"""
)
_ENGAGED = (
    _SELECTED
    + """
SELECT key, count(DISTINCT o) AS n FROM s, unnest(s.organisation_ids) o
WHERE """
    + _PASSED_STUDIED
    + """ GROUP BY 1"""
)


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(part / whole, 4)


async def _rows(conn: Connection, group: FunnelGroup | None, args: tuple[Any, ...]) -> list[FunnelRow]:
    key = _KEYS[group]
    funnel = await conn.fetch(_FUNNEL.format(key=key), *args)
    reasons: dict[str | None, dict[str, int]] = {}
    for r in await conn.fetch(_REASONS.format(key=key), *args):
        reasons.setdefault(r["key"], {})[r["abandon_reason"]] = r["n"]
    engaged = {r["key"]: r["n"] for r in await conn.fetch(_ENGAGED.format(key=key), *args)}
    rows = []
    for r in funnel:
        values = dict(r)
        rows.append(
            FunnelRow(
                **values,
                conversion_studied=_ratio(r["reached_studied"], r["synergies"]),
                conversion_in_progress=_ratio(r["reached_in_progress"], r["reached_studied"]),
                conversion_realised=_ratio(r["realised"], r["reached_in_progress"]),
                abandonment_reasons={reason: reasons.get(r["key"], {}).get(reason, 0) for reason in REASONS},
                organisations_engaged=engaged.get(r["key"], 0),
            )
        )
    return rows


def _empty() -> FunnelRow:
    zero = dict.fromkeys(
        (
            "synergies",
            "potential",
            "studied",
            "in_progress",
            "realised",
            "abandoned",
            "dismissed",
            "reached_studied",
            "reached_in_progress",
            "organisations_engaged",
            "trips_saved",
        ),
        0,
    )
    return FunnelRow(
        key=None,
        **zero,
        conversion_studied=None,
        conversion_in_progress=None,
        conversion_realised=None,
        abandonment_reasons=dict.fromkeys(REASONS, 0),
        mass_kg=0.0,
        co2e_avoided_kg=0.0,
        km_saved=0.0,
    )


async def funnel_report(
    conn: Connection,
    principal: Principal,
    network_id: uuid.UUID,
    group_by: FunnelGroup,
    date_from: datetime | None,
    date_to: datetime | None,
) -> FunnelReport:
    """The network's funnel per `group_by` over the synergies proposed in [from, to): operators only."""
    await get_network(conn, network_id)
    policy.flows_of_network(principal, network_id)
    if date_from is not None and date_to is not None and date_to <= date_from:
        message = "must be after from"
        raise RequestValidationError(
            f"to: {message}", extra={"errors": [{"path": "query.to", "message": message, "source": "query"}]}
        )
    args = (network_id, date_from, date_to)
    rows = await _rows(conn, group_by, args)
    totals = await _rows(conn, None, args)
    return FunnelReport(
        network_id=network_id,
        group_by=group_by,
        date_from=date_from,
        date_to=date_to,
        rows=rows,
        total=totals[0] if totals else _empty(),
    )


CSV_MEDIA_TYPE = "text/csv"
_COUNTS = (
    "synergies",
    "potential",
    "studied",
    "in_progress",
    "realised",
    "abandoned",
    "dismissed",
    "reached_studied",
    "reached_in_progress",
    "conversion_studied",
    "conversion_in_progress",
    "conversion_realised",
    "organisations_engaged",
    "mass_kg",
    "co2e_avoided_kg",
    "km_saved",
    "trips_saved",
    "euros_saved_cents",
    "declared_km_saved",
    "shared_jobs",
)
CSV_COLUMNS = ("group", "key", *_COUNTS, *(f"abandoned_{reason}" for reason in REASONS))


async def csv_lines(report: FunnelReport) -> AsyncIterator[str]:
    """The report as CSV: one line a group, then `network_total`."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)

    def line(values: list[Any]) -> str:
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(["" if v is None else v for v in values])
        return buffer.getvalue()

    yield line(list(CSV_COLUMNS))
    for group, row in [*((report.group_by, r) for r in report.rows), ("network_total", report.total)]:
        reasons = [row.abandonment_reasons.get(reason, 0) for reason in REASONS]
        yield line([group, row.key, *(getattr(row, name) for name in _COUNTS), *reasons])


@dataclass
class FunnelOperation(ProblemOperation):
    """The report's 200 is JSON or, when asked, CSV: both are documented on the one operation."""

    def __post_init__(self) -> None:
        super().__post_init__()
        ok = (self.responses or {}).get("200")
        if isinstance(ok, OpenAPIResponse) and ok.content is not None:
            csv_body = Schema(
                type=OpenAPIType.STRING,
                description="RFC 4180 CSV with a header line: " + ", ".join(CSV_COLUMNS),
            )
            ok.content = {**ok.content, CSV_MEDIA_TYPE: OpenAPIMediaType(schema=csv_body)}
