"""Shared fixtures: a real PostgreSQL (embedded, or RECON_TEST_DATABASE_URL's server) and the sandbox."""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import psycopg
import pytest
from dagster_aws.s3 import S3Resource

from recon_assets.defs.alerting.resources import AlertChannels, SesEmailResource, SlackWebhookResource
from recon_assets.defs.casework.resources import ExceptionPolicySettings
from recon_assets.defs.ingestion.resources import DataQualitySettings
from recon_assets.defs.reconciliation.resources import ReconciliationSettings
from recon_assets.defs.reporting.resources import ReportStore
from recon_assets.defs.settlement.resources import BankStatementFiles, SettlementSettings
from recon_assets.sandbox.server import SandboxServer
from recon_assets.sandbox.world import SandboxConfig
from recon_assets.warehouse.database import upgrade
from recon_assets.warehouse.embedded import ensure_embedded_server, stop_embedded_server
from recon_assets.warehouse.resource import WarehouseResource
from recon_assets.warehouse.urls import DatabaseUrl
from recon_assets_tests.defs.graph import source_resources
from recon_assets_tests.warehouse.migrating import convert_to_day_partitions

SPECS = Path(__file__).resolve().parent / "fixtures" / "specs"  # the processors' published API descriptions


@pytest.fixture(scope="session")
def server_url() -> DatabaseUrl:
    """The PostgreSQL server the suite runs against: RECON_TEST_DATABASE_URL, or an embedded one,
    stopped when the suite ends."""
    raw = os.environ.get("RECON_TEST_DATABASE_URL", "embedded")
    if raw != "embedded":
        yield DatabaseUrl.parse(raw)
        return
    # Its own folder, not under pytest's: the server runs as an unprivileged user when the suite runs as
    # root, and every new pytest session closes pytest's folder to other users again.
    home = Path(tempfile.mkdtemp(prefix="recon-tests-"))
    try:
        yield ensure_embedded_server(home)
    finally:
        stop_embedded_server(home)
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def fresh_database(server_url):
    """A new, empty database on the test server, dropped afterwards."""
    name = f"recon_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(server_url.libpq, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield server_url.with_database(name)
    with psycopg.connect(server_url.libpq, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')


@pytest.fixture
def warehouse_url(fresh_database) -> DatabaseUrl:
    """A fresh, migrated warehouse database; with RECON_TEST_WAREHOUSE=converted, one taken back to the schema
    before day partitions (0016) and converted again, as an existing warehouse is."""
    upgrade(fresh_database)
    if os.environ.get("RECON_TEST_WAREHOUSE") == "converted":
        convert_to_day_partitions(fresh_database)
    return fresh_database


@pytest.fixture
def sandbox_config() -> SandboxConfig:
    return SandboxConfig(daily_volume=120)


@pytest.fixture
def sandbox(sandbox_config):
    with SandboxServer(sandbox_config) as server:
        yield server


@pytest.fixture
def resources(warehouse_url, sandbox, tmp_path):
    """Every resource of the code location; reports to a local directory, alert channels unconfigured."""
    return {
        "warehouse": WarehouseResource(database_url=warehouse_url.libpq),
        **source_resources(sandbox.url),
        "data_quality_settings": DataQualitySettings(),
        "reconciliation_settings": ReconciliationSettings(),
        "report_store": ReportStore(s3=S3Resource(), local_dir=str(tmp_path / "reports")),
        "bank_statements": BankStatementFiles(s3=S3Resource(), local_dir=str(tmp_path / "bank_statements")),
        "settlement_settings": SettlementSettings(),
        "alert_channels": AlertChannels(email=SesEmailResource(), slack=SlackWebhookResource()),
        "exception_policy": ExceptionPolicySettings(),
    }
