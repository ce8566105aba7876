"""The worst days, as processes: a landing that fails while its workers stream pages, two runs of one day
at once, and a run killed in the middle. The process always ends, the partition that was there before is
intact, nothing fails half-way, and a dead run does not hold its pool slot."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, datetime, timedelta

import dagster as dg
import psycopg
import pytest
import yaml

from recon_assets.domain.findings import Side, names
from recon_assets.instance.run_launcher import LocalRunLauncher
from recon_assets.processors.registry import PROCESSORS, SOURCES
from recon_assets.sandbox.server import SandboxServer
from recon_assets.sandbox.world import SandboxConfig, expected_findings
from recon_assets_tests.live import SANDBOX_FEE_SCHEDULE, deliver_statements, live_env
from recon_assets_tests.misbehaving import MisbehavingProxy
from recon_assets_tests.test_cli_run import ROOT

pytestmark = pytest.mark.e2e  # real processes: run once in CI, against the embedded server

DAY = date(2026, 11, 20)
BIG = SandboxConfig(daily_volume=2000)  # dozens of pages per day: the workers are busy when a write fails


def recon_process(env, *argv) -> subprocess.Popen:
    return subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "recon_assets.cli", *argv], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True, start_new_session=True,
    )  # fmt: skip


def finish(process: subprocess.Popen, timeout: float) -> tuple[int, str, str]:
    """The exit code and output; a process that does not end in time is killed and fails the test."""
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        out, err = process.communicate()
        pytest.fail(f"the process did not end within {timeout:.0f} s:\n{out[-3000:]}\n{err[-3000:]}")
    return process.returncode, out, err


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "home"
    path.mkdir()
    return path


def base_env(warehouse_url, home, tmp_path, volume: int) -> dict[str, str]:
    unset = {spec.key_variable for spec in SOURCES.values()} | {"RECON_FX_RATES_JSON", "REPORTS_BUCKET"}
    return {
        **{k: v for k, v in os.environ.items() if k not in unset},
        "DAGSTER_HOME": str(home),
        "RECON_DATABASE_URL": warehouse_url.libpq,
        "RECON_REPORTS_DIR": str(tmp_path / "reports"),
        "RECON_SANDBOX_DAILY_VOLUME": str(volume),
    }


def stripe_through(env, url, sandbox, config, tmp_path) -> dict[str, str]:
    """Live mode: Stripe read from ``url`` (a proxy in front of ``sandbox``), the ledger from the sandbox, the
    sandbox bank's statement files from a folder."""
    bank = deliver_statements(tmp_path / "bank", config, DAY, after=1)
    return live_env(env, sandbox.url, bank, SANDBOX_FEE_SCHEDULE, stripe=url)


def stripe_partition(url, day):
    with psycopg.connect(url.libpq) as conn:
        return conn.execute(
            """SELECT count(*), coalesce(sum(amount_minor), 0), coalesce(max(dagster_run_id), '')
               FROM processor_transactions WHERE processor_name = 'stripe' AND business_date = %s""",
            (day,),
        ).fetchone()


def test_a_write_that_fails_mid_landing_stops_every_worker_and_the_process_exits(warehouse_url, home, tmp_path):
    """Stripe sends a record of the day before again, moved into the next day: the warehouse refuses it
    while pages are still streaming in. Every fetch worker stops, the process ends with one line, and
    the partitions landed before are untouched."""
    env = base_env(warehouse_url, home, tmp_path, BIG.daily_volume)
    moved = {}
    next_day = datetime.combine(DAY + timedelta(days=1), datetime.min.time()).timestamp()

    def move_across_midnight(exchange, n):
        data = exchange.body.get("data") if isinstance(exchange.body, dict) else None
        if not data:
            return
        if "charge" not in moved and int(exchange.params["created[gte]"]) < next_day:
            moved["charge"] = dict(data[0])  # a charge of the day, as landed
        elif "charge" in moved and int(exchange.params["created[gte]"]) == next_day:
            data.insert(0, {**moved["charge"], "created": int(next_day) + 60})

    with SandboxServer(BIG) as sandbox, MisbehavingProxy(sandbox.url) as proxy:
        env = stripe_through(env, proxy.url, sandbox, BIG, tmp_path)
        code, out, err = finish(recon_process(env, "run", "--date", DAY.isoformat(), "--processors", "stripe"), 600)
        assert code == 1 and "has ERROR findings" in err and "incomplete" not in err, out + err  # ran whole
        before = {day: stripe_partition(warehouse_url, day) for day in (DAY, DAY + timedelta(days=1))}
        proxy.rules["/v1/charges"] = move_across_midnight
        started = time.monotonic()
        code, out, err = finish(recon_process(env, "run", "--date", (DAY + timedelta(days=1)).isoformat(),
                                              "--processors", "stripe"), 300)  # fmt: skip
    assert code == 3 and "Traceback" not in err, out + err  # a run failed: the day is incomplete
    assert err.endswith(f"recon: {DAY + timedelta(days=1)} is incomplete: a run failed (exit 3)\n"), err
    assert time.monotonic() - started < 300
    failed = [line for line in out.splitlines() if line.startswith("  FAILED   stripe/raw_transactions")]
    assert failed and all("already landed for another day" in line and moved["charge"]["id"] in line
                          for line in failed), out  # fmt: skip
    after = {day: stripe_partition(warehouse_url, day) for day in before}
    assert after[DAY][:2] == before[DAY][:2]  # landed again as the neighbour: the same rows
    assert after[DAY + timedelta(days=1)] == before[DAY + timedelta(days=1)]  # the failed day: as it was


def test_two_runs_of_one_day_started_together_both_complete(fresh_database, home, tmp_path, sandbox_config):
    """In a fresh warehouse and instance (pools, tables and all created by whichever comes first), two
    ``recon run`` of one day at once: the second waits for the first where they meet, and both succeed."""
    from recon_assets.warehouse.database import upgrade  # noqa: F401 - the warehouse is left fresh on purpose

    env = base_env(fresh_database, home, tmp_path, sandbox_config.daily_volume)
    runs = [recon_process(env, "run", "--date", DAY.isoformat()) for _ in range(2)]
    results = [finish(run, 600) for run in runs]
    for code, out, err in results:  # both ran the whole day (the sandbox plants cash findings: exit 1)
        assert code == 1 and "Traceback" not in err and "incomplete" not in err, out + err
    with psycopg.connect(fresh_database.libpq) as conn:
        for processor in PROCESSORS:
            found = set(conn.execute(
                """SELECT discrepancy_type, coalesce(processor_txn_id, ''), coalesce(ledger_id, '')
                   FROM discrepancies WHERE processor_name = %s AND business_date = %s AND resolved_on IS NULL
                     AND discrepancy_type = ANY(%s)""",
                (processor, DAY, list(names(Side.TRANSACTION))),
            ).fetchall())  # fmt: skip
            truth = {(t, txn or "", lid or "") for t, txn, lid in expected_findings(sandbox_config, processor, DAY)}
            assert found == truth, processor
        (summaries,) = conn.execute("SELECT count(*) FROM reconciliation_runs WHERE run_date = %s", (DAY,)).fetchone()
        (slots,) = conn.execute("SELECT count(*) FROM concurrency_slots WHERE NOT deleted").fetchone()
        pools = dict(conn.execute('SELECT concurrency_key, "limit" FROM concurrency_limits').fetchall())
    assert summaries == len(PROCESSORS)
    assert pools == {spec.pool: 1 for spec in SOURCES.values()} and slots == len(SOURCES)


def test_a_killed_run_is_marked_failed_and_its_pool_slot_freed(warehouse_url, home, tmp_path, monkeypatch):
    """``recon run`` killed with -9 while Stripe's landing holds the stripe_api slot: run monitoring finds the
    run's process gone, fails the run, and the slot is freed for the next run."""
    config = yaml.safe_load((ROOT / "dagster.yaml").read_text())
    config["run_monitoring"]["free_slots_after_run_end_seconds"] = 1  # the repository's file, minus the wait
    (home / "dagster.yaml").write_text(yaml.safe_dump(config))
    env = base_env(warehouse_url, home, tmp_path, 300)

    def slow(exchange, n):
        time.sleep(0.3)  # a slow API: the landing is still running when the run is killed

    world = SandboxConfig(daily_volume=300)
    with SandboxServer(world) as sandbox, MisbehavingProxy(sandbox.url) as proxy:
        proxy.rules["/v1/"] = slow
        env = stripe_through(env, proxy.url, sandbox, world, tmp_path)
        process = recon_process(env, "run", "--date", DAY.isoformat(), "--processors", "stripe")
        monkeypatch.setenv("RECON_DATABASE_URL", warehouse_url.libpq)
        with dg.DagsterInstance.from_config(str(home)) as instance:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                claimed = instance.event_log_storage.get_concurrency_info("stripe_api").claimed_slots
                if claimed:
                    break
                time.sleep(0.2)
            assert claimed, "Stripe's landing never started"
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=30)
            (run_id,) = {slot.run_id for slot in claimed}
            run = instance.get_run_by_id(run_id)
            assert run.status == dg.DagsterRunStatus.STARTED  # nobody told Dagster

            assert isinstance(instance.run_launcher, LocalRunLauncher)
            health = instance.run_launcher.check_run_worker_health(run)
            assert health.status.value == "FAILED" and "is gone" in health.msg
            # what the daemon's run monitoring does with it, then its slot sweep
            from dagster._daemon.monitoring.concurrency import execute_concurrency_slots_iteration
            from dagster._daemon.monitoring.run_monitoring import monitor_started_run

            logger = dg.get_dagster_logger("test")
            monitor_started_run(instance, None, instance.get_run_record_by_id(run_id), logger)
            assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
            time.sleep(2)

            class Workspace:  # the slot sweep reads only the instance from its workspace context
                pass

            workspace = Workspace()
            workspace.instance = instance
            list(execute_concurrency_slots_iteration(workspace, logger))
            assert instance.event_log_storage.get_concurrency_info("stripe_api").claimed_slots == []


def test_ctrl_c_during_landing_judges_nothing_and_a_re_run_completes_the_day(warehouse_url, home, tmp_path):
    """Ctrl-C while Stripe's day lands: one line, exit 130, and nothing judged from partial data (no run
    summary, no finding, no daily summary, no alert); the next run of the day starts clean and completes."""
    env = base_env(warehouse_url, home, tmp_path, 300)
    world = SandboxConfig(daily_volume=300)
    landing = threading.Event()

    def slow(exchange, n):
        landing.set()
        time.sleep(0.3)  # a slow API: the landing is still running when the user presses Ctrl-C

    def judged():
        with psycopg.connect(warehouse_url.libpq) as conn:
            return [conn.execute(query, (DAY,)).fetchone()[0] for query in (
                "SELECT count(*) FROM reconciliation_runs WHERE run_date = %s",
                "SELECT count(*) FROM discrepancies WHERE business_date = %s",
                "SELECT count(*) FROM audit_logs WHERE action LIKE 'alert_%%' AND %s IS NOT NULL",
            )]  # fmt: skip

    with SandboxServer(world) as sandbox, MisbehavingProxy(sandbox.url) as proxy:
        env = stripe_through(env, proxy.url, sandbox, world, tmp_path)
        proxy.rules["/v1/charges"] = slow
        process = recon_process(env, "run", "--date", DAY.isoformat(), "--processors", "stripe")
        assert landing.wait(180), "Stripe's landing never started"
        time.sleep(1)
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in a terminal sends: the whole foreground group
        code, out, err = finish(process, 120)
        assert code == 130 and err.splitlines()[-1] == "recon: interrupted", out + err
        assert "Traceback" not in err and "succeeded" not in out.split("FAILED")[-1], out + err
        assert judged() == [0, 0, 0]
        assert not list((tmp_path / "reports").rglob("daily_summary.*"))

        del proxy.rules["/v1/charges"]
        code, out, err = finish(recon_process(env, "run", "--date", DAY.isoformat(), "--processors", "stripe"), 600)
    assert code == 0 and err == "", out + err  # it ran whole: Stripe's day has findings, none at ERROR
    runs, findings, _ = judged()
    assert runs == 1 and findings > 0
    assert list((tmp_path / "reports").rglob("daily_summary.md"))
