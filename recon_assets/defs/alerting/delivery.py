"""Send one alert through every channel, and write what happened (sent, skipped, failed) to audit_logs."""

import logging

from recon_assets.defs.alerting.resources import SesEmailResource, SlackWebhookResource
from recon_assets.domain.alerts import Alert, redact
from recon_assets.warehouse import audit, store
from recon_assets.warehouse.resource import WarehouseResource


def deliver(
    alert: Alert,
    occurrence: str,
    *,
    email: SesEmailResource,
    slack: SlackWebhookResource,
    warehouse: WarehouseResource,
    log: logging.Logger,
) -> dict[str, str]:
    """Deliver ``alert`` once per ``occurrence``; returns each channel's outcome."""
    outcomes: dict[str, str] = {}
    with warehouse.connection() as conn:
        # guards against a tick that sent its alerts but died before Dagster stored its cursor
        if audit.alert_handled(conn, alert.dedup_key, occurrence):
            log.info(f"alert {alert.dedup_key} for {occurrence} already delivered")
            return outcomes
        for name, channel in (("email", email), ("slack", slack)):
            details: dict[str, str] = {}
            if not channel.configured:
                log.info(f"alert {alert.dedup_key}: {name} is not configured, skipped")
                action = "alert_skipped"
            else:
                try:
                    details["message_id"] = str(channel.send(alert))[:200]
                    action = "alert_sent"
                except Exception as exc:  # noqa: BLE001 - one channel failing must not silence the other
                    log.error(f"alert {alert.dedup_key}: {name} failed: {redact(str(exc))[:300]}")
                    action, details["error"] = "alert_failed", redact(str(exc))[:500]
            with conn.transaction():
                store.audit(
                    conn, "alerting", action, "alert", alert.dedup_key,
                    {"channel": name, "occurrence": occurrence, "kind": alert.kind.value,
                     "severity": alert.severity, "subject": alert.subject, **details},
                )  # fmt: skip
            outcomes[name] = action
    return outcomes
