"""How long exceptions stay open: a daily picture by age bucket, severity and processor."""

import dagster as dg
import pandas as pd

from recon_assets import asset_keys
from recon_assets.defs.casework.resources import ExceptionPolicySettings
from recon_assets.defs.reconciliation.resources import ReconciliationSettings
from recon_assets.domain.casework import AGE_BUCKETS, AGING_COLUMNS, Severity, aging_table
from recon_assets.partitions import daily_partitions, partition_day, refresh_when_inputs_change
from recon_assets.processors.registry import PROCESSORS
from recon_assets.warehouse import casework
from recon_assets.warehouse.resource import WarehouseResource


@dg.asset(
    key=asset_keys.EXCEPTION_AGING,
    partitions_def=daily_partitions,
    group_name="reconciliation",
    kinds={"python", "postgres"},
    deps=[asset_keys.discrepancies(p) for p in PROCESSORS],
    automation_condition=refresh_when_inputs_change(),
    description="Exceptions still open at the end of the day, by age (0-1, 2-7, 8-30, 30+ days since the "
    "business day), severity and processor: the backlog the finance team works down.",
)
def exception_aging(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    exception_policy: ExceptionPolicySettings,
    reconciliation_settings: ReconciliationSettings,
) -> dg.MaterializeResult:
    day = partition_day(context)
    with warehouse.connection() as conn:
        open_findings = casework.open_at(conn, day)
    rows = aging_table(open_findings, exception_policy.policy(), day, reconciliation_settings.rates())
    table = pd.DataFrame(rows, columns=AGING_COLUMNS)
    by_bucket = table.groupby("age_bucket")["open_count"].sum() if len(table) else {}
    by_severity = table.groupby("severity")["open_count"].sum() if len(table) else {}
    by_processor = table.groupby("processor_name")["open_count"].sum() if len(table) else {}
    return dg.MaterializeResult(
        metadata={
            "open_count": dg.MetadataValue.int(int(table["open_count"].sum()) if len(table) else 0),
            **{f"open_{label.replace('-', '_').replace('+', '_plus')}_days": dg.MetadataValue.int(
                int(by_bucket.get(label, 0))) for label, _, _ in AGE_BUCKETS},
            **{f"open_{s.value}": dg.MetadataValue.int(int(by_severity.get(s.value, 0))) for s in Severity},
            **{f"open_{p}": dg.MetadataValue.int(int(by_processor.get(p, 0))) for p in PROCESSORS},
            "aging": dg.MetadataValue.md(table.to_markdown(index=False) if len(table) else "_no open exceptions_"),
        }
    )  # fmt: skip
