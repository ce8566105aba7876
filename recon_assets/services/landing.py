"""Landing one source's business day in the warehouse: fetch, validate, replace the partition, quarantine.

Everything happens in one transaction under the partition's lock: a failure anywhere (the API, a
record the warehouse refuses, the process killed) leaves the partition exactly as it was, and a second
run of the same partition waits for the first instead of colliding with it.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa

from recon_assets.processors.base import CONFLICT_REASON, SourceClient
from recon_assets.processors.http import FetchStats
from recon_assets.stopwatch import Stopwatch
from recon_assets.warehouse import landing, store
from recon_assets.warehouse.landing import LandingTable
from recon_assets.warehouse.locks import lock_partition

PREVIEW_ROWS = 10


@dataclass(frozen=True)
class LandedDay:
    rows_replaced: int  # what the partition held before
    quarantine: list[tuple[str, str, str, str]]  # record id, reason, the record as received, run id
    stats: FetchStats
    totals: dict[str, tuple[int, int]]  # currency -> rows, amount in minor units
    preview: pd.DataFrame  # the first records, in the order the source sent them


def land_day(
    conn: psycopg.Connection, client: SourceClient, table: LandingTable, day: date, run_id: str, stopwatch: Stopwatch
) -> LandedDay:
    """Fetch ``day`` from ``client`` and atomically replace its partition of ``table`` and its quarantine;
    leaving it any way, the fetch's workers are stopped. ``stopwatch`` parts: fetch (waiting for the API and
    reading its pages), write (waiting for the warehouse beyond that), finish (conflicts, totals, the audit)."""
    source = client.name
    store.make_day_partitions(conn, day)
    with client.fetch_day(day) as fetched, conn.transaction():
        lock_partition(conn, table.name, source, day)
        deleted = landing.clear_partition(conn, table, source, day)
        # a batch of pages at a time: the responses as received, then their records (two COPY statements),
        # written by a second thread while the next batch is fetched; one batch in flight keeps memory flat
        written = _Written(table)
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy") as writer:
            in_flight = None
            for batch in stopwatch.timed("fetch", fetched.batches):
                pages = [(page_no, page.endpoint, page.list_key, page.stored) for page_no, page in batch.pages]
                rows = table.rows(source, day, batch.records, run_id)
                written.add(batch.records)
                with stopwatch.part("write"):
                    if in_flight is not None:
                        in_flight.result()
                in_flight = writer.submit(_write, conn, table, source, day, pages, rows, run_id)
            with stopwatch.part("write"):
                if in_flight is not None:
                    in_flight.result()
        with stopwatch.part("finish"):
            # ids sent in versions that contradict each other: none of them is landed as the truth
            quarantine = [(q.record_id, q.reason, _json(q.raw), run_id) for q in fetched.quarantine]
            withdrawn = landing.withdraw(conn, table, source, day, fetched.conflicting_ids)
            for record_id, page_no, position in withdrawn:
                raw = landing.record_as_received(conn, source, day, page_no, position)
                quarantine.append((record_id, CONFLICT_REASON, _json(raw), run_id))
            landing.replace_quarantine(conn, source, day, quarantine)
            landing.refuse_moved_records(conn, table, source, day)
            if withdrawn:  # what the partition holds now, asked of the warehouse
                totals = landing.landed_totals(conn, table, source, day)
                preview = landing.landed_preview(conn, table, source, day, PREVIEW_ROWS)
            else:  # exactly the rows this transaction wrote into the emptied partition: no need to scan it again
                totals, preview = written.totals, written.preview()
            landing.record_landed(conn, source, day, sum(c for c, _ in totals.values()), run_id)
            store.audit(
                conn, "ingestion", "partition_replaced", table.name, f"{source}/{day.isoformat()}",
                {"run_id": run_id, "rows_deleted": deleted, "rows_written": sum(c for c, _ in totals.values()),
                 "quarantined": len(quarantine)},
            )  # fmt: skip
    return LandedDay(deleted, quarantine, fetched.stats, totals, preview)


class _Written:
    """What a landing wrote, gathered as its batches pass: rows and amount per currency, and the first
    ``PREVIEW_ROWS`` records in the order the source sent them (batches come in page order)."""

    def __init__(self, table: LandingTable):
        self.table = table
        self.totals: dict[str, tuple[int, int]] = {}
        self._first: pa.Table | None = None

    def add(self, records: pa.Table) -> None:
        exact = records.select(["currency"]).append_column("amount", records["amount_minor"].cast(pa.decimal128(38, 0)))
        for row in exact.group_by("currency").aggregate([("amount", "count"), ("amount", "sum")]).to_pylist():
            count, total = self.totals.get(row["currency"], (0, 0))
            self.totals[row["currency"]] = (count + row["amount_count"], total + int(row["amount_sum"]))
        if self._first is None or self._first.num_rows < PREVIEW_ROWS:
            candidates = records if self._first is None else pa.concat_tables([self._first, records])
            order = [("page_no", "ascending"), ("page_index", "ascending")]
            self._first = candidates.sort_by(order).slice(0, PREVIEW_ROWS)

    def preview(self) -> pd.DataFrame:
        if self._first is None:
            return pd.DataFrame(columns=list(self.table.record_columns))
        return self._first.select(list(self.table.record_columns)).to_pandas()


def _write(conn, table: LandingTable, source: str, day: date, pages: list[tuple], rows: pa.Table, run_id: str):
    landing.copy_pages(conn, source, day, pages, run_id)
    store.copy_table(conn, table.name, rows)


def _json(value: Any) -> str:
    return json.dumps(value, default=str)
