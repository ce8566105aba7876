"""One business day through the real path, timed stage by stage; prints a line per stage and the total.

python benchmarks/day.py --transactions 1000000 [--processors stripe paypal square] [--database-url URL]
                         [--dispute-rate 0.005] [--history-days 30 [--baseline-days 1]]

The sandbox serves the day from its own process over loopback (no latency); the day's assets are then
materialised in this process as Dagster materialises them, one stage after the other, into a fresh
warehouse database: each processor's records and the ledger's entries landed, a payout of the day's payments
written as the payout landing writes one (an item per payment), the records read back, matched, the findings
written, the cash position (which reads the payments' payout items), the summary and the reports.
Generating the sandbox's day is reported, not counted. Each stage's line ends with the CPU seconds this
process, the sandbox and the warehouse server (when it runs on this machine) used in it: on two cores, which
of them the stage waits for. The last line:

warehouse: the day wrote <MB> MB of WAL and grew the database by <MB> MB (<MB> MB in all)
day: <records per second> records/s end to end (<seconds> s for <N> processor + <M> ledger records; peak RSS <MB> MB)

With ``--baseline-days``, the same day runs twice, each on a fresh warehouse: first one holding only that many
earlier days, then one holding ``--history-days``; the last line compares them. Before each day the server is
let settle (a checkpoint, autovacuum's workers done), so neither day pays for the loading of its history:

history: <ratio>x the baseline (<s> s vs <s> s), <N> days landed, peak RSS <MB> MB
"""

from __future__ import annotations

import argparse
import contextlib
import os
import resource
import socket
import string
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from functools import partial

import dagster as dg
import psutil
import psycopg
import requests
from dagster_aws.s3 import S3Resource

from recon_assets import asset_keys
from recon_assets.definitions import build_definitions
from recon_assets.defs.ingestion.resources import SourceApiResource
from recon_assets.defs.reporting.resources import ReportStore
from recon_assets.domain.settlement import Payout, PayoutItem
from recon_assets.processors.registry import SOURCES
from recon_assets.sandbox.world import SandboxConfig
from recon_assets.warehouse import settlement
from recon_assets.warehouse.database import upgrade
from recon_assets.warehouse.embedded import ensure_embedded_server
from recon_assets.warehouse.resource import WarehouseResource
from recon_assets.warehouse.urls import DatabaseUrl

DAY = date(2026, 1, 2)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class CpuMeter:
    """CPU seconds used so far by this process, the sandbox's and the warehouse server's (all its backends,
    live and exited), the server only when it runs on this machine: which of the three a stage waits for."""

    def __init__(self, sandbox: subprocess.Popen, warehouse: DatabaseUrl):
        self.processes = {"client": psutil.Process(), "sandbox": psutil.Process(sandbox.pid)}
        with psycopg.connect(warehouse.libpq) as conn:  # the backend serving it is a child of the server
            (pid,) = conn.execute("SELECT pg_backend_pid()").fetchone()
            backend = psutil.Process(pid) if psutil.pid_exists(pid) else None
            if backend is not None and "postgres" in backend.name():
                self.processes["warehouse"] = backend.parent()

    def read(self) -> dict[str, float]:
        used = {name: _cpu_seconds(process) for name, process in self.processes.items()}
        if server := self.processes.get("warehouse"):
            used["warehouse"] += sum(_cpu_seconds(backend) for backend in server.children(recursive=True))
        return used


def _cpu_seconds(process: psutil.Process) -> float:
    """User and system time of the process and of its children that have exited (0 once it is gone)."""
    try:
        times = process.cpu_times()
    except psutil.NoSuchProcess:
        return 0.0
    return times.user + times.system + times.children_user + times.children_system


@contextlib.contextmanager
def sandbox_process(config: SandboxConfig) -> Iterator[tuple[str, subprocess.Popen]]:
    """``recon sandbox serve`` in its own process, its day generated before it answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    command = [sys.executable, "-m", "recon_assets.cli", "sandbox", "serve", "--port", str(port),
               "--daily-volume", str(config.daily_volume), "--processors", *config.processors,
               "--dispute-rate", str(config.dispute_rate), "--warm", DAY.isoformat()]  # fmt: skip
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL)  # noqa: S603
    url = f"http://127.0.0.1:{port}"
    try:
        while True:
            with contextlib.suppress(requests.ConnectionError):
                requests.get(f"{url}/_sandbox/truth", timeout=600)  # 400 without parameters: it is up and warm
                break
            if process.poll() is not None:
                raise RuntimeError("the sandbox did not start")
            time.sleep(0.2)
        yield url, process
    finally:
        process.terminate()
        process.wait(timeout=30)


@contextlib.contextmanager
def fresh_warehouse(server: str | None, keep: bool) -> Iterator[DatabaseUrl]:
    base = DatabaseUrl.parse(server) if server else ensure_embedded_server(None)
    name = f"recon_bench_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(base.libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    url = base.with_database(name)
    upgrade(url)
    try:
        yield url
    finally:
        if keep:
            print(f"warehouse kept: {url.redacted}")
        else:
            with psycopg.connect(base.libpq, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


# Earlier days as the warehouse would hold them after a backfill: each processor's records with ids shaped like
# the sandbox's Stripe ids (random, so the day's own land among them, as a real day's do), the ledger's
# entries booking them, with its day-prefixed ids, and the payout items settling them, a payout a day; each in
# key order, as a bulk load writes them.
HISTORY_ID = "'ch_' || substr(%(b62)s, 1 + i %% 62, 1) || left(md5(d || '/' || i), 23)"
HISTORY = {
    "processor_transactions": f"""
        INSERT INTO processor_transactions (business_date, processor_name, processor_txn_id, kind, amount_minor,
            currency, status, occurred_at, page_no, page_index, dagster_run_id)
        SELECT %(day)s::date - d, %(processor)s, {HISTORY_ID}, 'charge', 100 + i %% 100000, 'USD', 'succeeded',
            (%(day)s::date - d) + make_interval(secs => i %% 86400), i / 100, i %% 100, 'history'
        FROM generate_series(1, %(days)s) AS d, generate_series(1, %(records)s) AS i ORDER BY 3""",
    "ledger_transactions": f"""
        INSERT INTO ledger_transactions (ledger_id, business_date, processor_name, processor_reference, kind,
            amount_minor, currency, status, booked_at, page_no, page_index, dagster_run_id)
        SELECT 'led_' || left(%(processor)s, 2) || to_char(%(day)s::date - d, 'YYYYMMDD') || lpad(i::text, 7, '0'),
            %(day)s::date - d, %(processor)s, {HISTORY_ID}, 'charge', 100 + i %% 100000, 'USD', 'succeeded',
            (%(day)s::date - d) + make_interval(secs => i %% 86400), i / 1000, i %% 1000, 'history'
        FROM generate_series(1, %(days)s) AS d, generate_series(1, %(records)s) AS i ORDER BY 1""",
    "payout_items": f"""
        INSERT INTO payout_items (processor_name, payout_id, item_id, arrival_date, processor_txn_id, kind,
            gross_minor, fee_minor, net_minor, currency, occurred_at, dagster_run_id)
        SELECT %(processor)s, 'po_' || to_char(%(day)s::date - d, 'YYYYMMDD'), 'txn_' || left(md5(d || '#' || i), 24),
            %(day)s::date - d, {HISTORY_ID}, 'charge', 100 + i %% 100000, 30 + i %% 7, 70 + i %% 100000 - i %% 7, 'USD',
            (%(day)s::date - d) + make_interval(secs => i %% 86400), 'history'
        FROM generate_series(1, %(days)s) AS d, generate_series(1, %(records)s) AS i ORDER BY 2, 3""",
}


def load_history(url: DatabaseUrl, processors: list[str], days: int, records: int) -> None:
    """``days`` days before the benchmark's of ``records`` records a processor, in both landing tables and the
    payout items (one connection each, at once), then vacuumed and analysed as an older warehouse would be."""

    shape = {"day": DAY, "days": days, "records": records, "b62": string.digits + string.ascii_letters}

    def load(table: str) -> None:
        with psycopg.connect(url.libpq, autocommit=True) as conn:
            for processor in processors:
                conn.execute(HISTORY[table], {**shape, "processor": processor})
            conn.execute(f"VACUUM ANALYZE {table}")

    with psycopg.connect(url.libpq, autocommit=True) as conn:  # the days' partitions, as their landings make them
        conn.execute("SELECT recon_day_partitions(%(day)s::date - d) FROM generate_series(1, %(days)s) AS d", shape)
    with ThreadPoolExecutor(max_workers=len(HISTORY)) as loaders:
        list(loaders.map(load, HISTORY))


def settle(url: DatabaseUrl, patience: float = 900.0) -> str:
    """Let the server finish what loading left it (a checkpoint of the written pages, autovacuum's workers) so the
    day is not measured against that work; says how long it took."""
    started = time.perf_counter()
    with psycopg.connect(url.libpq, autocommit=True) as conn:
        conn.execute("CHECKPOINT")
        busy = "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'autovacuum worker'"
        while conn.execute(busy).fetchone()[0] and time.perf_counter() - started < patience:
            time.sleep(1)
        conn.execute("CHECKPOINT")
    return f"settled: checkpoint and autovacuum done in {time.perf_counter() - started:.1f} s"


def machine_reference() -> str:
    """A fixed piece of pure Python work, timed: figures from two machines compare through it."""
    started = time.perf_counter()
    total = 0
    for step in range(10_000_000):
        total += step
    return f"machine: {os.cpu_count()} cores; a 10M-step Python loop takes {time.perf_counter() - started:.2f} s"


def warehouse_written(warehouse: DatabaseUrl) -> tuple[int, int]:
    """The server's WAL position and the database's size, in bytes: their growth over a day is what it wrote."""
    with psycopg.connect(warehouse.libpq) as conn:
        (wal, size) = conn.execute(
            "SELECT pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0')::bigint, pg_database_size(current_database())"
        ).fetchone()
    return int(wal), int(size)


def pay_out(warehouse: DatabaseUrl, processor: str) -> tuple[float, int, dict]:
    """The day's payout of the processor's landed payments (one payout, an item per payment), written as its
    payout landing writes one; timed, the items made beforehand (the landing's fetch is the sandbox's)."""
    with psycopg.connect(warehouse.libpq) as conn:
        payments = conn.execute(
            """SELECT processor_txn_id, kind, amount_minor, occurred_at FROM processor_transactions
               WHERE processor_name = %s AND business_date = %s AND status IN ('succeeded', 'refunded')""",
            (processor, DAY),
        ).fetchall()
        payout_id = f"po_{DAY:%Y%m%d}"
        items = [PayoutItem(payout_id, txn, amount - amount // 30, kind, amount, amount // 30, f"txn_{n}", at)
                 for n, (txn, kind, amount, at) in enumerate(payments)]  # fmt: skip
        payout = Payout(processor, payout_id, sum(i.net_minor for i in items), "USD", DAY, True, itemised=True)
        began = time.perf_counter()
        settlement.replace_payouts(conn, processor, DAY, [payout], items, "benchmark")
        seconds = time.perf_counter() - began
    return seconds, len(items), {}


def run_day(sandbox_url: str, sandbox: subprocess.Popen, warehouse: DatabaseUrl, processors: list[str]) -> float:
    """The day's stages, one after the other, a line each and the day's line; returns the day's seconds."""
    definitions = build_definitions()
    all_assets = [a for a in definitions.assets if isinstance(a, dg.AssetsDefinition)]
    with tempfile.TemporaryDirectory() as reports:
        resources = {
            **definitions.resources,
            **{spec.resource_key: SourceApiResource(source=spec.name, base_url=sandbox_url)
               for spec in SOURCES.values()},
            "warehouse": WarehouseResource(database_url=warehouse.libpq),
            "report_store": ReportStore(s3=S3Resource(), local_dir=reports),
        }  # fmt: skip
        total, counts = 0.0, {}
        written_before = warehouse_written(warehouse)
        meter = CpuMeter(sandbox, warehouse)
        cpu_before = meter.read()
        with dg.instance_for_test() as instance:

            def materialise(*keys: dg.AssetKey) -> Callable[[], tuple[float, int, dict]]:
                def stage() -> tuple[float, int, dict]:
                    began = time.perf_counter()
                    result = dg.materialize(all_assets, partition_key=DAY.isoformat(), selection=list(keys),
                                            resources=resources, instance=instance)  # fmt: skip
                    seconds = time.perf_counter() - began
                    metadata = [e.materialization.metadata for e in result.get_asset_materialization_events()]
                    rows = sum(int(m["row_count"].value) for m in metadata if "row_count" in m)
                    parts = {k: v.value for m in metadata for k, v in m.items() if k.startswith("seconds_")}
                    return seconds, rows, parts

                return stage

            stages = [(f"land {p}", materialise(asset_keys.raw_transactions(p))) for p in processors]
            stages += [("land ledger", materialise(asset_keys.LEDGER_TRANSACTIONS))]
            stages += [(f"pay out {p}", partial(pay_out, warehouse, p)) for p in processors]
            stages += [(f"reconcile {p}", materialise(asset_keys.discrepancies(p))) for p in processors]
            stages += [("cash position", materialise(asset_keys.CASH_POSITION))]
            stages += [("summarise", materialise(*(asset_keys.reconciliation_summary(p) for p in processors)))]
            stages += [("report", materialise(*(asset_keys.reconciliation_report(p) for p in processors)))]
            for name, stage in stages:
                seconds, rows, parts = stage()
                total += seconds
                cpu_after = meter.read()
                cpu = ", ".join(f"{k} {cpu_after[k] - cpu_before[k]:.1f}" for k in cpu_after)
                cpu_before = cpu_after
                counts[name] = rows
                detail = ", ".join(f"{k.removeprefix('seconds_')} {v:.1f} s" for k, v in parts.items())
                rate = f"{rows / seconds:,.0f} records/s" if rows else "-"
                print(f"{name:>18}: {seconds:6.1f} s  {rate:>20}  peak RSS {peak_rss_mb():,.0f} MB"
                      + (f"  ({detail})" if detail else "") + f"  [cpu s: {cpu}]")  # fmt: skip
    wal, size = warehouse_written(warehouse)
    print(f"warehouse: the day wrote {(wal - written_before[0]) / 2**20:,.0f} MB of WAL and grew the database by "
          f"{(size - written_before[1]) / 2**20:,.0f} MB ({size / 2**20:,.0f} MB in all)")  # fmt: skip
    processor_rows = sum(counts[f"land {p}"] for p in processors)
    ledger_rows = counts["land ledger"]
    rate = (processor_rows + ledger_rows) / total
    print(
        f"day: {rate:,.0f} records/s end to end ({total:.1f} s for {processor_rows} processor + "
        f"{ledger_rows} ledger records; peak RSS {peak_rss_mb():,.0f} MB)"
    )
    return total


def day_on(args, history_days: int, per_processor: int, url: str, sandbox: subprocess.Popen) -> float:
    """The day on a fresh warehouse holding ``history_days`` earlier days; returns its seconds."""
    with fresh_warehouse(args.database_url, args.keep) as warehouse:
        if history_days:
            started = time.perf_counter()
            load_history(warehouse, args.processors, history_days, per_processor)
            print(f"history: {history_days} earlier days of {per_processor:,} records a processor and as many "
                  f"ledger entries loaded in {time.perf_counter() - started:.1f} s")  # fmt: skip
        print(settle(warehouse))
        return run_day(url, sandbox, warehouse, args.processors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--transactions", type=int, default=1_000_000, help="processor records of the day")
    parser.add_argument("--processors", nargs="+", default=["stripe"], choices=[s for s in SOURCES if s != "ledger"])
    parser.add_argument("--database-url", help="a PostgreSQL server to create the warehouse on (default: embedded)")
    parser.add_argument("--keep", action="store_true", help="keep the warehouse database (to profile a stage)")
    parser.add_argument("--dispute-rate", type=float, default=0.0,
                        help="share of the day's charges disputed (lost, withdrawn with a fee, booked)")  # fmt: skip
    parser.add_argument("--history-days", type=int, default=0,
                        help="days of earlier records (as many a day) landed before the day is run")  # fmt: skip
    parser.add_argument("--baseline-days", type=int,
                        help="first run the same day on a warehouse holding only this many earlier days, and end "
                             "with the history run's time against it")  # fmt: skip
    args = parser.parse_args()

    print(machine_reference())
    base = SandboxConfig()
    per_processor = args.transactions // len(args.processors)
    config = SandboxConfig(
        daily_volume=round(per_processor / (1 + base.refund_rate)),
        processors=tuple(args.processors),
        dispute_rate=args.dispute_rate,
    )
    started = time.perf_counter()
    with sandbox_process(config) as (url, sandbox):
        print(f"sandbox: the day generated and served from its own process in {time.perf_counter() - started:.1f} s")
        baseline = None
        if args.baseline_days is not None:
            print(f"baseline: {args.baseline_days} earlier day(s)")
            baseline = day_on(args, args.baseline_days, per_processor, url, sandbox)
            print(f"with history: {args.history_days} earlier days")
        seconds = day_on(args, args.history_days, per_processor, url, sandbox)
    if baseline is not None:
        print(
            f"history: {seconds / baseline:.2f}x the baseline ({seconds:.1f} s vs {baseline:.1f} s), "
            f"{args.history_days} days landed, peak RSS {peak_rss_mb():,.0f} MB"
        )


if __name__ == "__main__":
    main()
