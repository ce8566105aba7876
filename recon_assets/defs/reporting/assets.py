"""The day's reports: per processor a discrepancies CSV and a JSON summary, and one cross-processor summary."""

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pandas as pd

from recon_assets import asset_keys
from recon_assets.defs.casework.resources import ExceptionPolicySettings
from recon_assets.defs.reconciliation.resources import ReconciliationSettings
from recon_assets.defs.reporting.resources import ReportStore
from recon_assets.defs.settlement.resources import SettlementSettings
from recon_assets.domain import daily_summary as page
from recon_assets.domain.casework import AGING_COLUMNS, aging_table
from recon_assets.domain.charts import trend_chart_png
from recon_assets.domain.reports import (
    PROCESSOR_FILES,
    discrepancies_csv,
    not_reconciled_json,
    processor_files,
    report_path,
    summary_json,
)
from recon_assets.partitions import daily_partitions, partition_day, refresh_when_inputs_change
from recon_assets.processors.registry import PROCESSORS, SourceSpec
from recon_assets.services.audit import ChainBroken, publish_head
from recon_assets.services.reconciliation import incompleteness
from recon_assets.settings import LIVE, SANDBOX
from recon_assets.warehouse import casework, findings, runs, settlement
from recon_assets.warehouse.disputes import disputes_open_on
from recon_assets.warehouse.resource import WarehouseResource

TREND_DAYS = 30
CHART = "trend.png"


def _uri_metadata(uris: dict[str, str]) -> dict[str, dg.MetadataValue]:
    return {name: dg.MetadataValue.url(uri) for name, uri in uris.items()}


def build_report_asset(spec: SourceSpec) -> dg.AssetsDefinition:
    """The factory: a processor's day as a CSV of every discrepancy and the original JSON summary."""

    @dg.asset(
        key=asset_keys.reconciliation_report(spec.name),
        partitions_def=daily_partitions,
        group_name=spec.name,
        kinds={spec.name, "python", "s3"},
        tags={"processor": spec.name},
        deps=[asset_keys.reconciliation_summary(spec.name)],
        automation_condition=refresh_when_inputs_change(),
        description=(
            f"The {spec.display_name} day for auditors: every discrepancy (all types, open or resolved) as CSV, "
            "and the reconciliation summary as JSON, stored under reports/YYYY/MM/DD/"
            f"{spec.name}/. Re-materialising overwrites the same files."
        ),
    )
    def reconciliation_report(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        report_store: ReportStore,
        exception_policy: ExceptionPolicySettings,
    ) -> dg.MaterializeResult:
        day = partition_day(context)
        with warehouse.connection() as conn:
            summaries = runs.fetch_runs(conn, day, day, spec.name)
            if not summaries:
                return not_reconciled_report(conn, spec.name, day, report_store)
            rows = findings.report_rows(conn, spec.name, day)
            document = summary_json(summaries[0])
            bodies = {
                "discrepancies_csv": (
                    discrepancies_csv(rows, exception_policy.policy(), datetime.now(UTC).date()),
                    "text/csv",
                ),
                "summary_json": (json.dumps(document, indent=2).encode(), "application/json"),
            }
            uris = {
                key: report_store.put(report_path(day, name, spec.name), *bodies[key])
                for _, key, name in PROCESSOR_FILES
            }
            with conn.transaction():
                runs.record_report_uris(conn, day, uris, spec.name)
        return dg.MaterializeResult(
            metadata={
                **_uri_metadata(uris),
                "discrepancy_rows": dg.MetadataValue.int(len(rows)),
                "open_rows": dg.MetadataValue.int(int(rows["resolved_on"].isna().sum()) if len(rows) else 0),
                "summary": dg.MetadataValue.json(document),
            }
        )

    return reconciliation_report


def not_reconciled_report(conn, processor: str, day, report_store: ReportStore) -> dg.MaterializeResult:
    """A day with no summary because its sources are not all landed: its JSON says ``not_reconciled`` and
    why (no CSV: nothing was judged). A day complete but not summarised yet is a failure, in one line."""
    reason = incompleteness(conn, processor, day)
    if reason is None:
        raise dg.Failure(f"{processor} {day} has no reconciliation summary yet")
    document = not_reconciled_json(day, processor, reason)
    _, key, name = next(f for f in PROCESSOR_FILES if f[1] == "summary_json")
    uri = report_store.put(report_path(day, name, processor), json.dumps(document, indent=2).encode(),
                           "application/json")  # fmt: skip
    return dg.MaterializeResult(metadata={**_uri_metadata({key: uri}), "summary": dg.MetadataValue.json(document)})


report_assets = [build_report_asset(spec) for spec in PROCESSORS.values()]


@dg.asset(
    key=asset_keys.DAILY_SUMMARY,
    partitions_def=daily_partitions,
    group_name="reporting",
    kinds={"python", "s3", "html"},
    deps=[asset_keys.reconciliation_report(p) for p in PROCESSORS]
    + [asset_keys.disputes(p) for p, spec in PROCESSORS.items() if spec.lists_disputes]
    + [asset_keys.EXCEPTION_AGING, asset_keys.CASH_POSITION],
    automation_condition=refresh_when_inputs_change(),
    description=(
        "One page for the finance team: each processor's counts, amount at risk and risk level for the day, "
        "its findings by type (the cash side's too), its cash position, its disputes and those due soon, the open "
        "exceptions by age, and a 30-day "
        "trend chart of amount at risk and missing transactions, in Markdown and HTML."
    ),
)
def daily_summary(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    report_store: ReportStore,
    exception_policy: ExceptionPolicySettings,
    settlement_settings: SettlementSettings,
    reconciliation_settings: ReconciliationSettings,
) -> dg.MaterializeResult:
    day = partition_day(context)
    first = day - timedelta(days=TREND_DAYS - 1)
    with warehouse.connection() as conn:
        trend = runs.trend(conn, first, day)
        summaries = runs.fetch_runs(conn, day, day)
        previous = runs.last_reconciled_before(conn, day)  # a day not reconciled is skipped, and named
        currency = summaries[0]["reporting_currency"].strip() if summaries else "USD"
        backlog = pd.DataFrame(
            aging_table(casework.open_at(conn, day), exception_policy.policy(), day, reconciliation_settings.rates()),
            columns=AGING_COLUMNS,
        )
        # the audit chain's head, published outside the database as its anchor: only over a chain that verifies
        try:
            head, head_uri = publish_head(conn, report_store, day)
        except ChainBroken as exc:
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        head_text = f"row {head.row_id}, {head.row_hash}" if head else None
        names = {p: spec.display_name for p, spec in PROCESSORS.items()}
        summary = page.build_daily_summary(
            day, summaries, previous, currency, names=names,
            files={r["processor_name"]: processor_files(r["processor_name"], r["report_uris"]) for r in summaries},
            aging=backlog, chart=CHART, audit_head=head_text, cash=settlement.cash_positions_of(conn, day),
            mode=LIVE if settlement_settings.live else SANDBOX,
            fees_unchecked=settlement_settings.schedule().unchecked(settlement.charged_currencies(conn, day)),
            disputes=disputes_open_on(conn, day), dispute_due_days=reconciliation_settings.dispute_due_days,
        )  # fmt: skip
        markdown = page.markdown(summary)
        uris = {"audit_head": head_uri} if head_uri else {}
        uris["trend_png"] = report_store.put(
            report_path(day, CHART), trend_chart_png(trend, first, day, currency, names), "image/png"
        )
        uris["summary_markdown"] = report_store.put(
            report_path(day, "daily_summary.md"), markdown.encode(), "text/markdown; charset=utf-8"
        )
        uris["summary_html"] = report_store.put(
            report_path(day, "daily_summary.html"), page.html(summary).encode(), "text/html; charset=utf-8"
        )
        with conn.transaction():
            runs.record_report_uris(conn, day, {"daily_summary_html": uris["summary_html"]})
    return dg.MaterializeResult(
        metadata={
            **_uri_metadata(uris),
            "processors_reconciled": dg.MetadataValue.int(len(summaries)),
            "risk_level": summary.level.value,
            "audit_log_head": head_text or "",
            "preview": dg.MetadataValue.md(markdown),
        }
    )
