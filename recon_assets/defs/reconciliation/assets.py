"""Discrepancies and the run summary for each processor and day, and what is still open."""

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import dagster as dg
import pandas as pd
from psycopg import sql

from recon_assets.defs.ingestion.assets import LEDGER_KEY, raw_transactions_key
from recon_assets.defs.reconciliation.checks import (
    evaluate_invariants,
    evaluate_risk,
    invariants_spec,
    risk_spec,
)
from recon_assets.defs.reconciliation.resources import ReconciliationSettings
from recon_assets.defs.reporting.resources import ReportStore
from recon_assets.domain.matching import (
    DISCREPANCY_TYPES,
    MISSING_TYPES,
    price_discrepancies,
    reconcile,
    total_at_risk,
)
from recon_assets.domain.reports import report_path
from recon_assets.partitions import (
    OWNERS,
    daily_partitions,
    partition_day,
    refresh_when_inputs_change,
    settlement_window,
)
from recon_assets.processors.registry import PROCESSORS, ProcessorSpec
from recon_assets.warehouse import store
from recon_assets.warehouse.resource import WarehouseResource

OPEN_DISCREPANCIES_KEY = dg.AssetKey(["reconciliation", "open_discrepancies"])

DISCREPANCY_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("business_date", "date"),
        dg.TableColumn("processor_name", "text"),
        dg.TableColumn("discrepancy_type", "text", description="missing_in_ledger, missing_at_processor, "
                       "amount_mismatch, currency_mismatch, status_mismatch or duplicate"),
        dg.TableColumn("processor_txn_id", "text", description="The processor's id (null when missing at processor)"),
        dg.TableColumn("ledger_id", "text", description="The ledger entry (null when missing in ledger)"),
        dg.TableColumn("related_ledger_id", "text", description="For a duplicate: the entry it duplicates"),
        dg.TableColumn("at_risk_minor", "bigint", description="Amount at risk in minor units of at_risk_currency"),
        dg.TableColumn("at_risk_currency", "char(3)"),
        dg.TableColumn("amount_at_risk", "numeric(18,2)", description="In the reporting currency"),
        dg.TableColumn("first_detected_on", "date"),
        dg.TableColumn("last_detected_on", "date"),
        dg.TableColumn("resolved_on", "date", description="Null while open"),
        dg.TableColumn("resolution", "text", description="auto_matched when a later run matched it"),
    ]
)  # fmt: skip
RUN_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("run_date", "date"),
        dg.TableColumn("processor_name", "text"),
        dg.TableColumn("processor_transaction_count", "integer"),
        dg.TableColumn("internal_transaction_count", "integer", description="Ledger entries of the day"),
        dg.TableColumn("matched_count", "integer"),
        dg.TableColumn("missing_transaction_count", "integer", description="Missing on either side"),
        dg.TableColumn("total_discrepancy_amount", "numeric(18,2)", description="Amount at risk, reporting currency"),
        dg.TableColumn("total_volume_processed", "numeric(18,2)"),
        dg.TableColumn("discrepancy_rate", "numeric(12,6)"),
        dg.TableColumn("risk_level", "text", description="LOW, MEDIUM, HIGH or CRITICAL"),
        dg.TableColumn("report_uris", "jsonb", description="Where the day's reports are"),
    ]
)  # fmt: skip


def discrepancies_key(processor: str) -> dg.AssetKey:
    return dg.AssetKey([processor, "discrepancies"])


def summary_key(processor: str) -> dg.AssetKey:
    return dg.AssetKey([processor, "reconciliation_summary"])


def load_window(conn, processor: str, day: date) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The processor's records and the ledger's entries of day-1 .. day+1 (the settlement window)."""
    bounds = (processor, day - timedelta(days=1), day + timedelta(days=1))
    processor_frame = store.read_frame(
        conn,
        """SELECT processor_txn_id, business_date, amount_minor, currency, status
           FROM processor_transactions WHERE processor_name = %s AND business_date BETWEEN %s AND %s""",
        bounds,
    )
    ledger_frame = store.read_frame(
        conn,
        """SELECT ledger_id, processor_reference, business_date, amount_minor, currency, status, booked_at
           FROM ledger_transactions WHERE processor_name = %s AND business_date BETWEEN %s AND %s""",
        bounds,
    )
    return processor_frame, ledger_frame


def _largest_table(priced: pd.DataFrame, limit: int = 10) -> str:
    if priced.empty:
        return "_no discrepancies_"
    top = priced.sort_values("amount_at_risk", ascending=False).head(limit)
    return top[
        ["discrepancy_type", "processor_txn_id", "ledger_id", "at_risk_currency", "at_risk_minor", "amount_at_risk"]
    ].to_markdown(index=False)


def build_reconciliation_assets(spec: ProcessorSpec) -> list[dg.AssetsDefinition]:
    """The factory: a processor's discrepancies and its run summary, daily."""
    key, summary = discrepancies_key(spec.name), summary_key(spec.name)

    @dg.asset(
        key=key,
        partitions_def=daily_partitions,
        group_name="reconciliation",
        kinds={"python", "pandas", "postgres"},
        owners=OWNERS,
        tags={"processor": spec.name},
        deps=[
            dg.AssetDep(raw_transactions_key(spec.name), partition_mapping=settlement_window),
            dg.AssetDep(LEDGER_KEY, partition_mapping=settlement_window),
        ],
        check_specs=[invariants_spec(key)],
        automation_condition=refresh_when_inputs_change(),
        metadata={"dagster/table_name": "discrepancies", "dagster/column_schema": DISCREPANCY_SCHEMA},
        description=(
            f"Every {spec.display_name} record of the day matched against the ledger, with the day before "
            "and after as the settlement window: missing on either side, amount, currency or status "
            "mismatches, and duplicate ledger bookings. Earlier findings now matched are resolved, not deleted."
        ),
    )
    def discrepancies(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        reconciliation_settings: ReconciliationSettings,
    ):
        day = partition_day(context)
        rates = reconciliation_settings.rates()
        run_id = context.run.run_id
        with warehouse.connection() as conn:
            processor_frame, ledger_frame = load_window(conn, spec.name, day)
            result = reconcile(processor_frame, ledger_frame, day, reconciliation_settings.tolerance())
            priced = price_discrepancies(result.discrepancies, rates)
            with conn.transaction():
                store.replace_partition(
                    conn, "transaction_outcomes", {"processor_name": spec.name, "business_date": day},
                    store.OUTCOME_COLUMNS,
                    [[(day, spec.name, r.processor_txn_id, r.outcome, r.ledger_id, run_id)
                      for r in result.outcomes.itertuples(index=False)]],
                )  # fmt: skip
                changes = store.sync_discrepancies(
                    conn, spec.name, day, priced, rates.reporting_currency, run_id, datetime.now(UTC).date()
                )
        day_records = int((pd.to_datetime(processor_frame["business_date"]).dt.date == day).sum())
        outcome_counts = result.outcome_counts()
        type_counts = result.discrepancy_counts()
        at_risk = total_at_risk(result.discrepancies, rates)
        context.log.info(f"{spec.name} {day}: {sum(type_counts.values())} discrepancies, {changes}")
        return dg.MaterializeResult(
            metadata={
                **{f"{name}_count": dg.MetadataValue.int(n) for name, n in outcome_counts.items()},
                **{f"{name}_count": dg.MetadataValue.int(n) for name, n in type_counts.items()},
                "discrepancy_count": dg.MetadataValue.int(len(priced)),
                "amount_at_risk": dg.MetadataValue.float(float(at_risk)),
                "amount_at_risk_exact": f"{at_risk} {rates.reporting_currency}",
                "resolved_this_run": dg.MetadataValue.int(changes["resolved"]),
                "reopened_this_run": dg.MetadataValue.int(changes["reopened"]),
                "largest_discrepancies": dg.MetadataValue.md(_largest_table(priced)),
            },
            check_results=[evaluate_invariants(key, day_records, result.outcomes, result.discrepancies)],
        )

    @dg.asset(
        key=summary,
        partitions_def=daily_partitions,
        group_name="reconciliation",
        kinds={"python", "postgres"},
        owners=OWNERS,
        tags={"processor": spec.name},
        deps=[key],
        check_specs=[risk_spec(summary)],
        automation_condition=refresh_when_inputs_change(),
        metadata={"dagster/table_name": "reconciliation_runs", "dagster/column_schema": RUN_SCHEMA},
        description=(
            f"The day's reconciliation of {spec.display_name} in one row of reconciliation_runs: counts per "
            "outcome, amount at risk and volume in the reporting currency, discrepancy rate and risk level."
        ),
    )
    def reconciliation_summary(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        reconciliation_settings: ReconciliationSettings,
        report_store: ReportStore,
    ):
        day = partition_day(context)
        started = datetime.now(UTC)
        rates, thresholds = reconciliation_settings.rates(), reconciliation_settings.thresholds()
        with warehouse.connection() as conn:
            row = summarise_day(conn, spec.name, day, rates, thresholds)
            row.update(dagster_run_id=context.run.run_id, started_at=started, finished_at=datetime.now(UTC))
            with conn.transaction():
                write_summary(conn, row)
                store.audit(conn, "reconciliation", "run_summary_written", "reconciliation_runs",
                            f"{spec.name}/{day.isoformat()}", {k: str(v) for k, v in row.items()})  # fmt: skip
        risk_check = evaluate_risk(
            summary, row["risk_level"], missing_count=row["missing_transaction_count"],
            amount_at_risk=row["total_discrepancy_amount"], discrepancy_rate=float(row["discrepancy_rate"]),
            thresholds=thresholds, reporting_currency=rates.reporting_currency,
            report_uri=report_store.uri(report_path(day, "discrepancies.csv", spec.name)),
        )  # fmt: skip
        return dg.MaterializeResult(
            metadata={
                "risk_level": row["risk_level"].value,
                "missing_transaction_count": dg.MetadataValue.int(row["missing_transaction_count"]),
                "total_discrepancy_amount": dg.MetadataValue.float(float(row["total_discrepancy_amount"])),
                "total_volume_processed": dg.MetadataValue.float(float(row["total_volume_processed"])),
                "discrepancy_rate": dg.MetadataValue.float(float(row["discrepancy_rate"])),
                "match_rate": dg.MetadataValue.float(
                    row["matched_count"] / row["processor_transaction_count"]
                    if row["processor_transaction_count"]
                    else 1.0
                ),
                "summary": dg.MetadataValue.md(
                    pd.DataFrame([{k: str(v) for k, v in row.items() if not k.endswith("_at")}]).T.to_markdown()
                ),
            },
            check_results=[risk_check],
        )

    return [discrepancies, reconciliation_summary]


def summarise_day(conn, processor: str, day: date, rates, thresholds) -> dict:
    """One reconciliation_runs row from what the warehouse holds for the day."""
    params = {"p": processor, "d": day}
    (processor_count,) = conn.execute(
        "SELECT count(*) FROM processor_transactions WHERE processor_name = %(p)s AND business_date = %(d)s", params
    ).fetchone()
    (ledger_count,) = conn.execute(
        "SELECT count(*) FROM ledger_transactions WHERE processor_name = %(p)s AND business_date = %(d)s", params
    ).fetchone()
    outcomes = dict(
        conn.execute(
            """SELECT outcome, count(*) FROM transaction_outcomes
               WHERE processor_name = %(p)s AND business_date = %(d)s GROUP BY outcome""",
            params,
        ).fetchall()
    )
    open_rows = conn.execute(
        """SELECT discrepancy_type, at_risk_currency, count(*), sum(at_risk_minor) FROM discrepancies
           WHERE processor_name = %(p)s AND business_date = %(d)s AND resolved_on IS NULL
           GROUP BY discrepancy_type, at_risk_currency""",
        params,
    ).fetchall()
    volume = conn.execute(
        """SELECT currency, sum(abs(amount_minor)) FROM processor_transactions
           WHERE processor_name = %(p)s AND business_date = %(d)s AND status <> 'failed' GROUP BY currency""",
        params,
    ).fetchall()
    type_counts = dict.fromkeys(DISCREPANCY_TYPES, 0)
    at_risk_minor: dict[str, int] = {}
    for kind, currency, count, minor in open_rows:
        type_counts[kind] += count
        at_risk_minor[currency] = at_risk_minor.get(currency, 0) + int(minor)
    missing = sum(type_counts[t] for t in MISSING_TYPES)
    total = rates.total(at_risk_minor)
    discrepancy_count = sum(type_counts.values())
    rate = (
        (Decimal(discrepancy_count) / Decimal(processor_count)).quantize(Decimal("0.000001"))
        if processor_count
        else Decimal(0)
    )
    return {
        "run_date": day,
        "processor_name": processor,
        "processor_transaction_count": processor_count,
        "internal_transaction_count": ledger_count,
        "matched_count": outcomes.get("matched", 0),
        "not_booked_failed_count": outcomes.get("not_booked_failed", 0),
        "missing_transaction_count": missing,
        **{f"{t}_count": n for t, n in type_counts.items()},
        "total_discrepancy_amount": total,
        "total_volume_processed": rates.total(_as_ints(volume)),
        "reporting_currency": rates.reporting_currency,
        "discrepancy_rate": rate,
        "risk_level": thresholds.level(missing, total),
        "status": "completed",
    }


def _as_ints(rows) -> Mapping[str, int]:
    return {currency: int(minor) for currency, minor in rows}


def write_summary(conn, row: dict) -> None:
    """Upsert the day's row; report_uris, written by the reports, is left as it is."""
    columns = list(row)
    updates = [sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(c)) for c in columns if c not in UPSERT_KEY]
    conn.execute(
        sql.SQL(
            "INSERT INTO reconciliation_runs ({}) VALUES ({}) ON CONFLICT (run_date, processor_name) DO UPDATE SET {}"
        ).format(
            sql.SQL(", ").join(map(sql.Identifier, columns)),
            sql.SQL(", ").join(map(sql.Placeholder, columns)),
            sql.SQL(", ").join(updates),
        ),
        {**row, "risk_level": row["risk_level"].value},
    )


UPSERT_KEY = ("run_date", "processor_name")


reconciliation_assets = [a for spec in PROCESSORS.values() for a in build_reconciliation_assets(spec)]


@dg.asset(
    key=OPEN_DISCREPANCIES_KEY,
    group_name="reconciliation",
    kinds={"postgres"},
    owners=OWNERS,
    deps=[discrepancies_key(p) for p in PROCESSORS],
    description="Every discrepancy still open, across processors and days, with its age in days.",
)
def open_discrepancies(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connection() as conn:
        frame = store.read_frame(
            conn,
            """SELECT processor_name, business_date, discrepancy_type, processor_txn_id, ledger_id,
                      amount_at_risk, reporting_currency, first_detected_on,
                      (current_date - first_detected_on) AS age_days
               FROM discrepancies WHERE resolved_on IS NULL
               ORDER BY amount_at_risk DESC""",
        )
    by_type = frame.groupby("discrepancy_type").size().to_dict() if not frame.empty else {}
    return dg.MaterializeResult(
        metadata={
            "open_count": dg.MetadataValue.int(len(frame)),
            "open_amount_at_risk": dg.MetadataValue.float(float(frame["amount_at_risk"].sum()) if len(frame) else 0.0),
            "oldest_age_days": dg.MetadataValue.int(int(frame["age_days"].max()) if len(frame) else 0),
            "open_by_type": dg.MetadataValue.json({k: int(v) for k, v in by_type.items()}),
            "largest_open": dg.MetadataValue.md(frame.head(20).to_markdown(index=False) if len(frame) else "_none_"),
        }
    )
