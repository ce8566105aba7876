"""A source's day landed by the landing service, told to Dagster: one line on failure, metadata on success."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from recon_assets.domain.money import format_major
from recon_assets.processors.base import SourceClient, day_bounds
from recon_assets.processors.http import ApiError
from recon_assets.services.landing import land_day as land
from recon_assets.stopwatch import Stopwatch
from recon_assets.warehouse.archive import DayArchived
from recon_assets.warehouse.landing import AlreadyLanded, LandingTable
from recon_assets.warehouse.resource import WarehouseResource


def land_day(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    client: SourceClient,
    table: LandingTable,
    day: date,
    finality_lag: timedelta,
) -> dict[str, Any]:
    """Land ``day`` of ``client``'s source in ``table``; the landing's figures as asset metadata."""
    source = client.name
    stopwatch = Stopwatch()
    try:
        with warehouse.connection() as conn:
            landed = land(conn, client, table, day, context.run.run_id, stopwatch)
    except (ApiError, AlreadyLanded, DayArchived) as exc:  # one line: the source, the endpoint or record, why
        raise dg.Failure(description=str(exc)) from None
    for record_id, reason, _, _ in landed.quarantine:
        context.log.warning(f"quarantined {source} record {record_id}: {reason}")
    fetched_at = datetime.now(UTC)
    stats, totals = landed.stats, landed.totals
    return {
        "row_count": dg.MetadataValue.int(sum(count for count, _ in totals.values())),
        "rows_replaced": dg.MetadataValue.int(landed.rows_replaced),
        "quarantined_count": dg.MetadataValue.int(len(landed.quarantine)),
        "totals_by_currency": dg.MetadataValue.json({c: format_major(t, c) for c, (_, t) in sorted(totals.items())}),
        "fetch_pages": dg.MetadataValue.int(stats.pages),
        "fetch_retries": dg.MetadataValue.int(stats.retries),
        "fetch_seconds": dg.MetadataValue.float(round(stats.seconds, 3)),
        "duplicates_dropped": dg.MetadataValue.int(stats.duplicates_dropped),
        "fetched_at": dg.MetadataValue.timestamp(fetched_at),
        "day_is_final": dg.MetadataValue.bool(fetched_at >= day_bounds(day)[1] + finality_lag),
        "preview": dg.MetadataValue.md(preview_markdown(landed.preview)),
        **stopwatch.as_metadata(),
    }


def preview_markdown(preview: pd.DataFrame) -> str:
    """The first records as a Markdown table; a missing value is left blank."""
    if not len(preview):
        return "_no records_"
    return preview.astype(object).where(preview.notna(), "").to_markdown(index=False)
