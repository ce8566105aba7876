"""Landing a source's business day: its table, the partition lock, the replace, the quarantine, and the
queries the data-quality checks run on what was landed."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql

from recon_assets.warehouse.store import copy_rows, delete_partition, read_frame, replace_partition, where


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


@dataclass(frozen=True)
class LandingTable:
    """Where one kind of source lands: a processor's records (partitioned by processor and day) or the
    ledger's entries (partitioned by day, every processor's together)."""

    name: str
    id_column: str
    columns: tuple[str, ...]
    to_row: Callable[[Any, date, str], tuple]
    per_processor: bool

    def partition(self, source: str, day: date) -> dict[str, Any]:
        return {"processor_name": source, "business_date": day} if self.per_processor else {"business_date": day}


PROCESSOR_TRANSACTIONS = LandingTable(
    "processor_transactions", "processor_txn_id",
    ("business_date", "processor_name", "processor_txn_id", "kind", "amount_minor", "currency",
     "fee_minor", "status", "occurred_at", "raw", "dagster_run_id"),
    processor_row, per_processor=True,
)  # fmt: skip
LEDGER_TRANSACTIONS = LandingTable(
    "ledger_transactions", "ledger_id",
    ("ledger_id", "business_date", "processor_name", "processor_reference", "kind", "amount_minor",
     "currency", "fee_minor", "status", "booked_at", "merchant_id", "raw", "dagster_run_id"),
    ledger_row, per_processor=False,
)  # fmt: skip
QUARANTINE_COLUMNS = ("source", "business_date", "record_id", "reason", "raw", "dagster_run_id")


def lock_partition(conn: psycopg.Connection, *parts: object) -> None:
    """Hold the partition's lock until the transaction ends: a second run of the same partition waits for
    the first to commit, then does its work on what the first left, instead of colliding with it."""
    key = "recon:" + "/".join(str(p) for p in parts)
    conn.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))


class AlreadyLanded(RuntimeError):
    """A record of the day carries an id the warehouse already holds for another day."""


def replace_rows(
    conn: psycopg.Connection, table: LandingTable, source: str, day: date, batches: Iterable[Sequence[Sequence]]
) -> tuple[int, int]:
    """Replace the partition's rows with ``batches`` (streamed into COPY); returns (deleted, written)."""
    try:
        return replace_partition(conn, table.name, table.partition(source, day), table.columns, batches)
    except psycopg.errors.UniqueViolation as exc:
        detail = (exc.diag.message_detail or "").replace("Key ", "").rstrip(".")
        raise AlreadyLanded(
            f"{source} {day}: a record is already landed for another day ({detail}): the source moved it across "
            f"days; the partition of {day} is left as it was"
        ) from None


def withdraw(conn: psycopg.Connection, table: LandingTable, source: str, day: date, ids: Iterable[str]):
    """Remove rows of the partition by id; returns their (id, raw, amount_minor, currency) to quarantine them."""
    ids = sorted(i for i in ids if i is not None)
    if not ids:
        return []
    return conn.execute(
        sql.SQL("DELETE FROM {} WHERE {} AND {} = ANY(%s) RETURNING {}, raw, amount_minor, currency").format(
            sql.Identifier(table.name), where(table.partition(source, day)),
            sql.Identifier(table.id_column), sql.Identifier(table.id_column),
        ),
        (ids,),
    ).fetchall()  # fmt: skip


def replace_quarantine(conn: psycopg.Connection, source: str, day: date, rows: Iterable[Sequence]) -> int:
    """The source's quarantined records of the day: (record_id, reason, raw, run_id) each."""
    delete_partition(conn, "quarantined_records", {"source": source, "business_date": day})
    return copy_rows(conn, "quarantined_records", QUARANTINE_COLUMNS, ((source, day, *row) for row in rows))


# --- what the data-quality checks read ---------------------------------------------------------------


def _scope(table: LandingTable, source: str, day: date) -> sql.Composed:
    return where(table.partition(source, day))


@dataclass(frozen=True)
class LandedCounts:
    rows: int
    missing_ids: int
    unknown_currencies: int
    quarantined: int


def landed_counts(conn: psycopg.Connection, table: LandingTable, source: str, day: date) -> LandedCounts:
    """What was landed for the partition: rows, and the rows the warehouse could not use."""
    rows, missing_ids, unknown = conn.execute(
        sql.SQL(
            """SELECT count(*), count(*) FILTER (WHERE coalesce({id}, '') = ''),
                      count(*) FILTER (WHERE e.currency IS NULL)
               FROM {table} t LEFT JOIN currency_exponents e ON e.currency = t.currency WHERE {scope}"""
        ).format(id=sql.Identifier(table.id_column), table=sql.Identifier(table.name), scope=_scope(table, source, day))
    ).fetchone()
    (quarantined,) = conn.execute(
        "SELECT count(*) FROM quarantined_records WHERE source = %s AND business_date = %s", (source, day)
    ).fetchone()
    return LandedCounts(rows, missing_ids, unknown, quarantined)


def quarantined_records(conn: psycopg.Connection, source: str, day: date, limit: int = 20) -> pd.DataFrame:
    return read_frame(
        conn,
        """SELECT record_id, reason FROM quarantined_records WHERE source = %s AND business_date = %s
           ORDER BY id LIMIT %s""",
        (source, day, limit),
    )


def large_amounts(
    conn: psycopg.Connection,
    table: LandingTable,
    source: str,
    day: date,
    bound_minor: Mapping[str, int],
    limit: int = 20,
) -> tuple[int, pd.DataFrame]:
    """Rows whose absolute amount exceeds its currency's bound (minor units): the count, and the largest."""
    if not bound_minor:
        return 0, pd.DataFrame(columns=[table.id_column, "amount_minor", "currency"])
    bounds = sql.SQL(", ").join(
        sql.SQL("({}, {})").format(sql.Literal(c), sql.Literal(m)) for c, m in bound_minor.items()
    )
    query = sql.SQL(
        """SELECT {id}, amount_minor, t.currency, count(*) OVER () AS over_bound
           FROM {table} t JOIN (VALUES {bounds}) AS b(currency, bound) ON b.currency = t.currency
           WHERE {scope} AND abs(t.amount_minor) > b.bound ORDER BY abs(t.amount_minor) DESC LIMIT {limit}"""
    ).format(
        id=sql.Identifier(table.id_column), table=sql.Identifier(table.name), bounds=bounds,
        scope=_scope(table, source, day), limit=sql.Literal(limit),
    )  # fmt: skip
    frame = read_frame(conn, query)
    count = int(frame["over_bound"].iloc[0]) if len(frame) else 0
    return count, frame.drop(columns="over_bound")


def trailing_daily_average(conn: psycopg.Connection, table: LandingTable, source: str, day: date, days: int = 7):
    """Average rows a day over the ``days`` before ``day``."""
    scope = {k: v for k, v in table.partition(source, day).items() if k != "business_date"}
    extra = sql.SQL(" AND {}").format(where(scope)) if scope else sql.SQL("")
    (average,) = conn.execute(
        sql.SQL(
            "SELECT count(*)::float / %(days)s FROM {} WHERE business_date BETWEEN %(day)s::date - %(days)s "
            "AND %(day)s::date - 1{}"
        ).format(sql.Identifier(table.name), extra),
        {"day": day, "days": days},
    ).fetchone()
    return float(average)


def ledger_duplicate_bookings(conn: psycopg.Connection, day: date) -> int:
    """Ledger entries of the day beyond the first for the same processor reference."""
    (duplicates,) = conn.execute(
        """SELECT count(*) - count(DISTINCT (processor_name, processor_reference))
           FROM ledger_transactions WHERE business_date = %s""",
        (day,),
    ).fetchone()
    return int(duplicates)
