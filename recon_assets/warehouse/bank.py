"""The bank's statement lines in the warehouse, a booking day at a time."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import psycopg

from recon_assets.domain.settlement import BankLine
from recon_assets.warehouse.locks import lock_partition
from recon_assets.warehouse.store import copy_rows, delete_partition

COLUMNS = ("booking_date", "line_id", "account", "bank_reference", "amount_minor", "currency", "text", "reference",
           "source_file", "dagster_run_id")  # fmt: skip
TYPES = ("date", "text", "text", "text", "int8", "text", "text", "text", "text", "text")


def replace_statement_lines(
    conn: psycopg.Connection, day: date, lines: Sequence[tuple[BankLine, str]], run_id: str
) -> int:
    """The day's lines (each with the file it came from), replacing what the day held."""
    with conn.transaction():
        lock_partition(conn, "bank_statement_lines", day)
        delete_partition(conn, "bank_statement_lines", {"booking_date": day})
        return copy_rows(
            conn, "bank_statement_lines", COLUMNS,
            ((day, x.line_id, x.account, x.bank_reference, x.amount_minor, x.currency, x.text, x.reference, source,
              run_id) for x, source in lines),
            TYPES,
        )  # fmt: skip
