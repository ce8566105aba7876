"""Findings in the warehouse: the window a day is reconciled on, each record's outcome, the discrepancies
with their history, and what the reports and the open-items view read back."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, timedelta

import pandas as pd
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
from psycopg import sql

from recon_assets.domain.casework import KEPT_WHEN_FOUND_AGAIN
from recon_assets.domain.matching import LEDGER_SCHEMA, PROCESSOR_SCHEMA
from recon_assets.domain.reports import FINDING_COLUMNS
from recon_assets.warehouse.store import audit, copy_table, delete_partition, read_arrow, read_frame
from recon_assets.warehouse.urls import DatabaseUrl


def load_window(conn: psycopg.Connection, url: DatabaseUrl, processor: str, day: date) -> tuple[pa.Table, pa.Table]:
    """The processor's records and the ledger's entries of day-1 .. day+1 (the settlement window), as Arrow,
    both read at once, each over a connection of its own (``read_arrow``)."""
    bounds = (processor, day - timedelta(days=1), day + timedelta(days=1))
    processor_records = (
        """SELECT processor_txn_id, business_date, amount_minor, currency, status, order_reference
           FROM processor_transactions WHERE processor_name = %s AND business_date BETWEEN %s AND %s""",
        PROCESSOR_SCHEMA,
    )
    ledger_entries = (
        """SELECT ledger_id, processor_reference, business_date, amount_minor, currency, status, booked_at,
                  order_reference
           FROM ledger_transactions WHERE processor_name = %s AND business_date BETWEEN %s AND %s""",
        LEDGER_SCHEMA,
    )
    cursor = psycopg.ClientCursor(conn)  # the values written into the statements, as PostgreSQL quotes them
    reads = [(cursor.mogrify(query, bounds), schema) for query, schema in (processor_records, ledger_entries)]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="read") as readers:
        return tuple(readers.map(lambda read: read_arrow(url, *read), reads))


def replace_outcomes(conn: psycopg.Connection, processor: str, day: date, outcomes: pa.Table, run_id: str) -> None:
    """The day's outcome per processor record (matched, missing_in_ledger, ...), replacing the last run's."""
    outcomes = outcomes.take(
        pc.sort_indices(outcomes["processor_txn_id"])
    )  # in key order: the index takes them page by page
    n = outcomes.num_rows
    rows = pa.table(
        {
            "business_date": pa.repeat(pa.scalar(day, pa.date32()), n),
            "processor_name": pa.repeat(pa.scalar(processor), n),
            "processor_txn_id": outcomes["processor_txn_id"],
            "outcome": outcomes["outcome"].cast(pa.string()),
            "ledger_id": outcomes["ledger_id"],
            "dagster_run_id": pa.repeat(pa.scalar(run_id), n),
        }
    )
    with conn.transaction():
        delete_partition(conn, "transaction_outcomes", {"processor_name": processor, "business_date": day})
        copy_table(conn, "transaction_outcomes", rows)


def report_rows(conn: psycopg.Connection, processor: str, day: date) -> pd.DataFrame:
    """Every finding of a processor's day, open or resolved, as the discrepancies report lists them."""
    return read_frame(
        conn,
        sql.SQL(
            """SELECT {} FROM discrepancies WHERE processor_name = %s AND business_date = %s
               ORDER BY discrepancy_type, finding_key"""
        ).format(sql.SQL(", ").join(map(sql.Identifier, FINDING_COLUMNS))),
        (processor, day),
    )


def open_findings(conn: psycopg.Connection) -> pd.DataFrame:
    """Every finding still open, across processors and days, largest amount at risk first."""
    return read_frame(
        conn,
        """SELECT processor_name, business_date, discrepancy_type, processor_txn_id, ledger_id,
                  amount_at_risk, reporting_currency, first_detected_on
           FROM discrepancies WHERE resolved_on IS NULL ORDER BY amount_at_risk DESC""",
    )


DISCREPANCY_WRITE_COLUMNS = (
    "discrepancy_type", "processor_txn_id", "ledger_id", "related_ledger_id",
    "processor_amount_minor", "processor_currency", "processor_status",
    "ledger_amount_minor", "ledger_currency", "ledger_status", "at_risk_minor", "at_risk_currency", "amount_at_risk",
    "group_members", "payout_id", "bank_reference", "bank_line_id", "expected_minor", "actual_minor",
)  # fmt: skip


def sync_discrepancies(
    conn: psycopg.Connection,
    processor: str,
    day: date,
    findings: pd.DataFrame,
    reporting_currency: str,
    run_id: str,
    detected_on: date,
    types: Sequence[str],
) -> dict[str, int]:
    """Bring the partition's discrepancies of ``types`` in line with this run's findings, keeping their history.

    New findings are inserted; findings seen before keep ``first_detected_on``; resolved ones that
    reappear are reopened; open ones no longer found are resolved as ``auto_matched``, never deleted.
    Every change is written to the audit log. Returns counts of inserted, updated, reopened, resolved.
    """
    with conn.transaction():
        conn.execute(
            """CREATE TEMP TABLE incoming_discrepancies (
                discrepancy_type text, processor_txn_id text, ledger_id text, related_ledger_id text,
                processor_amount_minor bigint, processor_currency char(3), processor_status text,
                ledger_amount_minor bigint, ledger_currency char(3), ledger_status text,
                at_risk_minor bigint, at_risk_currency char(3), amount_at_risk numeric,
                group_members text, payout_id text, bank_reference text, bank_line_id text,
                expected_minor bigint, actual_minor bigint) ON COMMIT DROP"""
        )
        absent = {column: None for column in DISCREPANCY_WRITE_COLUMNS if column not in findings}
        incoming = findings.assign(**absent)[list(DISCREPANCY_WRITE_COLUMNS)]
        incoming = incoming.assign(  # ids hold no spaces: the list travels as one text, split again in SQL
            group_members=[" ".join(m) if isinstance(m, list) else None for m in incoming["group_members"]]
        )
        copy_table(conn, "incoming_discrepancies", pa.Table.from_pandas(incoming, preserve_index=False))
        params = {
            "processor": processor, "day": day, "currency": reporting_currency,
            "run_id": run_id, "today": detected_on, "kept": KEPT_WHEN_FOUND_AGAIN, "types": list(types),
        }  # fmt: skip
        changes = conn.execute(
            """
            WITH upserted AS (
                INSERT INTO discrepancies AS d (business_date, processor_name, discrepancy_type,
                    processor_txn_id, ledger_id, related_ledger_id, processor_amount_minor,
                    processor_currency, processor_status, ledger_amount_minor, ledger_currency,
                    ledger_status, at_risk_minor, at_risk_currency, amount_at_risk, reporting_currency,
                    detected_run_id, first_detected_on, last_detected_on, group_members, payout_id,
                    bank_reference, bank_line_id, expected_minor, actual_minor)
                SELECT %(day)s, %(processor)s, discrepancy_type, processor_txn_id, ledger_id,
                    related_ledger_id, processor_amount_minor, processor_currency, processor_status,
                    ledger_amount_minor, ledger_currency, ledger_status, at_risk_minor, at_risk_currency,
                    amount_at_risk, %(currency)s, %(run_id)s, %(today)s, %(today)s,
                    string_to_array(group_members, ' '), payout_id, bank_reference, bank_line_id, expected_minor,
                    actual_minor
                FROM incoming_discrepancies
                ON CONFLICT (processor_name, business_date, discrepancy_type, finding_key) DO UPDATE SET
                    related_ledger_id = EXCLUDED.related_ledger_id,
                    processor_amount_minor = EXCLUDED.processor_amount_minor,
                    processor_currency = EXCLUDED.processor_currency,
                    processor_status = EXCLUDED.processor_status,
                    ledger_amount_minor = EXCLUDED.ledger_amount_minor,
                    ledger_currency = EXCLUDED.ledger_currency,
                    ledger_status = EXCLUDED.ledger_status,
                    at_risk_minor = EXCLUDED.at_risk_minor,
                    at_risk_currency = EXCLUDED.at_risk_currency,
                    amount_at_risk = EXCLUDED.amount_at_risk,
                    group_members = EXCLUDED.group_members,
                    bank_reference = EXCLUDED.bank_reference,
                    expected_minor = EXCLUDED.expected_minor,
                    actual_minor = EXCLUDED.actual_minor,
                    reporting_currency = EXCLUDED.reporting_currency,
                    detected_run_id = EXCLUDED.detected_run_id,
                    last_detected_on = EXCLUDED.last_detected_on,
                    -- found again: reopened, unless its resolution accepted it (written off, false positive)
                    state = CASE WHEN d.resolution = ANY(%(kept)s) THEN d.state
                                 WHEN d.state = 'resolved' THEN 'open' ELSE d.state END,
                    resolved_on = CASE WHEN d.resolution = ANY(%(kept)s)
                                       THEN d.resolved_on END,
                    resolved_at = CASE WHEN d.resolution = ANY(%(kept)s)
                                       THEN d.resolved_at END,
                    resolved_by = CASE WHEN d.resolution = ANY(%(kept)s)
                                       THEN d.resolved_by END,
                    resolution_note = CASE WHEN d.resolution = ANY(%(kept)s)
                                           THEN d.resolution_note END,
                    resolution = CASE WHEN d.resolution = ANY(%(kept)s)
                                      THEN d.resolution END
                RETURNING d.id, (xmax = 0) AS inserted, d.discrepancy_type, d.processor_txn_id, d.ledger_id
            ),
            previously_resolved AS (
                SELECT id FROM discrepancies
                WHERE processor_name = %(processor)s AND business_date = %(day)s AND resolved_on IS NOT NULL
                  AND NOT resolution = ANY(%(kept)s) AND discrepancy_type = ANY(%(types)s)
            ),
            resolved AS (
                UPDATE discrepancies d SET resolved_on = %(today)s, resolution = 'auto_matched',
                    state = 'resolved', resolved_by = 'recon', resolved_at = now(),
                    resolution_note = 'matched by run ' || %(run_id)s
                WHERE d.processor_name = %(processor)s AND d.business_date = %(day)s
                  AND d.resolved_on IS NULL AND d.id NOT IN (SELECT id FROM upserted)
                  AND d.discrepancy_type = ANY(%(types)s)
                RETURNING d.id, d.discrepancy_type, d.processor_txn_id, d.ledger_id
            )
            SELECT 'inserted' AS change, id, discrepancy_type, processor_txn_id, ledger_id
                FROM upserted WHERE inserted
            UNION ALL
            SELECT 'reopened', id, discrepancy_type, processor_txn_id, ledger_id
                FROM upserted WHERE NOT inserted AND id IN (SELECT id FROM previously_resolved)
            UNION ALL
            SELECT 'resolved', id, discrepancy_type, processor_txn_id, ledger_id FROM resolved
            """,
            params,
        ).fetchall()
        conn.execute("DROP TABLE incoming_discrepancies")  # done with: another sync may follow in one transaction
        counts = {"inserted": 0, "reopened": 0, "resolved": 0}
        for change, ident, kind, txn_id, ledger_id in changes:
            counts[change] += 1
            if change != "inserted":
                audit(
                    conn, "reconciliation", f"discrepancy_{change}", "discrepancies", str(ident),
                    {"business_date": day.isoformat(), "processor": processor, "type": kind,
                     "processor_txn_id": txn_id, "ledger_id": ledger_id, "run_id": run_id,
                     **({"resolution": "auto_matched"} if change == "resolved" else {})},
                )  # fmt: skip
        audit(
            conn, "reconciliation", "discrepancies_synced", "discrepancies", f"{processor}/{day.isoformat()}",
            {"run_id": run_id, "findings": len(findings), **counts},
        )  # fmt: skip
    return counts
