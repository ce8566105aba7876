"""Where reports are kept: the S3 bucket ``REPORTS_BUCKET``, or a directory under the instance home."""

from pathlib import Path

import dagster as dg
from dagster_aws.s3 import S3Resource

from recon_assets.environment import from_environment
from recon_assets.warehouse.embedded import instance_home


class ReportStore(dg.ConfigurableResource):
    """Report files by relative key; re-writing a key overwrites it (reports are idempotent)."""

    s3: S3Resource
    bucket: str | None = None
    local_dir: str | None = None  # default: <instance home>/reports-store

    def uri(self, key: str) -> str:
        if self.bucket:
            return f"s3://{self.bucket}/{key}"
        return self._local_path(key).as_uri()

    def put(self, key: str, body: bytes, content_type: str) -> str:
        if self.bucket:
            self.s3.get_client().put_object(
                Bucket=self.bucket, Key=key, Body=body, ContentType=content_type, ServerSideEncryption="AES256"
            )
        else:
            path = self._local_path(key)
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(path.suffix + ".partial")
            temporary.write_bytes(body)
            temporary.replace(path)
        return self.uri(key)

    def get(self, key: str) -> bytes:
        if self.bucket:
            return self.s3.get_client().get_object(Bucket=self.bucket, Key=key)["Body"].read()
        return self._local_path(key).read_bytes()

    def list_keys(self, prefix: str, suffix: str = "") -> list[str]:
        """Every key under ``prefix`` ending with ``suffix``, sorted."""
        if self.bucket:
            pages = self.s3.get_client().get_paginator("list_objects_v2").paginate(Bucket=self.bucket, Prefix=prefix)
            found = [item["Key"] for page in pages for item in page.get("Contents", [])]
        else:
            root = self._local_path("")
            found = [p.relative_to(root).as_posix() for p in (root / prefix).rglob("*") if p.is_file()]
        return sorted(key for key in found if key.endswith(suffix))

    def _local_path(self, key: str) -> Path:
        return Path(self.local_dir or instance_home() / "reports-store").resolve() / key


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
