"""Where reports are kept: the S3 bucket ``REPORTS_BUCKET``, or a directory under the instance home."""

from typing import ClassVar

import dagster as dg
from dagster_aws.s3 import S3Resource

from recon_assets.environment import from_environment
from recon_assets.file_store import FileStore


class ReportStore(FileStore):
    """Report files by relative key; re-writing a key overwrites it (reports are idempotent)."""

    default_folder: ClassVar[str] = "reports-store"


@dg.definitions
def reporting_resources() -> dg.Definitions:
    return dg.Definitions(
        resources={
            "report_store": ReportStore(
                s3=S3Resource(**from_environment(region_name="AWS_REGION", endpoint_url="AWS_ENDPOINT_URL")),
                **from_environment(bucket="REPORTS_BUCKET", local_dir="RECON_REPORTS_DIR"),
            )
        }
    )
