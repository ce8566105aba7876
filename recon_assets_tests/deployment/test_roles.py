"""The compose file's three roles as plain processes: code server, webserver and daemon sharing
PostgreSQL storage through the prod-style instance file; the webserver lists the code location and a
queued run completes."""

from urllib.parse import parse_qs

import psycopg
import pytest
import yaml

from recon_assets_tests.dagster_processes import (
    FINISHED,
    LAUNCH_RUN,
    RUN_STATUS,
    WORKSPACE_QUERY,
    DagsterProcesses,
    wait_until,
)
from recon_assets_tests.deployment.test_static import DEPLOYMENT
from recon_assets_tests.services import free_port


def prod_style_instance(storage_url) -> dict:
    """deployment/dagster.prod.yaml with what cannot run here swapped: the default run launcher for
    ECS, local compute logs for S3, and the test server's connection parameters for RDS's TLS."""
    config = yaml.safe_load((DEPLOYMENT / "dagster.prod.yaml").read_text())
    del config["run_launcher"]
    config["compute_logs"] = {
        "module": "dagster.core.storage.local_compute_log_manager",
        "class": "LocalComputeLogManager",
        "config": {"base_dir": "compute_logs"},
    }
    query = {k: v[0] for k, v in parse_qs(storage_url.url.render_as_string().partition("?")[2]).items()}
    config["storage"]["postgres"]["postgres_db"]["params"] = query
    config["storage"]["postgres"]["postgres_db"]["port"] = storage_url.url.port or 5432
    return config


@pytest.fixture
def roles(tmp_path, warehouse_url):
    home = tmp_path / "home"
    home.mkdir()
    (home / "dagster.yaml").write_text(yaml.safe_dump(prod_style_instance(warehouse_url)))
    port = free_port()
    workspace = DEPLOYMENT / "workspace.yaml"
    env = {
        "POSTGRES_HOST": warehouse_url.url.host or "localhost",
        "POSTGRES_DB": warehouse_url.url.database,
        "POSTGRES_USER": warehouse_url.url.username or "postgres",
        "POSTGRES_PASSWORD": warehouse_url.url.password or "",
        "RECON_DATABASE_URL": warehouse_url.libpq,
        "RECON_CODE_SERVER_HOST": "127.0.0.1",
        "RECON_SANDBOX_DAILY_VOLUME": "40",
    }
    processes = DagsterProcesses(home, env)
    try:
        processes.start_code_server(port)
        if port != 4000:  # deployment/workspace.yaml names port 4000, as the compose file does
            workspace = home / "workspace.yaml"
            text = (DEPLOYMENT / "workspace.yaml").read_text().replace("port: 4000", f"port: {port}")
            workspace.write_text(text)
        processes.start_webserver(workspace)
        processes.start_daemon(workspace)
        yield processes
    finally:
        processes.stop_all()


@pytest.mark.e2e
def test_three_roles_serve_the_location_and_complete_a_run(roles, warehouse_url):
    data = roles.graphql(WORKSPACE_QUERY)["workspaceOrError"]
    (entry,) = data["locationEntries"]
    assert entry["name"] == "recon" and entry["loadStatus"] == "LOADED", entry
    assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry

    launched = roles.graphql(
        LAUNCH_RUN,
        {
            "params": {
                "selector": {
                    "repositoryLocationName": "recon",
                    "repositoryName": "__repository__",
                    "jobName": "__ASSET_JOB",
                    "assetSelection": [{"path": ["ledger", "transactions"]}],
                },
                "executionMetadata": {"tags": [{"key": "dagster/partition", "value": "2026-11-20"}]},
            }
        },
    )["launchRun"]
    assert launched["__typename"] == "LaunchRunSuccess", launched
    run_id = launched["run"]["runId"]

    def finished() -> bool:
        return roles.graphql(RUN_STATUS, {"runId": run_id})["runOrError"]["status"] in FINISHED

    wait_until(finished, timeout=240, what=f"run {run_id} (daemon log: {roles.log('daemon')[-2000:]})", interval=2)
    assert roles.graphql(RUN_STATUS, {"runId": run_id})["runOrError"]["status"] == "SUCCESS", roles.log("daemon")
    with psycopg.connect(warehouse_url.libpq) as conn:
        (rows,) = conn.execute("SELECT count(*) FROM ledger_transactions WHERE business_date = '2026-11-20'").fetchone()
        (runs,) = conn.execute("SELECT count(*) FROM runs WHERE run_id = %s", (run_id,)).fetchone()
    assert rows > 0 and runs == 1  # the warehouse rows, and the run in Dagster's PostgreSQL storage
