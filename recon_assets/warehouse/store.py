"""Partition writes: each replaces exactly its partition in one transaction (delete, then COPY)."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql


def where(partition: Mapping[str, Any]) -> sql.Composed:
    """``column = value AND ...`` for a partition's key columns."""
    return sql.SQL(" AND ").join(
        sql.SQL("{} = {}").format(sql.Identifier(k), sql.Literal(v)) for k, v in partition.items()
    )


def delete_partition(conn: psycopg.Connection, table: str, partition: Mapping[str, Any]) -> int:
    cur = conn.execute(sql.SQL("DELETE FROM {} WHERE {}").format(sql.Identifier(table), where(partition)))
    return cur.rowcount


def copy_rows(conn: psycopg.Connection, table: str, columns: Sequence[str], rows: Iterable[Sequence]) -> int:
    """COPY rows into ``table``; dict and list values are written as JSON."""
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(
        sql.Identifier(table), sql.SQL(", ").join(map(sql.Identifier, columns))
    )
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for row in rows:
            copy.write_row([json.dumps(v) if isinstance(v, dict | list) else v for v in row])
            count += 1
    return count


def replace_partition(
    conn: psycopg.Connection,
    table: str,
    partition: Mapping[str, Any],
    columns: Sequence[str],
    batches: Iterable[Iterable[Sequence]],
) -> tuple[int, int]:
    """Atomically replace the rows of ``partition``; returns (rows deleted, rows written).

    Batches are streamed in as they arrive; nothing is visible to readers, and nothing of the old
    partition is lost, unless the whole write commits.
    """
    with conn.transaction():
        deleted = delete_partition(conn, table, partition)
        written = sum(copy_rows(conn, table, columns, batch) for batch in batches)
    return deleted, written


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
