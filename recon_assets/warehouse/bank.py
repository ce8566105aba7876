"""The bank's statement lines in the warehouse, an account's day at a time, and the register of every
statement file taken in (landed, unchanged or quarantined) and of the account-days two files disagree on."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from datetime import date

import psycopg
from psycopg.rows import dict_row

from recon_assets.domain.settlement import BankLine
from recon_assets.warehouse.store import copy_rows

COLUMNS = ("booking_date", "line_id", "account", "bank_reference", "amount_minor", "currency", "text", "reference",
           "source_file", "dagster_run_id")  # fmt: skip
TYPES = ("date", "text", "text", "text", "int8", "text", "text", "text", "text", "text")


def _lines(rows: Iterable[tuple]) -> list[tuple[BankLine, str]]:
    return [(BankLine(line_id, bank_reference, day, amount, currency.strip(), text, reference, account), source)
            for day, line_id, account, bank_reference, amount, currency, text, reference, source in rows]  # fmt: skip


def lines_of_day(conn: psycopg.Connection, day: date) -> list[tuple[BankLine, str]]:
    """The day's lines of every account, each with the file it came from, in line order."""
    rows = conn.execute(
        """SELECT booking_date, line_id, account, bank_reference, amount_minor, currency, text, reference, source_file
           FROM bank_statement_lines WHERE booking_date = %s ORDER BY line_id""",
        (day,),
    )
    return _lines(rows.fetchall())


def lines_of_account_day(conn: psycopg.Connection, account: str, day: date) -> list[tuple[BankLine, str]]:
    rows = conn.execute(
        """SELECT booking_date, line_id, account, bank_reference, amount_minor, currency, text, reference, source_file
           FROM bank_statement_lines WHERE account = %s AND booking_date = %s ORDER BY line_id""",
        (account, day),
    )
    return _lines(rows.fetchall())


def replace_account_day(
    conn: psycopg.Connection, account: str, day: date, lines: Sequence[BankLine], source: str, run_id: str
) -> int:
    """The account's lines of the day, from ``source``, replacing what it held (in the caller's transaction)."""
    conn.execute("DELETE FROM bank_statement_lines WHERE account = %s AND booking_date = %s", (account, day))
    return copy_rows(
        conn, "bank_statement_lines", COLUMNS,
        ((day, x.line_id, x.account, x.bank_reference, x.amount_minor, x.currency, x.text, x.reference, source,
          run_id) for x in lines),
        TYPES,
    )  # fmt: skip


def is_taken_in(conn: psycopg.Connection, name: str, version: str) -> bool:
    found = conn.execute("SELECT 1 FROM statement_files WHERE file_name = %s AND version = %s", (name, version))
    return found.fetchone() is not None


def taken_in(conn: psycopg.Connection) -> set[tuple[str, str]]:
    """Every (file, version) taken in so far."""
    return set(conn.execute("SELECT file_name, version FROM statement_files").fetchall())


def register_file(
    conn: psycopg.Connection,
    name: str,
    version: str,
    *,
    sha256: str,
    size_bytes: int,
    status: str,
    run_id: str,
    reason: str | None = None,
    format: str | None = None,
    account_days: Iterable[tuple[str, date]] = (),
    lines: int = 0,
    pending: Sequence[str] = (),
) -> None:
    conn.execute(
        """INSERT INTO statement_files (file_name, version, sha256, size_bytes, format, status, reason, account_days,
                                        lines, pending, dagster_run_id)
           VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)""",
        (name, version, sha256, size_bytes, format, status, reason,
         json.dumps(sorted([a, d.isoformat()] for a, d in account_days)), lines, json.dumps(list(pending)), run_id),
    )  # fmt: skip


def record_conflict(
    conn: psycopg.Connection, account: str, day: date, name: str, replaced: str, details: dict, run_id: str
) -> None:
    conn.execute(
        """INSERT INTO statement_conflicts (account, booking_date, file_name, replaced_file, details, dagster_run_id)
           VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING""",
        (account, day, name, replaced, json.dumps(details), run_id),
    )


def statement_files(conn: psycopg.Connection, status: str | None = None) -> list[dict]:
    """The register, newest first: every file taken in (or those of one status)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """SELECT file_name, version, status, reason, format, lines, account_days, pending, taken_in_at
               FROM statement_files WHERE %(status)s::text IS NULL OR status = %(status)s
               ORDER BY taken_in_at DESC, file_name""",
            {"status": status},
        )
        return cur.fetchall()


def conflicts(conn: psycopg.Connection, run_id: str | None = None) -> list[dict]:
    """The account-days two files stated differently (those a run found, when ``run_id`` is given)."""
    with conn.cursor(row_factory=dict_row) as cur:
        cur.execute(
            """SELECT account, booking_date, file_name, replaced_file, details FROM statement_conflicts
               WHERE %(run)s::text IS NULL OR dagster_run_id = %(run)s ORDER BY booking_date, account, file_name""",
            {"run": run_id},
        )
        return cur.fetchall()
