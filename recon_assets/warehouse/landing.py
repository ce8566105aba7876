"""Landing a source's business day: its table, the partition lock, the replace, the quarantine, and the
queries the data-quality checks run on what was landed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

import orjson
import pandas as pd
import psycopg
import pyarrow as pa
import zstandard
from psycopg import sql

from recon_assets.domain.records import LEDGER_RECORD, PROCESSOR_RECORD
from recon_assets.warehouse.store import bulk_joins, copy_rows, delete_partition, read_frame, where


@dataclass(frozen=True)
class LandingTable:
    """Where one kind of source lands: a processor's records (partitioned by processor and day) or the
    ledger's entries (partitioned by day, every processor's together).

    A row is the partition's key, the canonical record's fields in order, then the trace: where the record
    came from (page_no, page_index) and which run landed it."""

    name: str
    id_column: str
    record_columns: tuple[str, ...]  # the canonical record's fields, in order: the table's columns are named alike
    per_processor: bool

    @property
    def identity(self) -> tuple[str, ...]:
        """The columns that name one record within its day (the day's key without the day)."""
        return ("processor_name", self.id_column, "kind") if self.per_processor else (self.id_column,)

    @property
    def partition_columns(self) -> tuple[str, ...]:
        return ("business_date", "processor_name") if self.per_processor else ("business_date",)

    def partition(self, source: str, day: date) -> dict[str, Any]:
        return {"business_date": day, "processor_name": source} if self.per_processor else {"business_date": day}

    def rows(self, source: str, day: date, records: pa.Table, run_id: str) -> pa.Table:
        """A batch of canonical records (their fields, page_no and page_index) as the table's rows."""
        count = records.num_rows
        key = {name: pa.repeat(pa.scalar(value), count) for name, value in self.partition(source, day).items()}
        return pa.table({**key, **dict(zip(records.column_names, records.columns, strict=True)),
                         "dagster_run_id": pa.repeat(pa.scalar(run_id), count)})  # fmt: skip


PROCESSOR_TRANSACTIONS = LandingTable(
    "processor_transactions", "processor_txn_id", PROCESSOR_RECORD.fields, per_processor=True
)
LEDGER_TRANSACTIONS = LandingTable("ledger_transactions", "ledger_id", LEDGER_RECORD.fields, per_processor=False)
QUARANTINE_COLUMNS = ("source", "business_date", "record_id", "reason", "raw", "dagster_run_id")
PAGE_COLUMNS = ("source", "business_date", "page_no", "endpoint", "list_key", "encoding", "body", "dagster_run_id")
PAGE_TYPES = ("text", "date", "int4", "text", "text", "text", "bytea", "text")


class AlreadyLanded(RuntimeError):
    """A record of the day carries an id the warehouse already holds for a neighbouring day."""


# A record crosses days when its source re-dates it or the day's boundary moves (a time-zone change moves a
# record by one day at most); three days either side also covers a Friday record re-dated to the Monday.
NEIGHBOUR_DAYS = 3


def clear_partition(conn: psycopg.Connection, table: LandingTable, source: str, day: date) -> int:
    """Remove the partition's rows and pages (inside the caller's transaction); returns the rows removed."""
    delete_partition(conn, "source_pages", {"source": source, "business_date": day})
    return delete_partition(conn, table.name, table.partition(source, day))


def record_landed(conn: psycopg.Connection, source: str, day: date, records: int, run_id: str) -> None:
    """The source's day is landed, with so many records, by this run (in the landing's transaction)."""
    conn.execute(
        """INSERT INTO landed_days (source, business_date, records, dagster_run_id) VALUES (%s, %s, %s, %s)
           ON CONFLICT (source, business_date) DO UPDATE SET records = EXCLUDED.records,
               dagster_run_id = EXCLUDED.dagster_run_id, landed_at = now()""",
        (source, day, records, run_id),
    )


def unlanded(conn: psycopg.Connection, wanted: Sequence[tuple[str, date]]) -> list[tuple[str, date]]:
    """Of (source, day) pairs, those never landed, in the order given."""
    rows = conn.execute(
        """SELECT source, business_date FROM landed_days
           WHERE (source, business_date) IN (SELECT * FROM unnest(%s::text[], %s::date[]))""",
        ([source for source, _ in wanted], [day for _, day in wanted]),
    ).fetchall()
    landed = set(rows)
    return [pair for pair in wanted if pair not in landed]


def copy_pages(conn: psycopg.Connection, source: str, day: date, pages: Sequence[tuple], run_id: str) -> int:
    """The responses as received: (page_no, endpoint, list_key, zstd-compressed body) each."""
    rows = [(source, day, page_no, endpoint, key, "zstd", body, run_id) for page_no, endpoint, key, body in pages]
    return copy_rows(conn, "source_pages", PAGE_COLUMNS, rows, PAGE_TYPES)


def refuse_moved_records(conn: psycopg.Connection, table: LandingTable, source: str, day: date) -> None:
    """Fail the landing in one line if a record of the day is already landed on a day within
    ``NEIGHBOUR_DAYS`` of it: the source moved it across days. An id is unique within its day's partition
    by the key; across days it is these days that are looked at, not the whole history (issue 29)."""
    identity = sql.SQL(" AND ").join(
        sql.SQL("n.{0} = d.{0}").format(sql.Identifier(column)) for column in table.identity
    )
    neighbours = sql.SQL("n.business_date BETWEEN {} AND {} OR n.business_date BETWEEN {} AND {}").format(
        sql.Literal(day - timedelta(days=NEIGHBOUR_DAYS)), sql.Literal(day - timedelta(days=1)),
        sql.Literal(day + timedelta(days=1)), sql.Literal(day + timedelta(days=NEIGHBOUR_DAYS)),
    )  # fmt: skip
    # one hash join, each neighbour read once: probing a neighbour's index per id, the plan PostgreSQL picks for
    # a day landed but not yet analysed, takes four times as long (8.6 s against 2.1 s, a million ids, 3 days)
    with bulk_joins(conn):
        moved = conn.execute(
            sql.SQL("SELECT n.{}, n.business_date FROM {} d JOIN {} n ON {} WHERE {} AND ({}) LIMIT 1").format(
                sql.Identifier(table.id_column),
                sql.Identifier(table.name),
                sql.Identifier(table.name),
                identity,
                where(table.partition(source, day), "d"),
                neighbours,
            )
        ).fetchone()
    if moved is not None:
        record_id, other_day = moved
        raise AlreadyLanded(
            f"{source} {day}: a record is already landed for another day ({record_id} on {other_day}): the "
            f"source moved it across days; the partition of {day} is left as it was"
        )


def withdraw(conn: psycopg.Connection, table: LandingTable, source: str, day: date, ids: Iterable[str]):
    """Remove rows of the partition by id; returns their (id, page_no, page_index)."""
    ids = sorted(i for i in ids if i is not None)
    if not ids:
        return []
    return conn.execute(
        sql.SQL("DELETE FROM {} WHERE {} AND {} = ANY(%s) RETURNING {}, page_no, page_index")
        .format(sql.Identifier(table.name), where(table.partition(source, day)), sql.Identifier(table.id_column),
                sql.Identifier(table.id_column)),
        (ids,),
    ).fetchall()  # fmt: skip


def record_as_received(conn: psycopg.Connection, source: str, day: date, page_no: int, page_index: int) -> Any:
    """One record exactly as the source sent it, read from its page."""
    endpoint, list_key, body = conn.execute(
        "SELECT endpoint, list_key, body FROM source_pages WHERE source = %s AND business_date = %s AND page_no = %s",
        (source, day, page_no),
    ).fetchone()
    return orjson.loads(zstandard.ZstdDecompressor().decompress(body))[list_key][page_index]


def landed_record(
    conn: psycopg.Connection, table: LandingTable, record_id: str, sources: Sequence[str] = ()
) -> tuple[str, date, Any] | None:
    """(source, business_date, the record as received) of a landed record, or None. A processor record is
    looked for under each of ``sources``: its key leads with the processor, so each day's index is probed."""
    source = sql.SQL("processor_name" if table.per_processor else "'ledger'")
    scope = sql.SQL("processor_name = ANY(%(sources)s) AND " if table.per_processor else "")
    found = conn.execute(
        sql.SQL("SELECT {}, business_date, page_no, page_index, raw FROM {} WHERE {}{} = %(id)s LIMIT 1").format(
            source, sql.Identifier(table.name), scope, sql.Identifier(table.id_column)
        ),
        {"sources": list(sources), "id": record_id},
    ).fetchone()
    if found is None:
        return None
    source_name, day, page_no, page_index, raw = found
    return source_name, day, raw if page_no is None else record_as_received(conn, source_name, day, page_no, page_index)


def landed_totals(conn: psycopg.Connection, table: LandingTable, source: str, day: date) -> dict[str, tuple[int, int]]:
    """What the partition holds now: (rows, amount in minor units) per currency."""
    return {
        currency: (count, int(total))
        for currency, count, total in conn.execute(
            sql.SQL("SELECT currency, count(*), sum(amount_minor) FROM {} WHERE {} GROUP BY currency").format(
                sql.Identifier(table.name), where(table.partition(source, day))
            )
        )
    }


def landed_preview(conn: psycopg.Connection, table: LandingTable, source: str, day: date, rows: int) -> pd.DataFrame:
    """The partition's first ``rows`` records, in the order the source sent them."""
    return read_frame(
        conn,
        sql.SQL("SELECT {} FROM {} WHERE {} ORDER BY page_no, page_index, kind LIMIT {}").format(
            sql.SQL(", ").join(map(sql.Identifier, table.record_columns)), sql.Identifier(table.name),
            where(table.partition(source, day)), sql.Literal(rows),
        ),
    )  # fmt: skip


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


def trailing_daily_average(conn: psycopg.Connection, source: str, day: date, days: int = 7) -> float:
    """Average records a day the source landed over the ``days`` before ``day`` (a day not landed counts 0),
    read from ``landed_days``: a handful of rows, however long the history."""
    (average,) = conn.execute(
        """SELECT coalesce(sum(records), 0)::float / %(days)s FROM landed_days
           WHERE source = %(source)s AND business_date BETWEEN %(day)s::date - %(days)s AND %(day)s::date - 1""",
        {"source": source, "day": day, "days": days},
    ).fetchone()
    return float(average)


def ledger_duplicate_bookings(conn: psycopg.Connection, day: date) -> int:
    """Ledger entries of the day beyond the first identical one (same processor reference, kind and amount):
    lines of one payment that differ (revenue, tax, tip) are a split booking, not copies."""
    (duplicates,) = conn.execute(
        """SELECT coalesce(sum(copies - 1), 0) FROM (
               SELECT count(*) AS copies FROM ledger_transactions WHERE business_date = %s
               GROUP BY processor_name, processor_reference, kind, amount_minor, currency) AS per_booking""",
        (day,),
    ).fetchone()
    return int(duplicates)
