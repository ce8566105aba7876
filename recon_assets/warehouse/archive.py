"""Days in and out of the hot database: which days hold partitions, a day's rows per table, the record of a
day archived (migrations 0017 and 0018)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

# every day-partitioned table with its day column: the partition key, as the schema holds it
DAY_TABLES = """
    SELECT c.relname::text, a.attname::text FROM pg_partitioned_table p
    JOIN pg_class c ON c.oid = p.partrelid
    JOIN pg_attribute a ON a.attrelid = p.partrelid AND a.attnum = p.partattrs[0]
    WHERE c.relnamespace = 'public'::regnamespace ORDER BY 1"""


def day_tables(conn: psycopg.Connection) -> dict[str, str]:
    """Each day-partitioned table and its day column."""
    return dict(conn.execute(DAY_TABLES).fetchall())


def days_held(conn: psycopg.Connection, before: date) -> list[date]:
    """The days before ``before`` that have partitions in the database, oldest first."""
    rows = conn.execute(
        """SELECT DISTINCT to_date(right(child.relname, 8), 'YYYYMMDD') AS day
           FROM pg_inherits i JOIN pg_partitioned_table p ON p.partrelid = i.inhparent
           JOIN pg_class child ON child.oid = i.inhrelid
           WHERE child.relname ~ '_[0-9]{8}$' ORDER BY day"""
    ).fetchall()
    return [day for (day,) in rows if day < before]


def day_query(table: str, column: str, day: date) -> sql.Composed:
    """Every row of the table's day (read through the table: the application role may not read partitions)."""
    return sql.SQL("SELECT * FROM {} WHERE {} = {}").format(sql.Identifier(table), sql.Identifier(column),
                                                          sql.Literal(day))  # fmt: skip


def rows_of_day(conn: psycopg.Connection, table: str, column: str, day: date) -> int:
    query = sql.SQL("SELECT count(*) FROM {} WHERE {} = %s").format(sql.Identifier(table), sql.Identifier(column))
    return conn.execute(query, (day,)).fetchone()[0]


def archived_copies(conn: psycopg.Connection, day: date) -> dict[str, Any] | None:
    """Where the archived day's copies are (table -> key, rows, sha256), or None if the day is not archived."""
    row = conn.execute("SELECT copies FROM archived_days WHERE business_date = %s", (day,)).fetchone()
    return None if row is None else row[0]


class DayArchived(RuntimeError):
    """A day asked of the warehouse has left it: what would be computed from it would be computed from nothing."""


def archived_among(conn: psycopg.Connection, days: Sequence[date]) -> list[date]:
    rows = conn.execute(
        "SELECT business_date FROM archived_days WHERE business_date = ANY(%s) ORDER BY 1", (list(days),)
    ).fetchall()
    return [day for (day,) in rows]


def archived_reason(conn: psycopg.Connection, days: Sequence[date]) -> str | None:
    """Which of ``days`` are archived, with how to bring one back, in words; None when none is."""
    archived = archived_among(conn, days)
    if not archived:
        return None
    return ", ".join(d.isoformat() for d in archived) + " archived (recon restore --date DAY brings a day back)"


def refuse_archived(conn: psycopg.Connection, days: Sequence[date], refused: str) -> None:
    """Raise ``DayArchived`` (``refused``: what is not done, then why) when one of ``days`` is archived."""
    if reason := archived_reason(conn, days):
        raise DayArchived(f"{refused}: {reason}")


def drop_archived_day(conn: psycopg.Connection, day: date, copies: Mapping[str, Any], run_id: str) -> int:
    """Record the day as archived and drop its partitions (in the caller's transaction); returns how many."""
    conn.execute(
        """INSERT INTO archived_days (business_date, copies, dagster_run_id) VALUES (%s, %s, %s)
           ON CONFLICT (business_date) DO UPDATE SET copies = EXCLUDED.copies, archived_at = now(),
               dagster_run_id = EXCLUDED.dagster_run_id""",
        (day, Jsonb(dict(copies)), run_id),
    )
    return conn.execute("SELECT recon_drop_day(%s)", (day,)).fetchone()[0]


def forget_archived(conn: psycopg.Connection, day: date) -> None:
    """The day is in the database again (its copies stay where they are)."""
    conn.execute("DELETE FROM archived_days WHERE business_date = %s", (day,))
