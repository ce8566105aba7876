"""Landing one source's business day in the warehouse: fetch, validate, replace the partition."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import pandas as pd

from recon_assets.domain.money import format_major
from recon_assets.processors.base import SourceClient, day_bounds
from recon_assets.warehouse import store
from recon_assets.warehouse.resource import WarehouseResource


def processor_row(record, day: date, run_id: str) -> tuple:
    return (
        day, record.processor, record.processor_txn_id, record.kind.value, record.amount_minor, record.currency,
        record.fee_minor, record.status.value, record.occurred_at, record.raw, run_id,
    )  # fmt: skip


def ledger_row(record, day: date, run_id: str) -> tuple:
    return (
        record.ledger_id, day, record.processor, record.processor_reference, record.kind.value,
        record.amount_minor, record.currency, record.fee_minor, record.status.value, record.booked_at,
        record.merchant_id, record.raw, run_id,
    )  # fmt: skip


class _Totals:
    """Row counts and amount totals per currency, gathered while rows stream past."""

    def __init__(self) -> None:
        self.rows = 0
        self.minor_by_currency: dict[str, int] = defaultdict(int)
        self.preview: list[dict[str, Any]] = []

    def track(self, batches: Iterable[list], to_row: Callable[[Any], tuple], preview: Callable[[Any], dict]):
        for batch in batches:
            rows = []
            for record in batch:
                self.rows += 1
                self.minor_by_currency[record.currency] += record.amount_minor
                if len(self.preview) < 10:
                    self.preview.append(preview(record))
                rows.append(to_row(record))
            yield rows

    def totals_text(self) -> dict[str, str]:
        return {c: format_major(v, c) for c, v in sorted(self.minor_by_currency.items())}


def land_day(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    client: SourceClient,
    *,
    day: date,
    table: str,
    partition: dict[str, Any],
    columns: tuple[str, ...],
    to_row: Callable[[Any, date, str], tuple],
    preview: Callable[[Any], dict],
    finality_lag: timedelta,
) -> dict[str, Any]:
    """Fetch ``day`` from ``client`` and atomically replace its partition of ``table`` and quarantine."""
    run_id = context.run.run_id
    fetched = client.fetch_day(day)
    totals = _Totals()
    with warehouse.connection() as conn, conn.transaction():
        deleted, written = store.replace_partition(
            conn, table, partition, columns,
            totals.track(fetched.batches, lambda r: to_row(r, day, run_id), preview),
        )  # fmt: skip
        store.replace_partition(
            conn, "quarantined_records", {"source": client.name, "business_date": day}, store.QUARANTINE_COLUMNS,
            [[(q.source, day, q.record_id, q.reason, q.raw, run_id) for q in fetched.quarantine]],
        )  # fmt: skip
        store.audit(
            conn, "ingestion", "partition_replaced", table, f"{client.name}/{day.isoformat()}",
            {"run_id": run_id, "rows_deleted": deleted, "rows_written": written,
             "quarantined": len(fetched.quarantine)},
        )  # fmt: skip
    for q in fetched.quarantine:
        context.log.warning(f"quarantined {client.name} record {q.record_id}: {q.reason}")
    fetched_at = datetime.now(UTC)
    stats = fetched.stats.as_metadata()
    return {
        "row_count": dg.MetadataValue.int(written),
        "rows_replaced": dg.MetadataValue.int(deleted),
        "quarantined_count": dg.MetadataValue.int(len(fetched.quarantine)),
        "totals_by_currency": dg.MetadataValue.json(totals.totals_text()),
        "fetch_pages": dg.MetadataValue.int(int(stats["pages"])),
        "fetch_retries": dg.MetadataValue.int(int(stats["retries"])),
        "fetch_seconds": dg.MetadataValue.float(round(stats["seconds"], 3)),
        "duplicates_dropped": dg.MetadataValue.int(int(stats["duplicates_dropped"])),
        "fetched_at": dg.MetadataValue.timestamp(fetched_at),
        "day_is_final": dg.MetadataValue.bool(fetched_at >= day_bounds(day)[1] + finality_lag),
        "preview": dg.MetadataValue.md(pd.DataFrame(totals.preview).to_markdown(index=False))
        if totals.preview
        else dg.MetadataValue.md("_no records_"),
    }
