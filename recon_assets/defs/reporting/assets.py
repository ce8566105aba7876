"""The day's reports: per processor a discrepancies CSV and a JSON summary, and one cross-processor summary."""

import json
from datetime import date, timedelta

import dagster as dg
from psycopg import sql
from psycopg.rows import dict_row

from recon_assets.defs.exceptions.assets import EXCEPTION_AGING_KEY
from recon_assets.defs.exceptions.resources import ExceptionPolicySettings
from recon_assets.defs.reconciliation.assets import summary_key
from recon_assets.defs.reporting.resources import ReportStore
from recon_assets.domain.reports import (
    CSV_COLUMNS,
    daily_summary_html,
    daily_summary_markdown,
    discrepancies_csv,
    report_path,
    summary_json,
    trend_chart_png,
)
from recon_assets.partitions import OWNERS, daily_partitions, partition_day, refresh_when_inputs_change
from recon_assets.processors.registry import PROCESSORS, ProcessorSpec
from recon_assets.warehouse import exceptions, store
from recon_assets.warehouse.resource import WarehouseResource

DAILY_SUMMARY_KEY = dg.AssetKey(["reporting", "daily_summary"])
TREND_DAYS = 30


def report_key(processor: str) -> dg.AssetKey:
    return dg.AssetKey([processor, "reconciliation_report"])


def fetch_runs(conn, first: date, last: date, processor: str | None = None) -> list[dict]:
    """reconciliation_runs rows between two days (inclusive), optionally for one processor."""
    with conn.cursor(row_factory=dict_row) as cur:
        return cur.execute(
            """SELECT * FROM reconciliation_runs WHERE run_date BETWEEN %s AND %s
               AND (%s::text IS NULL OR processor_name = %s) ORDER BY run_date, processor_name""",
            (first, last, processor, processor),
        ).fetchall()


def record_report_uris(conn, day: date, uris: dict[str, str], processor: str | None = None) -> None:
    conn.execute(
        """UPDATE reconciliation_runs SET report_uris = report_uris || %s::jsonb
           WHERE run_date = %s AND (%s::text IS NULL OR processor_name = %s)""",
        (json.dumps(uris), day, processor, processor),
    )


def _uri_metadata(uris: dict[str, str]) -> dict[str, dg.MetadataValue]:
    return {name: dg.MetadataValue.url(uri) for name, uri in uris.items()}


def build_report_asset(spec: ProcessorSpec) -> dg.AssetsDefinition:
    """The factory: a processor's day as a CSV of every discrepancy and the original JSON summary."""

    @dg.asset(
        key=report_key(spec.name),
        partitions_def=daily_partitions,
        group_name="reporting",
        kinds={"python", "s3"},
        owners=OWNERS,
        tags={"processor": spec.name},
        deps=[summary_key(spec.name)],
        automation_condition=refresh_when_inputs_change(),
        description=(
            f"The {spec.display_name} day for auditors: every discrepancy (all types, open or resolved) as CSV, "
            "and the reconciliation summary as JSON, stored under reports/YYYY/MM/DD/"
            f"{spec.name}/. Re-materialising overwrites the same files."
        ),
    )
    def reconciliation_report(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource, report_store: ReportStore
    ) -> dg.MaterializeResult:
        day = partition_day(context)
        with warehouse.connection() as conn:
            runs = fetch_runs(conn, day, day, spec.name)
            if not runs:
                raise dg.Failure(f"{spec.name} {day} has no reconciliation summary yet")
            findings = store.read_frame(
                conn,
                sql.SQL(
                    """SELECT {} FROM discrepancies WHERE processor_name = %s AND business_date = %s
                       ORDER BY discrepancy_type, finding_key"""
                ).format(sql.SQL(", ").join(map(sql.Identifier, CSV_COLUMNS))),
                (spec.name, day),
            )
            document = summary_json(runs[0])
            uris = {
                "discrepancies_csv": report_store.put(
                    report_path(day, "discrepancies.csv", spec.name), discrepancies_csv(findings), "text/csv"
                ),
                "summary_json": report_store.put(
                    report_path(day, "summary.json", spec.name),
                    json.dumps(document, indent=2).encode(),
                    "application/json",
                ),
            }
            with conn.transaction():
                record_report_uris(conn, day, uris, spec.name)
        return dg.MaterializeResult(
            metadata={
                **_uri_metadata(uris),
                "discrepancy_rows": dg.MetadataValue.int(len(findings)),
                "open_rows": dg.MetadataValue.int(int(findings["resolved_on"].isna().sum()) if len(findings) else 0),
                "summary": dg.MetadataValue.json(document),
            }
        )

    return reconciliation_report


report_assets = [build_report_asset(spec) for spec in PROCESSORS.values()]


@dg.asset(
    key=DAILY_SUMMARY_KEY,
    partitions_def=daily_partitions,
    group_name="reporting",
    kinds={"python", "s3", "html"},
    owners=OWNERS,
    deps=[report_key(p) for p in PROCESSORS] + [EXCEPTION_AGING_KEY],
    automation_condition=refresh_when_inputs_change(),
    description=(
        "One page for the finance team: each processor's counts, amount at risk and risk level for the day, "
        "the open exceptions by age, and a 30-day trend chart of amount at risk and missing transactions, "
        "in Markdown and HTML."
    ),
)
def daily_summary(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    report_store: ReportStore,
    exception_policy: ExceptionPolicySettings,
) -> dg.MaterializeResult:
    day = partition_day(context)
    with warehouse.connection() as conn:
        trend = store.read_frame(
            conn,
            """SELECT run_date, processor_name, total_discrepancy_amount, missing_transaction_count,
                      reporting_currency FROM reconciliation_runs
               WHERE run_date BETWEEN %s AND %s ORDER BY run_date""",
            (day - timedelta(days=TREND_DAYS - 1), day),
        )
        runs = fetch_runs(conn, day, day)
        currency = runs[0]["reporting_currency"].strip() if runs else "USD"
        chart = "trend.png"
        backlog = exceptions.aging(conn, exception_policy.policy(), day)
        # the audit chain's head, published outside the database (a versioned bucket) as its anchor
        head = conn.execute("SELECT row_hash FROM audit_logs ORDER BY id DESC LIMIT 1").fetchone()
        markdown = daily_summary_markdown(day, runs, currency, chart, backlog, head[0] if head else None)
        uris = {
            "trend_png": report_store.put(report_path(day, chart), trend_chart_png(trend, currency), "image/png"),
            "summary_markdown": report_store.put(
                report_path(day, "daily_summary.md"), markdown.encode(), "text/markdown; charset=utf-8"
            ),
            "summary_html": report_store.put(
                report_path(day, "daily_summary.html"),
                daily_summary_html(day, runs, currency, chart, backlog).encode(),
                "text/html; charset=utf-8",
            ),
        }
        with conn.transaction():
            record_report_uris(conn, day, {"daily_summary_html": uris["summary_html"]})
    return dg.MaterializeResult(
        metadata={
            **_uri_metadata(uris),
            "processors_reconciled": dg.MetadataValue.int(len(runs)),
            "audit_log_head": head[0] if head else "",
            "preview": dg.MetadataValue.md(markdown),
        }
    )
