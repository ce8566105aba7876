"""Alert sensors: the alert pass (``recon_assets.services.alerts``) every minute, and on each failed run."""

import dagster as dg

from recon_assets.defs.alerting.resources import AlertChannels
from recon_assets.services.alerts import alert_on_checks, alert_on_run_failure
from recon_assets.warehouse.resource import WarehouseResource


@dg.sensor(
    name="check_alerts",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Emails and posts to Slack once per failed check, partition and severity, and once when it "
    "passes again.",
)
def check_alerts(
    context: dg.SensorEvaluationContext,
    warehouse: WarehouseResource,
    alert_channels: AlertChannels,
) -> dg.SkipReason:
    check_keys = context.repository_def.asset_graph.asset_check_keys
    cursor, summary = alert_on_checks(
        context.instance, check_keys, context.cursor, warehouse, alert_channels, context.log
    )
    context.update_cursor(cursor)
    return dg.SkipReason(summary)


@dg.run_failure_sensor(
    name="run_failure_alerts",
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Emails and posts to Slack when a run fails (an outage, bad credentials, a blocking check).",
)
def run_failure_alerts(
    context: dg.RunFailureSensorContext,
    warehouse: WarehouseResource,
    alert_channels: AlertChannels,
) -> None:
    alert_on_run_failure(
        context.dagster_run, context.get_step_failure_events(), context.failure_event.message, warehouse,
        alert_channels, context.log,
    )  # fmt: skip
