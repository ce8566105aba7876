"""``recon run`` and ``recon report``: a business day made complete headless, as the schedules make it over
days (its neighbours landed; the payouts and bank statements of its grace windows; the days its payouts
settled reconciled; then the day landed, reconciled, settled and reported), with the alerts it deserves."""

from __future__ import annotations

import _thread
import argparse
import contextlib
import os
import signal
import sys
import threading
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import TextIO

from recon_assets import asset_keys
from recon_assets.processors.registry import PROCESSORS
from recon_assets.warehouse.urls import ConfigurationError

ALERT_CURSOR_KEY = "recon_run/check_alerts"  # recon run's own memory of the incidents it alerted on
ERROR_FINDINGS, INCOMPLETE = 1, 3  # recon run's exit codes beside 0, 2 (refused) and 130 (interrupted)


@dataclass(frozen=True)
class DayOutcome:
    complete: bool  # every run succeeded
    failed_checks: list[str]  # the day's checks that failed at ERROR severity


def _landing(processors: Sequence[str]) -> list:
    return [asset_keys.LEDGER_TRANSACTIONS] + [asset_keys.raw_transactions(p) for p in processors]


def fetch_plan(day: date, processors: Sequence[str]) -> list[tuple[date, date, list]]:
    """(first day, last day, assets) in date order: what ``day``'s windows read, fetched first. The day and
    its neighbours landed (the settlement window of transactions); the payouts and the bank's statement lines
    of the days around it (the grace windows of payouts: the statement files present, as the sensor reads
    them), several days in one run."""
    from recon_assets.services.settlement import windows

    window = windows()
    payouts = [key(p) for p in processors for key in (asset_keys.payouts, asset_keys.payout_items)]
    bank, one = [asset_keys.BANK_STATEMENT_LINES], timedelta(days=1)
    return [
        (day - timedelta(days=window.lookback), day, payouts + bank),
        *((d, d, _landing(processors)) for d in (day - one, day, day + one)),
        (day + one, day + timedelta(days=window.span), bank),
    ]


def settled_plan(day: date, settled: dict[str, list[date]], processors: Sequence[str], landed: set[date]):
    """The days ``day``'s payouts settled, reconciled (their neighbours landed first, where not yet), so that
    money paid out but never booked is found."""
    days = sorted({d for p in processors for d in settled.get(p, ()) if d != day})
    around = sorted({d + timedelta(days=k) for d in days for k in (-1, 0, 1)} - landed)
    return [(d, d, _landing(processors)) for d in around] + [
        (d, d, [asset_keys.discrepancies(p) for p in processors if d in settled.get(p, ())]) for d in days
    ]


def whole_day(processors: Sequence[str]) -> list:
    """The rest of the day itself (fetched with its windows): reconciled, settled, reported, and the disputes
    updated on it, where the processor lists them."""
    per_processor = [
        key(p)
        for p in processors
        for key in (asset_keys.discrepancies, asset_keys.reconciliation_summary, asset_keys.reconciliation_report)
    ]
    disputes = [asset_keys.disputes(p) for p in processors if PROCESSORS[p].lists_disputes]
    return per_processor + disputes + [
        asset_keys.PAYOUT_MATCHES, asset_keys.CASH_POSITION, asset_keys.EXCEPTION_AGING, asset_keys.DAILY_SUMMARY,
    ]  # fmt: skip


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


class _Stopped(Exception):
    """A run of the day's plan failed: what follows it would judge partial data, so it does not run."""


def _interrupted(result) -> bool:
    """Whether Ctrl-C (or SIGINT, SIGTERM) stopped the run: Dagster fails its step and returns, so we ask."""
    import dagster as dg

    return any(
        e.event_type == dg.DagsterEventType.STEP_FAILURE and e.step_failure_data.error is not None
        and e.step_failure_data.error.cls_name == "DagsterExecutionInterruptedError"
        for e in result.all_events
    )  # fmt: skip


def _preflight(definitions) -> None:
    """Settings that would fail every step fail here first, in one line, before anything runs."""
    import dagster as dg

    with dg.build_resources({"settings": definitions.resources["reconciliation_settings"]}) as resources:
        try:
            resources.settings.rates()
        except dg.Failure as failure:
            raise ConfigurationError(failure.description) from None


def run_day(
    day: date,
    processors: Sequence[str],
    trigger: str = "manual",
    verbose: bool = False,
    out: TextIO = sys.stdout,
    ctrl_c: threading.Event | None = None,
) -> DayOutcome:
    """Materialise what ``day`` needs, then send the alerts it deserves. ``ctrl_c`` is set once the user
    pressed Ctrl-C: Dagster forgets a press that comes between two steps' code, recon does not."""
    import dagster as dg

    from recon_assets.cli.instance import prepare_instance
    from recon_assets.definitions import build_definitions
    from recon_assets.partitions import daily_partitions
    from recon_assets.settings import check_live_run, recon_mode, validate_settings

    validate_settings()  # before the warehouse is started or anything is fetched
    check_live_run(processors)
    print(f"recon: {day.isoformat()} in {recon_mode()} mode: {', '.join(processors)}", file=out, flush=True)
    prepare_instance()
    definitions = build_definitions()
    _preflight(definitions)
    job = definitions.resolve_implicit_global_asset_job_def()
    existing = daily_partitions.get_partition_keys()  # in date order
    # without --verbose the console logger stays quiet: the progress lines say what happened
    quiet = {} if verbose else {"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}}
    results, failed_checks = [], []

    def execute(plan: list[tuple[date, date, list]]) -> None:
        for first, last, keys in plan:
            days = [k for k in existing if first.isoformat() <= k <= last.isoformat()]
            if not days:
                print(f"recon: {first.isoformat()}: not a business day yet, skipped", file=out)
                continue
            span = days[0] if len(days) == 1 else f"{days[0]}..{days[-1]}"
            print(f"recon: {span}: {', '.join(k.to_user_string() for k in keys)}", file=out, flush=True)
            run_id = str(uuid.uuid4())  # known before the run starts, so its events can be followed
            instance.add_event_listener(run_id, Progress(out))
            tags = {"trigger": trigger, "processors": ",".join(processors)}
            if len(days) == 1:
                partition = {"partition_key": days[0], "tags": {**tags, "business_date": days[0]}}
            else:  # one run fetches the whole range
                partition = {"tags": {**tags, "business_date": day.isoformat(),
                                      "dagster/asset_partition_range_start": days[0],
                                      "dagster/asset_partition_range_end": days[-1]}}  # fmt: skip
            result = job.execute_in_process(
                instance=instance,
                asset_selection=keys,
                run_id=run_id,
                run_config=quiet,
                raise_on_error=False,
                **partition,
            )
            if (ctrl_c is not None and ctrl_c.is_set()) or (not result.success and _interrupted(result)):
                raise KeyboardInterrupt  # nothing more runs, nothing is announced: recon says "interrupted"
            print(f"recon: {span}: {'succeeded' if result.success else 'FAILED'} (run {result.run_id})", file=out)
            results.append(result)
            if days == [day.isoformat()]:  # the day's own checks (its neighbours' are their days')
                failed_checks.extend(
                    f"{e.check_name} on {e.asset_key.to_user_string()}" for e in result.get_asset_check_evaluations()
                    if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR
                )  # fmt: skip
            if not result.success:
                raise _Stopped

    with dg.DagsterInstance.get() as instance:
        fetched = fetch_plan(day, processors)
        try:  # all or nothing: after a failed run, nothing is reconciled, settled or summed up from partial data
            execute(fetched)
            landed = {first for first, _, keys in fetched if asset_keys.LEDGER_TRANSACTIONS in keys}
            execute(settled_plan(day, settled_days(definitions, day), processors, landed))
            execute([(day, day, whole_day(processors))])
        except _Stopped:
            print(f"recon: {day.isoformat()}: stopped after a failed run: nothing judged from partial data", file=out)
        print(f"recon: alerts: {send_alerts(instance, definitions, results)}", file=out)
    return DayOutcome(all(r.success for r in results), failed_checks)


def settled_days(definitions, day: date) -> dict[str, list[date]]:
    """Per processor, the days of the movements ``day``'s payouts (landed already) settled."""
    import dagster as dg

    from recon_assets.warehouse import settlement

    with (
        dg.build_resources({"warehouse": definitions.resources["warehouse"]}) as resources,
        resources.warehouse.connection() as conn,
    ):
        return settlement.settled_days(conn, day)


def send_alerts(instance, definitions, results) -> str:
    """What the alert sensors would send for these runs: failed checks, recoveries and failed runs."""
    import dagster as dg

    from recon_assets.services.alerts import alert_on_checks, alert_on_run_failure

    log = dg.get_dagster_logger("recon")
    wanted = {"warehouse", "alert_channels"}
    with dg.build_resources({k: v for k, v in definitions.resources.items() if k in wanted}) as r:
        check_keys = definitions.resolve_asset_graph().asset_check_keys
        cursor = instance.run_storage.get_cursor_values({ALERT_CURSOR_KEY}).get(ALERT_CURSOR_KEY)
        cursor, summary = alert_on_checks(instance, check_keys, cursor, r.warehouse, r.alert_channels, log)
        instance.run_storage.set_cursor_values({ALERT_CURSOR_KEY: cursor})
        failed = [result for result in results if not result.success]
        for result in failed:
            run = instance.get_run_by_id(result.run_id)
            steps = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE]
            alert_on_run_failure(run, steps, "the run failed", r.warehouse, r.alert_channels, log)
    return summary + (f"; {len(failed)} failed run(s) announced" if failed else "")


def summary_rows(frame) -> dict[str, str]:
    """The reconciliation_runs columns the day's table shows, with their labels: a row per finding type."""
    from recon_assets.domain.findings import finding_types

    for kind in finding_types():
        frame[kind.name] = [counts.get(kind, 0) for counts in frame["finding_counts"]]
    return {
        "risk_level": "risk level",
        "processor_transaction_count": "processor records",
        "internal_transaction_count": "ledger entries",
        "matched_count": "matched",
        **{kind.name: kind.label.lower() for kind in finding_types()},
        "total_discrepancy_amount": "amount at risk",
        "total_volume_processed": "volume",
    }


def day_table(day: date, processors: Sequence[str] | None = None) -> str | None:
    """The day's reconciliation summary, a column per processor, under a line naming the day and followed by
    where its report files are; None before the day was reconciled."""
    import pandas as pd

    from recon_assets.warehouse import runs
    from recon_assets.warehouse.database import connect, prepared_url

    with connect(prepared_url()) as conn:
        rows = [r for r in runs.fetch_runs(conn, day, day) if processors is None or r["processor_name"] in processors]
    if not rows:
        return None
    frame = pd.DataFrame(rows).set_index("processor_name")
    currency = rows[0]["reporting_currency"].strip()
    labels = summary_rows(frame)
    table = frame[list(labels)].rename(columns=labels).T
    table.columns.name = None
    table.index = [f"{label} ({currency})" if label in ("amount at risk", "volume") else label for label in table.index]
    files = sorted({uri for row in rows for uri in row["report_uris"].values()})
    return "\n".join([f"recon: the reconciliation of {day}, amounts in {currency}", table.to_string(),
                      *(["recon: its files:", *(f"  {uri}" for uri in files)] if files else [])])  # fmt: skip


@contextlib.contextmanager
def ctrl_c_reaches_recon_only() -> Iterator[threading.Event]:
    """Ctrl-C signals the terminal's whole process group: the helper processes Dagster starts to capture each
    step's output would each die printing a traceback. SIGINT is blocked while the day runs (processes
    started meanwhile inherit the block) and a thread of recon's waits for it, then interrupts recon's main
    thread as the signal would have: one process stops, and says so in one line.

    The threads libraries started on import (Arrow's, Polars' allocators) do not block it, and the kernel may
    hand the signal to one of them: Python's handler then runs in the main thread, where Dagster may hold it
    and forget it between two steps. So the thread also reads Python's signal wake-up pipe, which every signal
    Python catches is written to. It yields an event set once Ctrl-C was pressed, whichever way it came."""
    pressed, done = threading.Event(), threading.Event()
    if threading.current_thread() is not threading.main_thread() or not hasattr(signal, "pthread_sigmask"):
        yield pressed
        return
    wakeup_read, wakeup_write = os.pipe()
    os.set_blocking(wakeup_read, False)
    os.set_blocking(wakeup_write, False)

    def relay() -> None:
        while not done.is_set():
            if signal.sigtimedwait({signal.SIGINT}, 0.2) is not None:  # handed to this thread
                pressed.set()
                _thread.interrupt_main(signal.SIGINT)
            with contextlib.suppress(BlockingIOError):
                if signal.SIGINT in os.read(wakeup_read, 512):  # caught by Python on another thread
                    pressed.set()

    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    previous = signal.set_wakeup_fd(wakeup_write)
    watcher = threading.Thread(target=relay, name="ctrl-c", daemon=True)  # it inherits the block: sigwait needs it
    watcher.start()
    try:
        yield pressed
    finally:
        done.set()
        watcher.join()
        signal.set_wakeup_fd(previous)
        os.close(wakeup_read)
        os.close(wakeup_write)
        signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def cmd_run(args: argparse.Namespace) -> int:
    """Exit 0: the day ran and no ERROR check failed; 1: it ran, and ERROR checks failed (named); 3: a run
    failed, the day is incomplete. (2: refused before running; 130: interrupted; see ``main``.)"""
    with ctrl_c_reaches_recon_only() as ctrl_c:
        outcome = run_day(args.date, args.processors, verbose=args.verbose, ctrl_c=ctrl_c)
    table = day_table(args.date, args.processors)
    if table:
        print(table)
    if not outcome.complete:
        print(f"recon: {args.date} is incomplete: a run failed (exit {INCOMPLETE})", file=sys.stderr)
        return INCOMPLETE
    if outcome.failed_checks:
        checks = ", ".join(dict.fromkeys(outcome.failed_checks))
        print(f"recon: {args.date} has ERROR findings: {checks} (exit {ERROR_FINDINGS})", file=sys.stderr)
        return ERROR_FINDINGS
    return 0


def cmd_report(args: argparse.Namespace) -> int:
    table = day_table(args.date)
    if table is None:
        print(f"recon: no reconciliation for {args.date} yet (recon run --date {args.date})", file=sys.stderr)
        return 1
    print(table)
    return 0
