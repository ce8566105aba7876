"""``recon run`` and ``recon report`` as an operator runs them, and Dagster's own commands as a Dagster user
types them in the project's root with nothing set."""

import os
import re
import shutil
import subprocess
import sys
from datetime import date
from pathlib import Path
from urllib.parse import urlparse

import psycopg
import pytest

from recon_assets.domain.findings import Side, names
from recon_assets.processors.registry import PROCESSORS, SOURCES
from recon_assets.sandbox.settlement import expected_settlement
from recon_assets.sandbox.world import SandboxConfig, expected_findings
from recon_assets.warehouse.database import MIGRATIONS
from recon_assets.warehouse.embedded import stop_embedded_server
from recon_assets_tests.live import SANDBOX_FEE_SCHEDULE, deliver_statements, live_env

pytestmark = pytest.mark.e2e  # real processes: run once in CI, against the embedded server

ROOT = Path(__file__).resolve().parents[1]
DAY = date(2026, 11, 20)


def recon(env, *argv, cwd=None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "recon_assets.cli", *argv]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600, cwd=cwd)  # noqa: S603


@pytest.fixture
def local_env(warehouse_url, tmp_path):
    """The test warehouse, an instance home and a reports folder of its own; sources on the sandbox."""
    unset = {spec.key_variable for spec in SOURCES.values()} | {"RECON_FX_RATES_JSON", "REPORTS_BUCKET"}
    return {
        **{k: v for k, v in os.environ.items() if k not in unset},
        "DAGSTER_HOME": str(tmp_path / "home"),
        "RECON_DATABASE_URL": warehouse_url.libpq,
        "RECON_REPORTS_DIR": str(tmp_path / "reports"),
        "RECON_SANDBOX_DAILY_VOLUME": "60",
    }


CASH_FINDINGS = f"recon: {DAY} has ERROR findings: cash_tie_out on settlement/payout_matches (exit 1)\n"
MEDIUM_DAY = {"RECON_SANDBOX_DAILY_VOLUME": "600"}  # enough planted missing entries (5+) for a MEDIUM day


@pytest.fixture
def real_mode_env(local_env, sandbox, sandbox_config, tmp_path):
    """Live mode: every credential and base URL set, the clients run exactly as against the real APIs; the
    bank's statement files delivered into a folder, as a real bank's would be."""
    bank = deliver_statements(tmp_path / "bank", sandbox_config, DAY)
    return live_env(local_env, sandbox.url, bank, SANDBOX_FEE_SCHEDULE)


def open_findings(url, processor: str, day: date) -> set[tuple[str, str, str]]:
    with psycopg.connect(url.libpq) as conn:
        rows = conn.execute(
            """SELECT discrepancy_type, coalesce(processor_txn_id, ''), coalesce(ledger_id, '')
               FROM discrepancies WHERE processor_name = %s AND business_date = %s AND resolved_on IS NULL
                 AND discrepancy_type = ANY(%s)""",
            (processor, day, list(names(Side.TRANSACTION))),
        ).fetchall()
    return {(t, "" if t == "missing_at_processor" else txn, lid) for t, txn, lid in rows}


def settlement_findings(url, day: date) -> set[tuple]:
    with psycopg.connect(url.libpq) as conn:
        return set(conn.execute(
            """SELECT discrepancy_type, processor_name, payout_id, bank_reference, processor_txn_id FROM discrepancies
               WHERE business_date = %s AND resolved_on IS NULL AND discrepancy_type = ANY(%s)""",
            (day, list(names(Side.SETTLEMENT))),
        ).fetchall())  # fmt: skip


# Stripe settles EUR and GBP in USD, and its other currencies, PayPal's and Square's in themselves: both ways
# in one run (the in-process ground truth tests each account on its own)
@pytest.mark.parametrize("sandbox_config", [SandboxConfig(daily_volume=120, stripe_converts=("EUR", "GBP"))])
def test_recon_run_against_configured_servers_finds_exactly_the_truth(
    real_mode_env, sandbox, sandbox_config, warehouse_url, tmp_path
):
    result = recon(real_mode_env, "run", "--date", DAY.isoformat())
    # the sandbox plants payouts that never reach the bank: the day ran, and has ERROR findings (exit 1)
    assert result.returncode == 1, result.stdout + result.stderr
    assert result.stderr == CASH_FINDINGS
    assert "FAILED" not in result.stdout and f"recon: {DAY}: succeeded (run " in result.stdout
    for processor in PROCESSORS:
        truth = {(t, "" if t == "missing_at_processor" else txn or "", lid or "")
                 for t, txn, lid in expected_findings(sandbox_config, processor, DAY)}  # fmt: skip
        assert open_findings(warehouse_url, processor, DAY) == truth, processor
    # the cash side: the day's payouts against the bank, their items, the ledger and the fee schedule
    assert settlement_findings(warehouse_url, DAY) == expected_settlement(sandbox_config, DAY)
    with psycopg.connect(warehouse_url.libpq) as conn:
        sandboxed = conn.execute("SELECT count(*) FROM audit_logs WHERE details->>'sandbox' = 'true'").fetchone()
    assert sandboxed == (0,)
    report = recon(real_mode_env, "report", "--date", DAY.isoformat())
    assert report.returncode == 0 and "risk level" in report.stdout and "missing in ledger" in report.stdout


def test_recon_run_leaves_the_day_complete_and_links_only_written_files(local_env, warehouse_url, tmp_path):
    """Landing, reconciliation, every report, and the alerts: quiet output, a line per step, a result table."""
    result = recon({**local_env, **MEDIUM_DAY}, "run", "--date", DAY.isoformat())
    assert result.returncode == 1, result.stdout + result.stderr  # it ran; a 600-payment day is HIGH, and cash
    assert result.stderr == (
        f"recon: {DAY} has ERROR findings: cash_tie_out on settlement/payout_matches, "
        "risk_threshold on paypal/reconciliation_summary, risk_threshold on "
        "square/reconciliation_summary, risk_threshold on stripe/reconciliation_summary (exit 1)\n"
    )
    out = result.stdout
    assert "DEBUG" not in out and "Traceback" not in result.stderr
    for processor in PROCESSORS:
        assert f"done     {processor}/raw_transactions (" in out and f"done     {processor}/discrepancies" in out
    assert "done     reporting/daily_summary" in out and "recon: alerts:" in out
    assert "done     bank/statement_lines" in out
    assert re.search(r"^amount at risk \(USD\)", out, re.MULTILINE)  # the result table
    report = recon(local_env, "report", "--date", DAY.isoformat()).stdout.splitlines()
    assert report[0] == f"recon: the reconciliation of {DAY}, amounts in USD"
    files = report[report.index("recon: its files:") + 1 :]
    assert len(files) == 3 * 2 + 1 and all(Path(urlparse(f.strip()).path).exists() for f in files)  # and the page
    folder = tmp_path / "reports" / "reports" / "2026" / "11" / "20"
    for processor in PROCESSORS:
        assert (folder / processor / "discrepancies.csv").exists() and (folder / processor / "summary.json").exists()
    summary_files = {"daily_summary.md", "daily_summary.html", "trend.png"}
    assert {p.name for p in folder.iterdir() if p.is_file()} == summary_files
    assert len(list((tmp_path / "reports" / "audit" / "heads").glob("*.json"))) >= 1  # each head a file of its own
    # every report link the warehouse (and so the UI and the alerts) hands out opens a file that exists
    with psycopg.connect(warehouse_url.libpq) as conn:
        links = [
            uri for (uris,) in conn.execute("SELECT report_uris FROM reconciliation_runs") for uri in uris.values()
        ]
        (alerts,) = conn.execute("SELECT count(*) FROM audit_logs WHERE entity = 'alert'").fetchone()
    assert len(links) == 3 * 3 and all(Path(urlparse(uri).path).exists() for uri in links)
    # the MEDIUM risk checks are announced (channels unset here: each skip is audited), once each
    assert re.search(r"recon: alerts: \d+ check evaluations read, [1-9]\d* alerts", out), out
    assert alerts == 2 * int(re.search(r"read, (\d+) alerts", out).group(1))
    again = recon({**local_env, **MEDIUM_DAY}, "run", "--date", DAY.isoformat(), "--processors", "stripe")
    assert again.returncode == 1 and re.search(r"recon: alerts: \d+ check evaluations read, 0 alerts", again.stdout)


def test_live_mode_without_exchange_rates_is_refused_in_one_line(real_mode_env):
    env = {k: v for k, v in real_mode_env.items() if k != "RECON_FX_RATES_JSON"}
    result = recon(env, "run", "--date", DAY.isoformat(), "--processors", "stripe")
    assert result.returncode == 2 and result.stdout == "", result.stdout  # refused before anything ran
    assert result.stderr == "recon: error: RECON_MODE=live and these are not set: RECON_FX_RATES_JSON\n"


def test_db_upgrade_twice(fresh_database, tmp_path):
    env = {**os.environ, "RECON_DATABASE_URL": fresh_database.libpq, "DAGSTER_HOME": str(tmp_path)}
    first, second = recon(env, "db", "upgrade"), recon(env, "db", "upgrade")
    newest = max(path.name[:4] for path in (MIGRATIONS / "versions").glob("[0-9]*.py"))
    assert first.returncode == 0 and f"applied {newest}" in first.stdout, first.stderr
    assert second.returncode == 0 and "schema up to date" in second.stdout


@pytest.fixture
def project_root(tmp_path):
    """A folder laid out like the project's root (its pyproject.toml, dagster.yaml, workspace.yaml), with
    nothing set in the environment: what a Dagster user has after cloning."""
    root = tmp_path / "project"
    root.mkdir()
    for name in ("pyproject.toml", "dagster.yaml", "workspace.yaml"):
        shutil.copyfile(ROOT / name, root / name)
    env = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(tmp_path)}
    yield root, env
    stop_embedded_server(root / ".recon")


def test_dagster_commands_work_in_the_project_root_with_nothing_set(project_root):
    root, env = project_root
    dagster = str(Path(sys.executable).parent / "dagster")
    validate = subprocess.run([dagster, "definitions", "validate"], env=env, cwd=root, capture_output=True,
                              text=True, timeout=300)  # fmt: skip  # noqa: S603
    assert validate.returncode == 0, validate.stdout + validate.stderr
    assert "All code locations passed validation" in validate.stdout + validate.stderr
    materialize = subprocess.run(  # noqa: S603
        [dagster, "asset", "materialize", "--select", "stripe/raw_transactions", "--partition", DAY.isoformat(),
         "-m", "recon_assets.definitions"],
        env=env, cwd=root, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert materialize.returncode == 0, materialize.stdout[-3000:] + materialize.stderr[-3000:]
    # landed in the embedded warehouse under the project's .recon/, where recon finds it too
    report = recon(env, "db", "url", cwd=root)
    assert report.returncode == 0, report.stderr
    from recon_assets.warehouse.embedded import ensure_embedded_server

    with psycopg.connect(ensure_embedded_server(root / ".recon").libpq) as conn:
        (landed,) = conn.execute(
            "SELECT count(*) FROM processor_transactions WHERE processor_name = 'stripe' AND business_date = %s",
            (DAY,),
        ).fetchone()
        (runs,) = conn.execute("SELECT count(*) FROM runs WHERE status = 'SUCCESS'").fetchone()
    assert landed > 0 and runs == 1
