"""The reconciliation_runs table: one summary row per processor and day, and what reads it back."""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from typing import Any

import pandas as pd
import psycopg
from psycopg import sql
from psycopg.rows import dict_row
from psycopg.types.json import Jsonb

from recon_assets.domain.summary import DayCounts
from recon_assets.warehouse.store import read_frame

_KEY = ("run_date", "processor_name")


def day_counts(conn: psycopg.Connection, processor: str, day: date) -> DayCounts:
    """Counts and amounts the day's summary is made of, as the warehouse holds them now."""
    params = {"p": processor, "d": day}
    per_currency = conn.execute(  # records, and the volume of those that did not fail, in one pass
        """SELECT currency, count(*), sum(abs(amount_minor)) FILTER (WHERE status <> 'failed')
           FROM processor_transactions WHERE processor_name = %(p)s AND business_date = %(d)s GROUP BY currency""",
        params,
    ).fetchall()
    (ledger_entries,) = conn.execute(
        "SELECT count(*) FROM ledger_transactions WHERE processor_name = %(p)s AND business_date = %(d)s", params
    ).fetchone()
    outcomes = conn.execute(
        """SELECT outcome, count(*) FROM transaction_outcomes
           WHERE processor_name = %(p)s AND business_date = %(d)s GROUP BY outcome""",
        params,
    ).fetchall()
    open_findings = conn.execute(
        """SELECT discrepancy_type, at_risk_currency, count(*), sum(at_risk_minor) FROM discrepancies
           WHERE processor_name = %(p)s AND business_date = %(d)s AND resolved_on IS NULL
           GROUP BY discrepancy_type, at_risk_currency""",
        params,
    ).fetchall()
    return DayCounts(
        processor_records=sum(count for _, count, _ in per_currency),
        ledger_entries=ledger_entries,
        outcomes=dict(outcomes),
        open_findings=[(kind, currency.strip(), count, int(minor)) for kind, currency, count, minor in open_findings],
        volume_minor={currency.strip(): int(minor) for currency, _, minor in per_currency if minor is not None},
    )


def write_summary(conn: psycopg.Connection, row: Mapping[str, Any]) -> None:
    """Upsert the day's row; report_uris, written by the reports, is left as it is."""
    columns = list(row)
    updates = [sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns if c not in _KEY]
    conn.execute(
        sql.SQL(
            "INSERT INTO reconciliation_runs ({}) VALUES ({}) ON CONFLICT (run_date, processor_name) DO UPDATE SET {}"
        ).format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(map(sql.Placeholder, columns)),
            sql.SQL(", ").join(updates),
        ),
        {**row, "risk_level": str(row["risk_level"]), "finding_counts": Jsonb(row["finding_counts"])},
    )


def fetch_runs(conn: psycopg.Connection, first: date, last: date, processor: str | None = None) -> list[dict]:
    """reconciliation_runs rows between two days (inclusive), optionally for one processor."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT * FROM reconciliation_runs WHERE run_date BETWEEN %s AND %s
               AND (%s::text IS NULL OR processor_name = %s) ORDER BY run_date, processor_name""",
            (first, last, processor, processor),
        ).fetchall()


def last_reconciled_before(conn: psycopg.Connection, day: date) -> list[dict]:
    """The reconciliation_runs rows of the last day before ``day`` that was reconciled (none: no such day)."""
    (last,) = conn.execute("SELECT max(run_date) FROM reconciliation_runs WHERE run_date < %s", (day,)).fetchone()
    return fetch_runs(conn, last, last) if last else []


def trend(conn: psycopg.Connection, first: date, last: date) -> pd.DataFrame:
    """Amount at risk and missing count per processor and reconciled day, for the trend chart."""
    return read_frame(
        conn,
        """SELECT run_date, processor_name, total_discrepancy_amount, missing_transaction_count, reporting_currency
           FROM reconciliation_runs WHERE run_date BETWEEN %s AND %s ORDER BY run_date, processor_name""",
        (first, last),
    )


def record_report_uris(conn: psycopg.Connection, day: date, uris: Mapping[str, str], processor: str | None = None):
    """Remember where the day's report files were written (every processor's row when ``processor`` is None)."""
    conn.execute(
        """UPDATE reconciliation_runs SET report_uris = report_uris || %s::jsonb
           WHERE run_date = %s AND (%s::text IS NULL OR processor_name = %s)""",
        (json.dumps(dict(uris)), day, processor, processor),
    )


def report_uris(conn: psycopg.Connection, processor: str, day: date) -> dict[str, str]:
    """The report files written for a processor's day (none before its reports ran)."""
    row = conn.execute(
        "SELECT report_uris FROM reconciliation_runs WHERE processor_name = %s AND run_date = %s", (processor, day)
    ).fetchone()
    return dict(row[0]) if row else {}
