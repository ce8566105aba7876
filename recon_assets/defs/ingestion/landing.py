"""Landing one source's business day in the warehouse: fetch, validate, replace the partition, quarantine.

Everything happens in one transaction under the partition's lock: a failure anywhere (the API, a
record the warehouse refuses, the process killed) leaves the partition exactly as it was, and a second
run of the same partition waits for the first instead of colliding with it.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from recon_assets.domain.money import format_major
from recon_assets.processors.base import CONFLICT_REASON, SourceClient, day_bounds
from recon_assets.processors.http import ApiError
from recon_assets.warehouse import landing, store
from recon_assets.warehouse.landing import LandingTable
from recon_assets.warehouse.resource import WarehouseResource

PREVIEW_ROWS = 10


class _Totals:
    """Row counts and amount totals per currency, gathered while rows stream past."""

    def __init__(self) -> None:
        self.rows = 0
        self.minor_by_currency: dict[str, int] = defaultdict(int)
        self.preview: list[dict[str, Any]] = []

    def track(self, batches: Iterable[list], to_row: Callable[[Any], tuple]):
        for batch in batches:
            rows = []
            for record in batch:
                self.rows += 1
                self.minor_by_currency[record.currency] += record.amount_minor
                if len(self.preview) < PREVIEW_ROWS:
                    self.preview.append(record.model_dump(exclude={"raw", "processor"}))
                rows.append(to_row(record))
            yield rows

    def withdraw(self, amount_minor: int, currency: str) -> None:
        self.rows -= 1
        self.minor_by_currency[currency.strip()] -= amount_minor

    def totals_text(self) -> dict[str, str]:
        return {c: format_major(v, c) for c, v in sorted(self.minor_by_currency.items()) if v or self.rows}


def land_day(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    client: SourceClient,
    table: LandingTable,
    day: date,
    finality_lag: timedelta,
) -> dict[str, Any]:
    """Fetch ``day`` from ``client`` and atomically replace its partition of ``table`` and its quarantine."""
    run_id, source = context.run.run_id, client.name
    totals = _Totals()
    try:
        deleted, quarantine, stats = _land(client, warehouse, table, day, run_id, totals)
    except (ApiError, landing.AlreadyLanded) as exc:  # one line: the source, the endpoint or record, why
        raise dg.Failure(description=str(exc)) from None
    for record_id, reason, _, _ in quarantine:
        context.log.warning(f"quarantined {source} record {record_id}: {reason}")
    fetched_at = datetime.now(UTC)
    return {
        "row_count": dg.MetadataValue.int(totals.rows),
        "rows_replaced": dg.MetadataValue.int(deleted),
        "quarantined_count": dg.MetadataValue.int(len(quarantine)),
        "totals_by_currency": dg.MetadataValue.json(totals.totals_text()),
        "fetch_pages": dg.MetadataValue.int(stats.pages),
        "fetch_retries": dg.MetadataValue.int(stats.retries),
        "fetch_seconds": dg.MetadataValue.float(round(stats.seconds, 3)),
        "duplicates_dropped": dg.MetadataValue.int(stats.duplicates_dropped),
        "fetched_at": dg.MetadataValue.timestamp(fetched_at),
        "day_is_final": dg.MetadataValue.bool(fetched_at >= day_bounds(day)[1] + finality_lag),
        "preview": dg.MetadataValue.md(
            pd.DataFrame(totals.preview).to_markdown(index=False) if totals.preview else "_no records_"
        ),
    }


def _land(client: SourceClient, warehouse: WarehouseResource, table: LandingTable, day: date, run_id: str, totals):
    """The transaction itself; leaving it any way, the fetch's workers are stopped."""
    source = client.name
    with client.fetch_day(day) as fetched, warehouse.connection() as conn, conn.transaction():
        landing.lock_partition(conn, table.name, source, day)
        deleted, _ = landing.replace_rows(
            conn, table, source, day, totals.track(fetched.batches, lambda record: table.to_row(record, day, run_id))
        )
        # ids sent in versions that contradict each other: none of them is landed as the truth
        quarantine = [(q.record_id, q.reason, _json(q.raw), run_id) for q in fetched.quarantine]
        for record_id, raw, amount_minor, currency in landing.withdraw(
            conn, table, source, day, fetched.conflicting_ids
        ):
            totals.withdraw(amount_minor, currency)
            quarantine.append((record_id, CONFLICT_REASON, _json(raw), run_id))
        landing.replace_quarantine(conn, source, day, quarantine)
        store.audit(
            conn, "ingestion", "partition_replaced", table.name, f"{source}/{day.isoformat()}",
            {"run_id": run_id, "rows_deleted": deleted, "rows_written": totals.rows, "quarantined": len(quarantine)},
        )  # fmt: skip
    return deleted, quarantine, fetched.stats


def _json(value: Any) -> str:
    return json.dumps(value, default=str)
