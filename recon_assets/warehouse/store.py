"""Partition writes: each replaces exactly its partition in one transaction (delete, then COPY)."""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import date
from typing import Any

import adbc_driver_postgresql.dbapi as adbc
import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
from psycopg import sql

from recon_assets.warehouse.archive import refuse_archived
from recon_assets.warehouse.urls import DatabaseUrl

# The most a batch read from the warehouse holds: a million-record day's window (about 200 MB a side) in one,
# and a column's text well within Arrow's 2 GB per array
READ_BATCH_BYTES = 1 << 30


def where(partition: Mapping[str, Any], alias: str | None = None) -> sql.Composed:
    """``column = value AND ...`` for a partition's key columns (of the table called ``alias``)."""
    return sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(sql.Identifier(*filter(None, (alias, k))), sql.Literal(v))
        for k, v in partition.items()
    )


@contextlib.contextmanager
def bulk_joins(conn: psycopg.Connection) -> Iterator[None]:
    """Statements joining a day's rows to other days' run as hash or merge joins, each side read once, never
    row by row: a partition just written is not analysed yet, and the row-by-row plan PostgreSQL may then
    pick reads the other side once per row (a 20,000-payment day's cash position took 44 s, not 0.1 s)."""
    conn.execute("SET LOCAL enable_nestloop = off")
    try:
        yield
    finally:
        conn.execute("RESET enable_nestloop")


def make_day_partitions(conn: psycopg.Connection, day: date) -> None:
    """Create the day's partition of every day-partitioned table that lacks it (migration 0017), committed on
    its own before the caller's writes when the connection is idle; a no-op once they exist. An archived day
    is refused (``DayArchived``): it comes back whole with ``recon restore``, not a table at a time."""
    with conn.transaction():
        refuse_archived(conn, [day], f"nothing written to {day.isoformat()}")
        conn.execute("SELECT recon_day_partitions(%s)", (day,))


def delete_partition(conn: psycopg.Connection, table: str, partition: Mapping[str, Any]) -> int:
    cur = conn.execute(sql.SQL("DELETE FROM {} WHERE {}").format(sql.Identifier(table), where(partition)))
    return cur.rowcount


def copy_rows(
    conn: psycopg.Connection,
    table: str,
    columns: Sequence[str],
    rows: Iterable[Sequence],
    types: Sequence[str] | None = None,
) -> int:
    """COPY rows into ``table``. With ``types`` (one PostgreSQL type name per column) in binary, as fast as
    COPY goes; without, in text, dict and list values written as JSON."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN{}").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns)),
        sql.SQL(" (FORMAT BINARY)" if types else ""),
    )  # fmt: skip
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        if types:
            copy.set_types(list(types))
            for row in rows:
                copy.write_row(row)
                count += 1
        else:
            for row in rows:
                copy.write_row([json.dumps(v) if isinstance(v, dict | list) else v for v in row])
                count += 1
    return count


def copy_table(conn: psycopg.Connection, table: str, rows: pa.Table) -> int:
    """COPY an Arrow table into ``table`` (columns by name) as CSV that Arrow writes: no Python object per
    row. Nulls go as unquoted empty fields, text always quoted, which is how PostgreSQL's CSV tells them apart."""
    buffer = pa.BufferOutputStream()
    # one chunk per column: Arrow's writer turns a column's empty first chunk into NUL bytes (pyarrow 26)
    pa_csv.write_csv(_as_csv_text(rows).combine_chunks(), buffer, pa_csv.WriteOptions(include_header=False))
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, rows.column_names))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.write(memoryview(buffer.getvalue()))
    return rows.num_rows


def _as_csv_text(rows: pa.Table) -> pa.Table:
    """Columns Arrow's CSV cannot write as PostgreSQL reads them, as text. Time-zone-aware timestamps as UTC
    text with its offset: Arrow writes them twenty times slower than the same instants without a zone (Arrow
    keeps the instant in UTC, so dropping the zone keeps the value). Bytes in bytea's hex form."""
    for index, column in enumerate(rows.columns):
        if pa.types.is_timestamp(column.type) and column.type.tz is not None:
            text = pc.binary_join_element_wise(column.cast(pa.timestamp(column.type.unit)).cast(pa.string()), "+00", "")
        elif pa.types.is_binary(column.type) or pa.types.is_large_binary(column.type):
            text = pa.array([None if b is None else "\\x" + b.hex() for b in column.to_pylist()], pa.string())
        else:
            continue
        rows = rows.set_column(index, rows.field(index).name, text)
    return rows


def read_arrow(url: DatabaseUrl, query: str, schema: pa.Schema | None = None) -> pa.Table:
    """A query's rows as an Arrow table (of ``schema``, its columns in the query's order), read by ADBC's
    PostgreSQL driver over a connection of its own: binary COPY straight into columns, no Python object per
    row. Rows come in batches of up to ``READ_BATCH_BYTES``, so a day's window is one batch and is never
    copied to be gathered; each column is one chunk. It sees what is committed, not the caller's open
    transaction."""
    with adbc.connect(url.libpq) as conn, conn.cursor() as cur:
        cur.adbc_statement.set_options(**{"adbc.postgresql.batch_size_hint_bytes": str(READ_BATCH_BYTES)})
        cur.execute(query)
        rows = cur.fetch_arrow_table()
    if schema is not None:
        rows = rows.cast(schema)
    return rows.combine_chunks()


def audit(
    conn: psycopg.Connection,
    actor: str,
    action: str,
    entity: str,
    entity_id: str | None,
    details: Mapping[str, Any] | None = None,
) -> None:
    conn.execute(
        "INSERT INTO audit_logs (actor, action, entity, entity_id, details) VALUES (%s, %s, %s, %s, %s)",
        (actor, action, entity, entity_id, json.dumps(details or {}, default=str)),
    )


def read_frame(conn: psycopg.Connection, query: str, params: Sequence | Mapping | None = None) -> pd.DataFrame:
    with conn.cursor() as cur:
        cur.execute(query, params)
        columns = [c.name for c in cur.description]
        return pd.DataFrame(cur.fetchall(), columns=columns)
