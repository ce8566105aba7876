"""The resources of the whole code location, against the sandbox and a fresh warehouse."""

import pytest
from dagster_aws.s3 import S3Resource

from recon_assets.defs.alerting.resources import AlertSettings, SesEmailResource, SlackWebhookResource
from recon_assets.defs.casework.resources import ExceptionPolicySettings
from recon_assets.defs.ingestion.resources import DataQualitySettings
from recon_assets.defs.reconciliation.resources import ReconciliationSettings
from recon_assets.defs.reporting.resources import ReportStore
from recon_assets.warehouse.resource import WarehouseResource
from recon_assets_tests.defs.graph import source_resources


@pytest.fixture
def resources(warehouse_url, sandbox, tmp_path):
    """Every resource of the code location; reports to a local directory, alert channels unconfigured."""
    return {
        "warehouse": WarehouseResource(database_url=warehouse_url.libpq),
        **source_resources(sandbox.url),
        "data_quality_settings": DataQualitySettings(),
        "reconciliation_settings": ReconciliationSettings(),
        "report_store": ReportStore(s3=S3Resource(), local_dir=str(tmp_path / "reports")),
        "email": SesEmailResource(),
        "slack": SlackWebhookResource(),
        "alert_settings": AlertSettings(),
        "exception_policy": ExceptionPolicySettings(),
    }
