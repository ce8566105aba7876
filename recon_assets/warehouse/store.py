"""Partition writes: each replaces exactly its partition in one transaction (delete, then COPY)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.csv as pa_csv
from psycopg import sql


def where(partition: Mapping[str, Any]) -> sql.Composed:
    """``column = value AND ...`` for a partition's key columns."""
    return sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Literal(v)) for k, v in partition.items()
    )


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
    pa_csv.write_csv(rows, buffer, pa_csv.WriteOptions(include_header=False))
    statement = sql.SQL("COPY {} ({}) FROM STDIN (FORMAT csv)").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, rows.column_names))
    )
    with conn.cursor() as cur, cur.copy(statement) as copy:
        copy.write(memoryview(buffer.getvalue()))
    return rows.num_rows


def read_table(
    conn: psycopg.Connection, query: sql.Composable | str, params: Sequence | Mapping | None, schema: pa.Schema
) -> pa.Table:
    """A query's rows as an Arrow table of ``schema`` (its columns in the query's order): COPY TO in CSV,
    parsed by Arrow, so a million rows cost no Python object each."""
    statement = sql.SQL("COPY ({}) TO STDOUT (FORMAT csv)").format(sql.SQL(query) if isinstance(query, str) else query)
    data = bytearray()
    with conn.cursor() as cur, cur.copy(statement, params) as copy:
        while chunk := copy.read():  # a row at a time: appending is what keeps this cheap
            data += chunk
    return pa_csv.read_csv(
        pa.py_buffer(data),
        read_options=pa_csv.ReadOptions(column_names=schema.names),
        convert_options=pa_csv.ConvertOptions(
            column_types=schema, strings_can_be_null=True, quoted_strings_can_be_null=False
        ),
    ).cast(schema)


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
