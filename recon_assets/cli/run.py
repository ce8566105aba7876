"""``recon run`` and ``recon report``: a business day made complete headless, as the schedule makes it
(its neighbours landed, then the day landed, reconciled and reported), with the alerts it deserves."""

from __future__ import annotations

import argparse
import sys
import uuid
from collections.abc import Sequence
from datetime import date, timedelta
from typing import TextIO

from recon_assets import asset_keys
from recon_assets.warehouse.urls import ConfigurationError

ALERT_CURSOR_KEY = "recon_run/check_alerts"  # recon run's own memory of the incidents it alerted on


def day_plan(day: date, processors: Sequence[str]) -> list[tuple[date, list]]:
    """(partition, assets) in order: the neighbours' landings (the settlement window), then the whole day,
    the bank's statement lines of the day included (read from the statement files present)."""
    landing = [asset_keys.LEDGER_TRANSACTIONS] + [asset_keys.raw_transactions(p) for p in processors]
    per_processor = [
        key(p)
        for p in processors
        for key in (asset_keys.discrepancies, asset_keys.reconciliation_summary, asset_keys.reconciliation_report)
    ]
    whole_day = landing + [asset_keys.BANK_STATEMENT_LINES] + per_processor + [
        asset_keys.EXCEPTION_AGING, asset_keys.DAILY_SUMMARY,
    ]  # fmt: skip
    return [(day - timedelta(days=1), landing), (day + timedelta(days=1), landing), (day, whole_day)]


class Progress:
    """An event listener printing one line per finished step, and each check that did not pass."""

    def __init__(self, out: TextIO):
        self.out = out
        self.materialized: dict[str, str] = {}  # step key -> what it made

    def __call__(self, entry) -> None:
        import dagster as dg

        event = entry.dagster_event
        if event is None:
            return
        kind = event.event_type
        if kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = event.event_specific_data.materialization
            rows = materialization.metadata.get("row_count")
            label = materialization.asset_key.to_user_string()
            self.materialized[event.step_key] = f"{label} ({rows.value:,} rows)" if rows else label
        elif kind == dg.DagsterEventType.STEP_SUCCESS:
            seconds = event.event_specific_data.duration_ms / 1000
            self._line(f"  done     {self.materialized.get(event.step_key, event.step_key)} in {seconds:.1f} s")
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            self._line(f"  FAILED   {_asset_of(event.step_key)}: {_reason(event.event_specific_data.error)}")
        elif kind == dg.DagsterEventType.STEP_SKIPPED:
            self._line(f"  skipped  {_asset_of(event.step_key)} (a blocking check upstream failed)")
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.event_specific_data
            if not evaluation.passed:
                what = f"{evaluation.check_name} on {evaluation.asset_key.to_user_string()}"
                self._line(f"  check    {what}: {evaluation.severity.value}: {evaluation.description or 'failed'}")

    def _line(self, text: str) -> None:
        print(text, file=self.out, flush=True)


def _asset_of(step_key: str) -> str:
    return step_key.replace("__", "/")  # a step of one asset is keyed by its path joined with "__"


def _reason(error) -> str:
    """The error's first line without its class path ("dagster...Failure: X" is "X")."""
    if error is None:
        return "failed"
    first = error.message.strip().splitlines()[0]
    prefix, _, rest = first.partition(": ")
    return rest if rest and "." in prefix and " " not in prefix else first


def _preflight(definitions) -> None:
    """Settings that would fail every step fail here first, in one line, before anything runs."""
    import dagster as dg

    with dg.build_resources({"settings": definitions.resources["reconciliation_settings"]}) as resources:
        try:
            resources.settings.rates()
        except dg.Failure as failure:
            raise ConfigurationError(failure.description) from None


def run_day(
    day: date, processors: Sequence[str], trigger: str = "manual", verbose: bool = False, out: TextIO = sys.stdout
) -> bool:
    """Materialise what ``day`` needs, then send the alerts it deserves; True when every run succeeded."""
    import dagster as dg

    from recon_assets.cli.instance import prepare_instance
    from recon_assets.definitions import build_definitions
    from recon_assets.partitions import daily_partitions

    prepare_instance()
    definitions = build_definitions()
    _preflight(definitions)
    job = definitions.resolve_implicit_global_asset_job_def()
    existing = set(daily_partitions.get_partition_keys())
    # without --verbose the console logger stays quiet: the progress lines say what happened
    quiet = {} if verbose else {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    results = []
    with dg.DagsterInstance.get() as instance:
        for partition, keys in day_plan(day, processors):
            key = partition.isoformat()
            if key not in existing:
                print(f"recon: {key}: not a business day yet, skipped", file=out)
                continue
            print(f"recon: {key}: {', '.join(k.to_user_string() for k in keys)}", file=out, flush=True)
            run_id = str(uuid.uuid4())  # known before the run starts, so its events can be followed
            instance.add_event_listener(run_id, Progress(out))
            result = job.execute_in_process(
                partition_key=key, instance=instance, asset_selection=keys, run_id=run_id, run_config=quiet,
                tags={"trigger": trigger, "business_date": key, "processors": ",".join(processors)},
                raise_on_error=False,
            )  # fmt: skip
            print(f"recon: {key}: {'succeeded' if result.success else 'FAILED'} (run {result.run_id})", file=out)
            results.append(result)
        print(f"recon: alerts: {send_alerts(instance, definitions, results)}", file=out)
    return all(r.success for r in results)


def send_alerts(instance, definitions, results) -> str:
    """What the alert sensors would send for these runs: failed checks, recoveries and failed runs."""
    import dagster as dg

    from recon_assets.defs.alerting.sensors import AlertChannels, alert_on_checks, alert_on_run_failure

    log = dg.get_dagster_logger("recon")
    wanted = {"warehouse", "email", "slack", "alert_settings"}
    with dg.build_resources({k: v for k, v in definitions.resources.items() if k in wanted}) as r:
        channels = AlertChannels(r.warehouse, r.email, r.slack, r.alert_settings)
        check_keys = definitions.resolve_asset_graph().asset_check_keys
        cursor = instance.run_storage.get_cursor_values({ALERT_CURSOR_KEY}).get(ALERT_CURSOR_KEY)
        cursor, summary = alert_on_checks(instance, check_keys, cursor, channels, log)
        instance.run_storage.set_cursor_values({ALERT_CURSOR_KEY: cursor})
        failed = [result for result in results if not result.success]
        for result in failed:
            run = instance.get_run_by_id(result.run_id)
            steps = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
            alert_on_run_failure(run, steps, "the run failed", channels, log)
    return summary + (f"; {len(failed)} failed run(s) announced" if failed else "")


def summary_rows() -> dict[str, str]:
    """The reconciliation_runs columns the day's table shows, with their labels."""
    from recon_assets.domain.matching import DISCREPANCY_TYPES

    return {
        "risk_level": "risk level",
        "processor_transaction_count": "processor records",
        "internal_transaction_count": "ledger entries",
        "matched_count": "matched",
        **{f"{kind}_count": kind.replace("_", " ") for kind in DISCREPANCY_TYPES},
        "total_discrepancy_amount": "amount at risk",
        "total_volume_processed": "volume",
    }


def day_table(day: date, processors: Sequence[str] | None = None) -> str | None:
    """The day's reconciliation summary, a column per processor; None before the day was reconciled."""
    import pandas as pd

    from recon_assets.warehouse import runs
    from recon_assets.warehouse.database import connect, prepared_url

    with connect(prepared_url()) as conn:
        rows = [r for r in runs.fetch_runs(conn, day, day) if processors is None or r["processor_name"] in processors]
    if not rows:
        return None
    frame = pd.DataFrame(rows).set_index("processor_name")
    currency = rows[0]["reporting_currency"].strip()
    labels = summary_rows()
    table = frame[list(labels)].rename(columns=labels).T
    table.columns.name = None
    table.index = [f"{label} ({currency})" if label in ("amount at risk", "volume") else label for label in table.index]
    return table.to_string()


def cmd_run(args: argparse.Namespace) -> int:
    ok = run_day(args.date, args.processors, verbose=args.verbose)
    table = day_table(args.date, args.processors)
    if table:
        print(table)
    return 0 if ok else 1


def cmd_report(args: argparse.Namespace) -> int:
    table = day_table(args.date)
    if table is None:
        print(f"recon: no reconciliation for {args.date} yet (recon run --date {args.date})", file=sys.stderr)
        return 1
    print(table)
    return 0
