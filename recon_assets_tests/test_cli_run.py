"""``recon run`` and ``recon report`` as an operator runs them, against processor and ledger servers
configured like real ones (credentials and base URLs set, so no built-in sandbox is used)."""

import os
import subprocess
import sys
from datetime import date

import psycopg
import pytest

from recon_assets.sandbox.server import SANDBOX_CREDENTIALS as C
from recon_assets.sandbox.world import expected_findings

DAY = date(2026, 11, 20)


@pytest.fixture
def real_mode_env(sandbox, warehouse_url, tmp_path):
    """Every credential and base URL set: the clients run exactly as against the real APIs."""
    return {
        **os.environ,
        "DAGSTER_HOME": str(tmp_path / "home"),
        "RECON_DATABASE_URL": warehouse_url.libpq,
        "RECON_REPORTS_DIR": str(tmp_path / "reports"),
        "STRIPE_API_KEY": C["stripe_api_key"], "STRIPE_API_BASE": sandbox.url,
        "PAYPAL_CLIENT_ID": C["paypal_client_id"], "PAYPAL_CLIENT_SECRET": C["paypal_client_secret"],
        "PAYPAL_API_BASE": sandbox.url,
        "SQUARE_ACCESS_TOKEN": C["square_access_token"], "SQUARE_API_BASE": sandbox.url,
        "LEDGER_API_TOKEN": C["ledger_api_token"], "LEDGER_API_BASE": sandbox.url,
    }  # fmt: skip


def recon(env, *argv) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "recon_assets.cli", *argv]
    return subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)  # noqa: S603


def test_recon_run_against_configured_servers_finds_exactly_the_truth(
    real_mode_env, sandbox, sandbox_config, warehouse_url
):
    result = recon(real_mode_env, "run", "--date", DAY.isoformat())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("succeeded") == 3  # D-1 and D+1 landed, then D reconciled
    with psycopg.connect(warehouse_url.libpq) as conn:
        for processor in ("stripe", "paypal", "square"):
            found = set(conn.execute(
                """SELECT discrepancy_type, coalesce(processor_txn_id, ''), coalesce(ledger_id, '')
                   FROM discrepancies WHERE processor_name = %s AND business_date = %s AND resolved_on IS NULL""",
                (processor, DAY),
            ).fetchall())  # fmt: skip
            truth = {(t, txn or "", lid or "") for t, txn, lid in expected_findings(sandbox_config, processor, DAY)}
            normalise = {(t, "" if t == "missing_at_processor" else txn, lid) for t, txn, lid in truth}
            got = {(t, "" if t == "missing_at_processor" else txn, lid) for t, txn, lid in found}
            assert got == normalise, processor
        sandboxed = conn.execute("SELECT count(*) FROM audit_logs WHERE details->>'sandbox' = 'true'").fetchone()
    assert sandboxed == (0,)
    report = recon(real_mode_env, "report", "--date", DAY.isoformat())
    assert report.returncode == 0 and "risk_level" in report.stdout and "missing_in_ledger_count" in report.stdout


def test_db_upgrade_twice_and_definitions_validate(fresh_database, tmp_path):
    env = {**os.environ, "RECON_DATABASE_URL": fresh_database.libpq, "DAGSTER_HOME": str(tmp_path)}
    first, second = recon(env, "db", "upgrade"), recon(env, "db", "upgrade")
    assert first.returncode == 0 and "applied 0002" in first.stdout, first.stderr
    assert second.returncode == 0 and "schema up to date" in second.stdout
    (tmp_path / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    validate = subprocess.run(  # noqa: S603
        [sys.executable, "-m", "dagster", "definitions", "validate", "-w", "workspace.yaml"],
        env=env, capture_output=True, text=True, timeout=300, cwd=os.path.dirname(os.path.dirname(__file__)),
    )  # fmt: skip
    assert validate.returncode == 0 and "passed validation" in validate.stderr + validate.stdout
