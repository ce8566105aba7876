"""The daily reconciliation: at 04:00 UTC, yesterday's partitions for every processor."""

import dagster as dg

from recon_assets import asset_keys
from recon_assets.partitions import daily_partitions

daily_reconciliation_job = dg.define_asset_job(
    "daily_reconciliation",
    selection=dg.AssetSelection.all() - dg.AssetSelection.assets(asset_keys.OPEN_DISCREPANCIES),
    partitions_def=daily_partitions,
    description="Land, reconcile and report one business day for every processor.",
)

daily_reconciliation_schedule = dg.build_schedule_from_partitioned_job(
    daily_reconciliation_job,
    hour_of_day=4,
    minute_of_hour=0,
    name="daily_reconciliation_0400_utc",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    tags={"trigger": "schedule"},
)
