"""The alert pass: failed asset checks (and their recovery) and failed runs, read from the instance's event log
and delivered once per occurrence by email and Slack, each delivery audited. The alert sensors run it, and so
does ``recon run`` after its runs.

A failed check fails its run only when it is blocking with ERROR severity, so run failures alone miss
most bad days: the check pass reads every check's execution history instead.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from typing import Protocol

import dagster as dg

from recon_assets.domain.alerts import Alert, AlertKind, redact
from recon_assets.domain.incidents import Action, IncidentBook
from recon_assets.processors.registry import PROCESSORS
from recon_assets.warehouse import audit, runs, store
from recon_assets.warehouse.resource import WarehouseResource

HISTORY_PAGE = 200
# A check's metadata entry listing what it is about, item by item (a dispute's id): each item is alerted on
# once, on the first evaluation that lists it, whichever day's partition that is
ITEMS = "items"
_UNFINISHED_RUN = {dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED,
                   dg.DagsterRunStatus.NOT_STARTED, dg.DagsterRunStatus.CANCELING}  # fmt: skip


def executions_after(instance: dg.DagsterInstance, check_key: dg.AssetCheckKey, after: int) -> list:
    """Every execution record of one check with an id above ``after`` (the history is newest first)."""
    found, cursor = [], None
    while True:
        page = instance.event_log_storage.get_asset_check_execution_history(
            check_key, limit=HISTORY_PAGE, cursor=cursor
        )
        newer = [record for record in page if record.id > after]
        found += newer
        if len(page) < HISTORY_PAGE or len(newer) < len(page):
            return found
        cursor = page[-1].id


def _facts(evaluation) -> tuple[dict[str, str], dict[str, str]]:
    """Figures worth reading in an alert, and the links among the check's metadata."""
    facts, links = {}, {}
    for name, entry in evaluation.metadata.items():
        value = entry.value
        if isinstance(entry, dg.UrlMetadataValue):
            links[name] = value
        elif isinstance(value, int | float | str):
            facts[name.replace("_", " ")] = str(value)
        elif isinstance(value, dict):
            facts[name.replace("_", " ")] = json.dumps(value, sort_keys=True)
    return facts, links


def _report_links(warehouse: WarehouseResource, processor: str | None, day: str | None) -> dict[str, str]:
    """The day's report files, as far as they have been written when the alert goes out."""
    if not (processor and day):
        return {}
    with warehouse.connection() as conn:
        return runs.report_uris(conn, processor, date.fromisoformat(day))


def check_of(evaluation) -> str:
    """A check of an asset, across its partitions."""
    return f"{evaluation.asset_key.to_user_string()}|{evaluation.check_name}"


def incident_of(record) -> str:
    """What one alert is about: a check of an asset on one partition."""
    return f"{check_of(record.evaluation)}|{record.partition or '-'}"


def check_alert(
    record, action: Action, warehouse: WarehouseResource, channels: Channels, new_items: list[str] | None = None
) -> Alert:
    """The alert for one evaluation; for a check that lists items, about the items it newly lists."""
    evaluation = record.evaluation
    asset = evaluation.asset_key.to_user_string()
    processor, day = evaluation.asset_key.path[0], record.partition
    severity = evaluation.severity.value if action == Action.ALERT else "INFO"
    facts, links = _facts(evaluation)
    verdict = (evaluation.description or "").split(":")[0] or "failed"
    return Alert(
        kind=AlertKind.FAILURE if action == Action.ALERT else AlertKind.RECOVERY,
        severity=severity,
        title=f"{evaluation.check_name} {'passes again' if action == Action.RECOVER else verdict} on {asset}",
        processor=processor,
        business_date=day,
        facts={"check": f"{asset} {evaluation.check_name}", "partition": record.partition or "-",
               "severity": evaluation.severity.value, **({"finding": evaluation.description}
                                                          if evaluation.description else {}), **facts,
               **({"new": ", ".join(new_items)} if new_items else {})},
        links={"Dagster run": channels.run_url(record.run_id),
               "Asset in Dagster": channels.asset_url(asset, record.partition),
               **_report_links(warehouse, processor, day), **links},
        dedup_key=f"{incident_of(record)}|{severity if action == Action.ALERT else 'recovered'}"
        + (f"|{'+'.join(new_items)}" if new_items else ""),
    )  # fmt: skip


class Channel(Protocol):
    """Email or Slack: skipped while not configured."""

    @property
    def configured(self) -> bool: ...

    def send(self, alert: Alert) -> str: ...


class Channels(Protocol):
    """Where alerts go (email and Slack) and where their links point (the Dagster UI)."""

    @property
    def email(self) -> Channel: ...

    @property
    def slack(self) -> Channel: ...

    def run_url(self, run_id: str) -> str: ...

    def asset_url(self, asset_path: str, partition: str | None) -> str: ...


def alert_on_checks(
    instance: dg.DagsterInstance,
    check_keys,
    cursor: str | None,
    warehouse: WarehouseResource,
    channels: Channels,
    log: logging.Logger,
) -> tuple[str, str]:
    """Alert on the check evaluations newer than ``cursor``; returns the new cursor and a summary line.

    The ``check_alerts`` sensor runs this with its cursor; ``recon run`` with one of its own. An alert is
    sent once per occurrence whoever gets to it first (the audit log remembers what was delivered).
    """
    book = IncidentBook.from_cursor(cursor)
    records = [record for check_key in check_keys for record in executions_after(instance, check_key, book.watermark)]
    pending, sent, highest = [], 0, book.watermark
    for record in sorted(records, key=lambda r: r.id):
        highest = max(highest, record.id)
        if record.status.value == "PLANNED":
            run = instance.get_run_by_id(record.run_id)
            if run is not None and run.status in _UNFINISHED_RUN:
                pending.append(record.id)
            continue  # still running, or its run ended without evaluating it
        evaluation = record.evaluation
        items = evaluation.metadata.get(ITEMS)
        if items is not None:  # alerted item by item, across the check's partitions
            new = book.observe_items(check_of(evaluation), list(items.value), record.id, evaluation.severity.value)
            action = Action.ALERT if new else None
        else:
            new = None
            action = book.observe(incident_of(record), record.id, evaluation.passed, evaluation.severity.value)
        if action:
            alert = check_alert(record, action, warehouse, channels, new)
            deliver(alert, f"evaluation:{record.id}", warehouse, channels, log)
            sent += 1
    book.advance(highest, min(pending) if pending else None)
    return book.to_cursor(), f"{len(records)} check evaluations read, {sent} alerts, {len(book.open)} open incidents"


def processor_of(run: dg.DagsterRun, steps: list) -> str | None:
    """The one processor a failed run is about: named by its failed steps (a step of an asset is keyed by
    the asset's path, a processor's first), else by the assets it was asked for; None when several or none."""
    named = {(e.step_key or "").split("__")[0].removesuffix("_payouts") for e in steps} & set(PROCESSORS)
    if not named:
        named = {key.path[0] for key in run.asset_selection or ()} & set(PROCESSORS)
    return named.pop() if len(named) == 1 else None


def alert_on_run_failure(
    run: dg.DagsterRun,
    steps: list,
    failure_message: str,
    warehouse: WarehouseResource,
    channels: Channels,
    log: logging.Logger,
) -> None:
    """One alert for a failed run: its partition, the failed steps and the first error."""
    errors = [
        redact(event.step_failure_data.error.message.strip().splitlines()[0])[:300]
        for event in steps
        if event.step_failure_data and event.step_failure_data.error
    ]
    alert = Alert(
        kind=AlertKind.RUN_FAILURE,
        severity="ERROR",
        title=f"run of {run.job_name} failed",
        processor=processor_of(run, steps),
        business_date=run.tags.get("dagster/partition"),
        facts={
            "job": run.job_name,
            "partition": run.tags.get("dagster/partition", "-"),
            "trigger": run.tags.get("trigger", "manual"),
            "failed steps": ", ".join(e.step_key or "?" for e in steps) or "-",
            "error": errors[0] if errors else redact(failure_message or "")[:300],
        },
        links={"Dagster run": channels.run_url(run.run_id)},
        dedup_key=f"run|{run.run_id}",
    )
    deliver(alert, f"run:{run.run_id}", warehouse, channels, log)


def deliver(
    alert: Alert, occurrence: str, warehouse: WarehouseResource, channels: Channels, log: logging.Logger
) -> dict[str, str]:
    """Deliver ``alert`` once per ``occurrence``; returns each channel's outcome."""
    outcomes: dict[str, str] = {}
    with warehouse.connection() as conn:
        # guards against a tick that sent its alerts but died before Dagster stored its cursor
        if audit.alert_handled(conn, alert.dedup_key, occurrence):
            log.info(f"alert {alert.dedup_key} for {occurrence} already delivered")
            return outcomes
        for name, channel in (("email", channels.email), ("slack", channels.slack)):
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
