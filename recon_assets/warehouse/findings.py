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
from recon_assets.domain.findings import PAYOUT_NOT_IN_BANK, REPORT_COLUMNS, Column, Role, finding_columns
from recon_assets.domain.matching import LEDGER_SCHEMA, PROCESSOR_SCHEMA
from recon_assets.warehouse.store import (
    audit,
    copy_table,
    delete_partition,
    make_day_partitions,
    read_arrow,
    read_frame,
)
from recon_assets.warehouse.urls import DatabaseUrl

WINDOW_DAYS = 1  # a day is reconciled on the records of the days either side of it too


def window(day: date) -> list[date]:
    """The days ``day`` is reconciled on, in order."""
    return [day + timedelta(days=offset) for offset in range(-WINDOW_DAYS, WINDOW_DAYS + 1)]


def load_window(conn: psycopg.Connection, url: DatabaseUrl, processor: str, day: date) -> tuple[pa.Table, pa.Table]:
    """The processor's records and the ledger's entries of day-1 .. day+1 (the settlement window), as Arrow,
    both read at once, each over a connection of its own (``read_arrow``)."""
    first, *_, last = window(day)
    bounds = (processor, first, last)
    processor_records = (
        """SELECT processor_txn_id, kind, business_date, amount_minor, currency, status, order_reference
           FROM processor_transactions WHERE processor_name = %s AND business_date BETWEEN %s AND %s""",
        PROCESSOR_SCHEMA,
    )
    ledger_entries = (
        """SELECT ledger_id, processor_reference, kind, business_date, amount_minor, currency, status, booked_at,
                  order_reference
           FROM ledger_transactions WHERE processor_name = %s AND business_date BETWEEN %s AND %s""",
        LEDGER_SCHEMA,
    )
    cursor = psycopg.ClientCursor(conn)  # the values written into the statements, as PostgreSQL quotes them
    reads = [(cursor.mogrify(query, bounds), schema) for query, schema in (processor_records, ledger_entries)]
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="read") as readers:
        return tuple(readers.map(lambda read: read_arrow(url, *read), reads))


def replace_outcomes(conn: psycopg.Connection, processor: str, day: date, outcomes: pa.Table, run_id: str) -> None:
    """The day's outcome per processor record (matched, missing in the ledger, ...), replacing the last run's."""
    outcomes = outcomes.take(
        pc.sort_indices(outcomes, [("processor_txn_id", "ascending"), ("kind", "ascending")])
    )  # in key order: the index takes them page by page
    n = outcomes.num_rows
    rows = pa.table(
        {
            "business_date": pa.repeat(pa.scalar(day, pa.date32()), n),
            "processor_name": pa.repeat(pa.scalar(processor), n),
            "processor_txn_id": outcomes["processor_txn_id"],
            "kind": outcomes["kind"],
            "outcome": outcomes["outcome"].cast(pa.string()),
            "ledger_id": outcomes["ledger_id"],
            "dagster_run_id": pa.repeat(pa.scalar(run_id), n),
        }
    )
    make_day_partitions(conn, day)
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
        ).format(sql.SQL(", ").join(map(sql.Identifier, REPORT_COLUMNS))),
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


_IDENTITY = ("processor_name", "business_date", "discrepancy_type", "finding_key")  # the table's unique key
_STAGED = finding_columns(Role.KEY, Role.FACT, Role.PRICE)  # what a run supplies of a finding row


def _staged_type(column: Column) -> str:
    return "text" if column.sql_type.endswith("[]") else column.sql_type  # a list travels as one text


def _from_stage(column: Column) -> sql.Composable:
    """The staged column as the table takes it (ids hold no spaces: a list is split again on them)."""
    name = sql.Identifier(column.name)
    return sql.SQL("string_to_array({}, ' ')").format(name) if column.sql_type.endswith("[]") else name


def stage_findings(conn: psycopg.Connection, findings: pd.DataFrame) -> None:
    """The run's findings in a temporary table of the row schema's written columns (dropped at commit)."""
    conn.execute(
        sql.SQL("CREATE TEMP TABLE incoming_discrepancies ({}) ON COMMIT DROP").format(
            sql.SQL(", ").join(
                sql.SQL("{} {}").format(sql.Identifier(c.name), sql.SQL(_staged_type(c))) for c in _STAGED
            )  # fmt: skip
        )
    )
    names = [c.name for c in _STAGED]
    incoming = findings.assign(**{name: None for name in names if name not in findings})[names]
    lists = [c.name for c in _STAGED if c.sql_type.endswith("[]")]
    incoming = incoming.assign(
        **{n: [" ".join(m) if isinstance(m, list) else None for m in incoming[n]] for n in lists}
    )
    copy_table(conn, "incoming_discrepancies", pa.Table.from_pandas(incoming, preserve_index=False))


# Found again: reopened, unless its resolution accepted it (written off, false positive); the resolution's
# columns are kept only when accepted.
_REFOUND = """state = CASE WHEN d.resolution = ANY(%(kept)s) THEN d.state
                         WHEN d.state = 'resolved' THEN 'open' ELSE d.state END,
            {}"""
_RESOLUTION_COLUMNS = ("resolved_on", "resolved_at", "resolved_by", "resolution_note", "resolution")


def upsert_staged(conn: psycopg.Connection, params: dict) -> list[tuple]:
    """Insert the staged findings new to the partition, refresh those found before (reopening resolved ones);
    returns (id, inserted, type, processor id, ledger id) of each."""
    refreshed = [c.name for c in finding_columns(Role.FACT, Role.PRICE)]
    run_values = {
        "business_date": "%(day)s",
        "processor_name": "%(processor)s",
        "reporting_currency": "%(currency)s",
        "detected_run_id": "%(run_id)s",
        "first_detected_on": "%(today)s",
        "last_detected_on": "%(today)s",
    }
    updates = [sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(name))
               for name in (*refreshed, "reporting_currency", "detected_run_id", "last_detected_on")]  # fmt: skip
    kept = [sql.SQL("{0} = CASE WHEN d.resolution = ANY(%(kept)s) THEN d.{0} END").format(sql.Identifier(name))
            for name in _RESOLUTION_COLUMNS]  # fmt: skip
    statement = sql.SQL(
        """INSERT INTO discrepancies AS d ({columns}) SELECT {values} FROM incoming_discrepancies
           ON CONFLICT ({identity}) DO UPDATE SET {updates}, {refound}
           RETURNING d.id, (xmax = 0) AS inserted, d.discrepancy_type, d.processor_txn_id, d.ledger_id"""
    ).format(
        columns=sql.SQL(", ").join(sql.Identifier(n) for n in [*run_values, *(c.name for c in _STAGED)]),
        values=sql.SQL(", ").join([*(sql.SQL(v) for v in run_values.values()), *map(_from_stage, _STAGED)]),
        identity=sql.SQL(", ").join(map(sql.Identifier, _IDENTITY)),
        updates=sql.SQL(", ").join(updates),
        refound=sql.SQL(_REFOUND).format(sql.SQL(", ").join(kept)),
    )
    return conn.execute(statement, params).fetchall()


def resolve_unfound(conn: psycopg.Connection, params: dict, found: Sequence[int]) -> list[tuple]:
    """Resolve as ``auto_matched`` the partition's open findings of the run's types that it did not find again;
    returns (id, type, processor id, ledger id) of each."""
    return conn.execute(
        """UPDATE discrepancies d SET resolved_on = %(today)s, resolution = 'auto_matched',
               state = 'resolved', resolved_by = 'recon', resolved_at = now(),
               resolution_note = 'matched by run ' || %(run_id)s
           WHERE d.processor_name = %(processor)s AND d.business_date = %(day)s
             AND d.resolved_on IS NULL AND d.discrepancy_type = ANY(%(types)s)
             AND d.id NOT IN (SELECT unnest(%(found)s::bigint[]))  -- hashed once, not a scan of the list per row
           RETURNING d.id, d.discrepancy_type, d.processor_txn_id, d.ledger_id""",
        {**params, "found": list(found)},
    ).fetchall()


def answer_late_payouts(conn: psycopg.Connection, late: Sequence[tuple[str, str, date]], day: date, run_id: str) -> int:
    """Resolve as ``auto_matched`` the open ``payout_not_in_bank`` of each (processor, payout id, arrival date)
    whose credit the bank booked late, on ``day``; audited. Returns how many were resolved."""
    resolved = 0
    for processor, payout_id, arrival in late:
        rows = conn.execute(
            """UPDATE discrepancies SET resolved_on = %(day)s, resolution = 'auto_matched', state = 'resolved',
                   resolved_by = 'recon', resolved_at = now(),
                   resolution_note = 'its credit arrived late, booked on ' || %(day)s || ' (run ' || %(run)s || ')'
               WHERE discrepancy_type = %(type)s AND processor_name = %(processor)s
                 AND business_date = %(arrival)s AND payout_id = %(payout)s AND resolved_on IS NULL
               RETURNING id""",
            {
                "day": day,
                "run": run_id,
                "processor": processor,
                "arrival": arrival,
                "payout": payout_id,
                "type": PAYOUT_NOT_IN_BANK,
            },
        ).fetchall()
        for (ident,) in rows:
            audit(conn, "settlement", "discrepancy_resolved", "discrepancies", str(ident),
                  {"business_date": arrival.isoformat(), "processor": processor, "type": PAYOUT_NOT_IN_BANK,
                   "payout_id": payout_id, "run_id": run_id, "resolution": "auto_matched", "credit_booked_on":
                   day.isoformat()})  # fmt: skip
        resolved += len(rows)
    return resolved


def resolved_before(conn: psycopg.Connection, params: dict) -> set[int]:
    """Ids of the partition's findings of the run's types resolved by a run (not accepted by a person)."""
    rows = conn.execute(
        """SELECT id FROM discrepancies
           WHERE processor_name = %(processor)s AND business_date = %(day)s AND resolved_on IS NOT NULL
             AND NOT resolution = ANY(%(kept)s) AND discrepancy_type = ANY(%(types)s)""",
        params,
    ).fetchall()
    return {ident for (ident,) in rows}


def audit_changes(conn: psycopg.Connection, params: dict, changes: list[tuple], findings: int) -> dict[str, int]:
    """An audit row per finding reopened or resolved, and one for the sync; returns the counts per change."""
    counts = {"inserted": 0, "reopened": 0, "resolved": 0}
    day, processor, run_id = params["day"], params["processor"], params["run_id"]
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
        {"run_id": run_id, "findings": findings, **counts},
    )  # fmt: skip
    return counts


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
    params = {
        "processor": processor, "day": day, "currency": reporting_currency, "run_id": run_id,
        "today": detected_on, "kept": KEPT_WHEN_FOUND_AGAIN, "types": [str(t) for t in types],
    }  # fmt: skip
    with conn.transaction():
        stage_findings(conn, findings)
        was_resolved = resolved_before(conn, params)
        upserted = upsert_staged(conn, params)
        resolved = resolve_unfound(conn, params, [row[0] for row in upserted])
        conn.execute("DROP TABLE incoming_discrepancies")  # done with: another sync may follow in one transaction
        changes = [("inserted", ident, *rest) for ident, inserted, *rest in upserted if inserted]
        changes += [("reopened", ident, *rest) for ident, inserted, *rest in upserted
                    if not inserted and ident in was_resolved]  # fmt: skip
        changes += [("resolved", *row) for row in resolved]
        return audit_changes(conn, params, changes, len(findings))
