"""Reconciling a processor's day against the ledger, and summing it up in its run row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd
import psycopg

from recon_assets.domain.findings import Side, names
from recon_assets.domain.matching import (
    ReconciliationResult,
    price_discrepancies,
    reconcile,
    records_of_day,
)
from recon_assets.domain.money import FxRates
from recon_assets.domain.risk import RiskThresholds
from recon_assets.domain.rules import MatchingRules
from recon_assets.domain.summary import summarise_day
from recon_assets.processors.registry import LEDGER
from recon_assets.stopwatch import Stopwatch
from recon_assets.warehouse import archive, findings, landing, matches, runs, store
from recon_assets.warehouse.locks import lock_partition
from recon_assets.warehouse.urls import DatabaseUrl


@dataclass(frozen=True)
class ReconciledDay:
    result: ReconciliationResult
    priced: pd.DataFrame  # the findings, priced in the reporting currency
    changes: dict[str, int]  # inserted, reopened, resolved
    day_records: int  # the processor's records of the day itself (the window holds its neighbours too)
    stopwatch: Stopwatch


class DayIncomplete(RuntimeError):
    """A day whose sources are not all landed: judging it would report what was never fetched as missing."""


def incompleteness(conn: psycopg.Connection, processor: str, day: date) -> str | None:
    """Why the processor's day cannot be judged (its day or the ledger's not landed), in one line; None when
    it can."""
    if archived := archive.archived_reason(conn, findings.window(day)):
        return f"{processor} {day.isoformat()} is not reconciled: {archived}"
    missing = landing.unlanded(conn, [(processor, day), (LEDGER.name, day)])
    if not missing:
        return None
    return (
        f"{processor} {day.isoformat()} is not reconciled: "
        + ", ".join(f"{source} {landed_day.isoformat()}" for source, landed_day in missing)
        + " not landed yet (materialise its landing first)"
    )


def reconcile_day(
    conn: psycopg.Connection,
    url: DatabaseUrl,
    processor: str,
    day: date,
    run_id: str,
    *,
    rules: MatchingRules,
    rates: FxRates,
) -> ReconciledDay:
    """Match the processor's records of ``day`` against the ledger's window, then write each record's outcome and
    bring the day's transaction findings in line (history kept)."""
    stopwatch = Stopwatch()
    with conn.transaction():
        lock_partition(conn, "discrepancies", processor, day)
        reason = incompleteness(conn, processor, day)
        if reason:
            raise DayIncomplete(reason)
        with stopwatch.part("read"):
            processor_frame, ledger_frame = findings.load_window(conn, url, processor, day)
            links = matches.active_links(conn, processor)
        with stopwatch.part("match"):
            result = reconcile(processor_frame, ledger_frame, day, rules, links)
            priced = price_discrepancies(result.discrepancies, rates)
        with stopwatch.part("write"):
            findings.replace_outcomes(conn, processor, day, result.outcomes, run_id)
            changes = findings.sync_discrepancies(
                conn, processor, day, priced, rates.reporting_currency, run_id, datetime.now(UTC).date(),
                names(Side.TRANSACTION),
            )  # fmt: skip
    return ReconciledDay(result, priced, changes, records_of_day(processor_frame, day), stopwatch)


def summarise(
    conn: psycopg.Connection, processor: str, day: date, run_id: str, *, rates: FxRates, thresholds: RiskThresholds
) -> tuple[dict[str, Any], dict[str, str]]:
    """Write the day's run row from what the warehouse holds now (audited); returns it, and the day's report files
    written so far. A day not complete has none (``DayIncomplete``)."""
    started = datetime.now(UTC)
    with conn.transaction():
        lock_partition(conn, "reconciliation_runs", processor, day)
        reason = incompleteness(conn, processor, day)
        if reason:  # nothing was judged: no run row, no level
            raise DayIncomplete(reason)
        row = summarise_day(day, processor, runs.day_counts(conn, processor, day), rates, thresholds)
        row.update(dagster_run_id=run_id, started_at=started, finished_at=datetime.now(UTC))
        runs.write_summary(conn, row)
        store.audit(conn, "reconciliation", "run_summary_written", "reconciliation_runs",
                    f"{processor}/{day.isoformat()}", {k: str(v) for k, v in row.items()})  # fmt: skip
        return row, runs.report_uris(conn, processor, day)
