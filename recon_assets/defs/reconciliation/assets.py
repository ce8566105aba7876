"""Discrepancies and the run summary for each processor and day, and what is still open."""

from datetime import UTC, datetime

import dagster as dg
import pandas as pd

from recon_assets import asset_keys
from recon_assets.defs.reconciliation.checks import (
    INVARIANTS,
    RISK_THRESHOLD,
    evaluate_invariants,
    evaluate_risk,
    invariants_spec,
    not_reconciled,
    risk_spec,
)
from recon_assets.defs.reconciliation.resources import ReconciliationSettings
from recon_assets.domain.casework import age_days
from recon_assets.domain.findings import finding_columns, names
from recon_assets.domain.matching import total_at_risk
from recon_assets.domain.money import display
from recon_assets.domain.summary import match_rate
from recon_assets.partitions import (
    daily_partitions,
    partition_day,
    refresh_when_inputs_change,
    settlement_window,
)
from recon_assets.processors.registry import PROCESSORS, SourceSpec
from recon_assets.services.reconciliation import DayIncomplete, reconcile_day, summarise
from recon_assets.warehouse import findings
from recon_assets.warehouse.resource import WarehouseResource

DISCREPANCY_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn(c.name, c.sql_type, description=", ".join(names()) if c.name == "discrepancy_type" else
                       c.description)
        for c in finding_columns(reported=True)
    ]
)  # fmt: skip
RUN_SCHEMA = dg.TableSchema(
    columns=[
        dg.TableColumn("run_date", "date"),
        dg.TableColumn("processor_name", "text"),
        dg.TableColumn("processor_transaction_count", "integer"),
        dg.TableColumn("internal_transaction_count", "integer", description="Ledger entries of the day"),
        dg.TableColumn("matched_count", "integer"),
        dg.TableColumn("missing_transaction_count", "integer",
                       description="Missing on either side, and paid out but never booked"),
        dg.TableColumn("total_discrepancy_amount", "numeric(18,2)", description="Amount at risk, reporting currency"),
        dg.TableColumn("total_volume_processed", "numeric(18,2)"),
        dg.TableColumn("finding_counts", "jsonb", description="Open findings per type, every type"),
        dg.TableColumn("discrepancy_rate", "numeric(12,6)"),
        dg.TableColumn("risk_level", "text", description="LOW, MEDIUM, HIGH or CRITICAL"),
        dg.TableColumn("report_uris", "jsonb", description="Where the day's reports are"),
    ]
)  # fmt: skip


def _largest_table(priced: pd.DataFrame, limit: int = 10) -> str:
    if priced.empty:
        return "_no discrepancies_"
    top = priced.sort_values("amount_at_risk", ascending=False).head(limit)
    return top[
        ["discrepancy_type", "processor_txn_id", "ledger_id", "at_risk_currency", "at_risk_minor", "amount_at_risk"]
    ].to_markdown(index=False)


def build_reconciliation_assets(spec: SourceSpec) -> list[dg.AssetsDefinition]:
    """The factory: a processor's discrepancies and its run summary, daily."""
    key, summary = asset_keys.discrepancies(spec.name), asset_keys.reconciliation_summary(spec.name)

    @dg.asset(
        key=key,
        partitions_def=daily_partitions,
        group_name=spec.name,
        kinds={spec.name, "python", "pandas", "postgres"},
        tags={"processor": spec.name},
        deps=[
            dg.AssetDep(asset_keys.raw_transactions(spec.name), partition_mapping=settlement_window),
            dg.AssetDep(asset_keys.LEDGER_TRANSACTIONS, partition_mapping=settlement_window),
        ],
        check_specs=[invariants_spec(key)],
        automation_condition=refresh_when_inputs_change(),
        metadata={"dagster/table_name": "discrepancies", "dagster/column_schema": DISCREPANCY_SCHEMA},
        description=(
            f"Every {spec.display_name} record of the day matched against the ledger, with the day before "
            "and after as the settlement window, by manual links, the exact reference, split bookings and "
            "split tenders: missing on either side, amount, currency or status mismatches, group sums that "
            "differ, duplicate ledger bookings, and suggested groups for a person to confirm. Earlier findings "
            "now matched are resolved, not deleted."
        ),
    )
    def discrepancies(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        reconciliation_settings: ReconciliationSettings,
    ):
        day = partition_day(context)
        rates = reconciliation_settings.rates()
        try:
            with warehouse.connection() as conn:
                reconciled = reconcile_day(
                    conn, warehouse.url(), spec.name, day, context.run.run_id,
                    rules=reconciliation_settings.rules(spec.name), rates=rates,
                )  # fmt: skip
        except DayIncomplete as exc:  # no finding from what was never fetched; the check says so
            context.log.warning(str(exc))
            return not_reconciled(key, INVARIANTS, str(exc))
        result, priced, changes = reconciled.result, reconciled.priced, reconciled.changes
        type_counts = result.discrepancy_counts()
        at_risk = total_at_risk(result.discrepancies, rates)
        context.log.info(f"{spec.name} {day}: {sum(type_counts.values())} discrepancies, {changes}")
        return dg.MaterializeResult(
            metadata={
                **{f"{name}_count": dg.MetadataValue.int(n) for name, n in result.outcome_counts().items()},
                **{f"{name}_count": dg.MetadataValue.int(n) for name, n in type_counts.items()},
                "discrepancy_count": dg.MetadataValue.int(len(priced)),
                "amount_at_risk": dg.MetadataValue.float(float(at_risk)),
                "amount_at_risk_exact": display(at_risk, rates.reporting_currency),
                "resolved_this_run": dg.MetadataValue.int(changes["resolved"]),
                "reopened_this_run": dg.MetadataValue.int(changes["reopened"]),
                "largest_discrepancies": dg.MetadataValue.md(_largest_table(priced)),
                **reconciled.stopwatch.as_metadata(),
            },
            check_results=[evaluate_invariants(key, reconciled.day_records, result.outcomes, result.discrepancies)],
        )

    @dg.asset(
        key=summary,
        partitions_def=daily_partitions,
        group_name=spec.name,
        kinds={spec.name, "python", "postgres"},
        tags={"processor": spec.name},
        deps=[key, asset_keys.PAYOUT_MATCHES],  # the day's settlement findings weigh on its risk too
        check_specs=[risk_spec(summary)],
        automation_condition=refresh_when_inputs_change(),
        metadata={"dagster/table_name": "reconciliation_runs", "dagster/column_schema": RUN_SCHEMA},
        description=(
            f"The day's reconciliation of {spec.display_name} in one row of reconciliation_runs: counts per "
            "outcome and finding (its payouts' too), amount at risk and volume in the reporting currency, "
            "discrepancy rate and risk level."
        ),
    )
    def reconciliation_summary(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        reconciliation_settings: ReconciliationSettings,
    ):
        rates, thresholds = reconciliation_settings.rates(), reconciliation_settings.thresholds()
        try:
            with warehouse.connection() as conn:
                row, written = summarise(
                    conn, spec.name, partition_day(context), context.run.run_id, rates=rates, thresholds=thresholds
                )
        except DayIncomplete as exc:  # no run row, no level: the risk check fails and says why
            return not_reconciled(summary, RISK_THRESHOLD, str(exc))
        risk_check = evaluate_risk(
            summary, row["risk_level"], missing_count=row["missing_transaction_count"],
            amount_at_risk=row["total_discrepancy_amount"], discrepancy_rate=float(row["discrepancy_rate"]),
            thresholds=thresholds, reporting_currency=rates.reporting_currency,
            report_uri=written.get("discrepancies_csv"),  # only a report already written is linked
        )  # fmt: skip
        return dg.MaterializeResult(
            metadata={
                "risk_level": row["risk_level"].value,
                "missing_transaction_count": dg.MetadataValue.int(row["missing_transaction_count"]),
                "total_discrepancy_amount": dg.MetadataValue.float(float(row["total_discrepancy_amount"])),
                "total_volume_processed": dg.MetadataValue.float(float(row["total_volume_processed"])),
                "discrepancy_rate": dg.MetadataValue.float(float(row["discrepancy_rate"])),
                "match_rate": dg.MetadataValue.float(match_rate(row)),
                "summary": dg.MetadataValue.md(
                    pd.DataFrame([{k: str(v) for k, v in row.items() if not k.endswith("_at")}]).T.to_markdown()
                ),
            },
            check_results=[risk_check],
        )

    return [discrepancies, reconciliation_summary]


reconciliation_assets = [a for spec in PROCESSORS.values() for a in build_reconciliation_assets(spec)]


@dg.asset(
    key=asset_keys.OPEN_DISCREPANCIES,
    group_name="reconciliation",
    kinds={"postgres"},
    deps=[asset_keys.discrepancies(p) for p in PROCESSORS],
    description="Every discrepancy still open, across processors and days, with its age in days since the "
    "business day.",
)
def open_discrepancies(warehouse: WarehouseResource) -> dg.MaterializeResult:
    with warehouse.connection() as conn:
        frame = findings.open_findings(conn)
    today = datetime.now(UTC).date()
    frame["age_days"] = [age_days(d, today) for d in frame["business_date"]]
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
