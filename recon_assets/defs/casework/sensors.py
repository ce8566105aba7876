"""SLA breaches: an exception open longer than its severity allows is announced once, by email and Slack."""

from datetime import UTC, datetime

import dagster as dg

from recon_assets import asset_keys
from recon_assets.defs.alerting.resources import AlertChannels
from recon_assets.defs.casework.resources import ExceptionPolicySettings
from recon_assets.domain.alerts import Alert, AlertKind
from recon_assets.services.alerts import deliver
from recon_assets.warehouse import casework
from recon_assets.warehouse.resource import WarehouseResource

LISTED = 20


@dg.sensor(
    name="exception_sla_alerts",
    minimum_interval_seconds=3600,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Once an hour: exceptions past their SLA that were not announced yet, in one message.",
)
def exception_sla_alerts(
    context: dg.SensorEvaluationContext,
    warehouse: WarehouseResource,
    alert_channels: AlertChannels,
    exception_policy: ExceptionPolicySettings,
) -> dg.SkipReason:
    today = datetime.now(UTC).date()
    with warehouse.connection() as conn:
        frame = casework.list_exceptions(conn, casework.ExceptionFilter(), exception_policy.policy(), today)
        breached = frame[frame["sla_breached"]] if len(frame) else frame
        announced = casework.sla_breaches_announced(conn)
    new = breached[~breached["id"].isin(announced)] if len(breached) else breached
    if new.empty:
        return dg.SkipReason(f"{len(breached)} exceptions past SLA, none new")
    facts = {
        "newly past SLA": str(len(new)),
        "amount at risk": f"{new['amount_at_risk'].sum()} {new['reporting_currency'].iloc[0].strip()}",
        **{
            f"#{row.id} {row.processor_name} {row.business_date}": f"{row.discrepancy_type}, {row.amount_at_risk}, "
            f"{row.severity}, {row.age_days} days (SLA {row.sla_days}), {row.assigned_to or 'unassigned'}"
            for row in new.head(LISTED).itertuples()
        },
    }
    alert = Alert(
        kind=AlertKind.SLA_BREACH,
        severity="ERROR" if (new["severity"] == "critical").any() else "WARN",
        title=f"{len(new)} exception(s) past their SLA",
        processor=None,
        business_date=None,
        facts=facts,
        links={"Exceptions in Dagster": alert_channels.asset_url(asset_keys.EXCEPTION_AGING.to_user_string(), None)},
        dedup_key="sla|" + ",".join(str(i) for i in sorted(new["id"])),
    )
    occurrence = f"sla:{today.isoformat()}"
    deliver(alert, occurrence, warehouse, alert_channels, context.log)
    with warehouse.connection() as conn:
        casework.record_sla_announcements(conn, new)
    return dg.SkipReason(f"announced {len(new)} new SLA breaches")
